/**
 * One wordcount StreamingJob driven end to end: its topics on the harness Kafka, its manifest
 * applied with kubectl, the text produced to it, and the checks that matter — the job's status,
 * pods and ZooKeeper state, and the sink's counts against everything produced (no loss, no
 * duplicates: the exactly-once check).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { apiVersion, kind, labelKeys, type StreamingJobSpec, type StreamingJobStatus } from '../../../../src/api/v1alpha1/index.js';
import type { CoordinationLayout, JobRef } from '../../../../src/coordination/layout.js';
import { ExecutorMembership, type ExecutorSet } from '../../../../src/coordination/membership.js';
import type { ZooKeeperSession } from '../../../../src/coordination/session.js';
import { TaskLedger, type OffsetsRecord } from '../../../../src/coordination/task-ledger.js';
import { sampleLines } from '../../../../src/demo/sample-text.js';
import { compareCounts, countWords, describeDifferences, latestSinkTotals, readCommittedTopic, type CountComparison } from '../../../../src/demo/word-counts.js';
import { ignoreNotFound, type KubeClient } from '../../../../src/kube/client.js';
import type { CustomObject, Pod, Stored } from '../../../../src/kube/objects.js';
import { processOfContainer } from '../../../../src/local/pod-status.js';
import type { KafkaClient, RecordProducer } from '../../../../src/runtime/kafka/index.js';
import { kafkaBrokers } from '../../../harness/servers.js';
import type { Kubectl } from './kubectl.js';
import { PodRecorder } from './pod-recorder.js';
import { defaultWaitMs, eventually } from './waiting.js';

/** What a job needs from the world it runs in. */
export interface JobWorld {
  readonly namespace: string;
  readonly admin: KubeClient;
  readonly kubectl: Kubectl;
  readonly kafka: KafkaClient;
  /** The brokers a job's spec names (default: the harness's shared Kafka). */
  readonly kafkaBrokers?: readonly string[];
  readonly layout: CoordinationLayout;
  /** A ZooKeeper session with the operator's credential (reads every job's subtree). */
  zookeeper(): Promise<ZooKeeperSession>;
}

export interface WordcountJobOptions {
  /** Executor replicas (default 2). */
  readonly executors?: number;
  /** Partitions of the source topic (default 3): one task per partition and batch. */
  readonly sourcePartitions?: number;
  /** Partitions of the sink topic (default 2). */
  readonly sinkPartitions?: number;
  /** Default `1s`: short, so that input is committed quickly. */
  readonly batchInterval?: string;
  /** Seed of the sample text, so a failing run can be replayed (default: from the job's name). */
  readonly seed?: number;
  /** Last word on the spec before it is applied (anything the scenario needs besides the defaults). */
  readonly customize?: (spec: StreamingJobSpec) => StreamingJobSpec;
}

/**
 * The input and the sink's totals at one moment, taken when the sink is complete (after
 * `waitForAllInputCommitted` and `verifyExactlyOnce`): what a later phase of a scenario adds is
 * checked against it alone, with the processor's counting rule of that phase.
 */
export interface OutputMark {
  /** Lines produced before the mark (`produced.slice(lines)` came after). */
  readonly lines: number;
  readonly counts: ReadonlyMap<string, number>;
}

/** The job's pods as the API server has them, sorted into driver and executors (by name). */
export interface JobPods {
  readonly driver: Stored<Pod> | undefined;
  readonly executors: readonly Stored<Pod>[];
  readonly all: readonly Stored<Pod>[];
}

export function isPodReady(pod: Pod): boolean {
  return pod.status?.phase === 'Running' && (pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false);
}

function foldCase(counts: ReadonlyMap<string, number>): Map<string, number> {
  const folded = new Map<string, number>();
  for (const [word, count] of counts) folded.set(word.toLowerCase(), (folded.get(word.toLowerCase()) ?? 0) + count);
  return folded;
}

function seedOf(name: string): number {
  let hash = 7;
  for (const ch of name) hash = (Math.imul(hash, 31) + ch.charCodeAt(0)) >>> 0;
  return hash;
}

/**
 * Produces sample text in bursts until stopped: input arriving while the job is scaled, rolled,
 * suspended or loses a process.
 */
export class ContinuousInput {
  private stopRequested = false;
  private readonly loop: Promise<void>;
  private failure: unknown;
  private produced = 0;

  constructor(
    private readonly job: WordcountJob,
    private readonly burst: number,
    private readonly everyMs: number,
  ) {
    this.loop = this.run().catch((err: unknown) => {
      this.failure = err;
    });
  }

  // A method, so TypeScript does not keep a narrowing of the flag across awaits.
  private stopping(): boolean {
    return this.stopRequested;
  }

  private async run(): Promise<void> {
    while (!this.stopping()) {
      this.produced += (await this.job.produceSample(this.burst)).length;
      if (!this.stopping()) await sleep(this.everyMs);
    }
  }

  /** Stops after the burst in flight; resolves with the lines this input produced. */
  async stop(): Promise<number> {
    this.stopRequested = true;
    await this.loop;
    if (this.failure !== undefined) throw new Error(`producing input failed: ${this.failure instanceof Error ? this.failure.message : JSON.stringify(this.failure)}`);
    return this.produced;
  }

  /** Lines produced so far by this input. */
  get lines(): number {
    return this.produced;
  }
}

export class WordcountJob {
  readonly ref: JobRef;
  readonly sourceTopic: string;
  readonly sinkTopic: string;
  /** Every line produced to the source topic, in order: what the sink must count, exactly once. */
  readonly produced: string[] = [];
  /** The spec as first applied. */
  readonly spec: StreamingJobSpec;
  private readonly seed: number;
  private bursts = 0;
  private nextPartition = 0;
  private producer: Promise<RecordProducer> | undefined;
  private readonly inputs: ContinuousInput[] = [];
  private readonly recorders: PodRecorder[] = [];

  private constructor(
    private readonly world: JobWorld,
    readonly name: string,
    private readonly options: WordcountJobOptions,
  ) {
    this.ref = { namespace: world.namespace, name };
    this.sourceTopic = `${world.namespace}-${name}-lines`;
    this.sinkTopic = `${world.namespace}-${name}-counts`;
    this.seed = options.seed ?? seedOf(name);
    const spec: StreamingJobSpec = {
      image: 'streamkeeper/streamkeeper:0.1.0',
      batchInterval: options.batchInterval ?? '1s',
      source: { kafka: { bootstrapServers: [...(world.kafkaBrokers ?? kafkaBrokers())], topics: [this.sourceTopic], startingOffsets: 'earliest' } },
      sink: { kafka: { topic: this.sinkTopic, delivery: 'exactlyOnce' } },
      processor: { builtin: 'wordcount' },
      executors: { replicas: options.executors ?? 2 },
    };
    this.spec = options.customize === undefined ? spec : options.customize(spec);
  }

  /** Creates the job's topics; the job itself is created by `apply`. */
  static async prepare(world: JobWorld, name: string, options: WordcountJobOptions = {}): Promise<WordcountJob> {
    const job = new WordcountJob(world, name, options);
    await world.kafka.admin.createTopic(job.sourceTopic, { partitions: options.sourcePartitions ?? 3 });
    await world.kafka.admin.createTopic(job.sinkTopic, { partitions: options.sinkPartitions ?? 2 });
    return job;
  }

  /** The StreamingJob as a user writes it. */
  manifest(spec: StreamingJobSpec = this.spec): Record<string, unknown> {
    return { apiVersion, kind, metadata: { namespace: this.ref.namespace, name: this.name }, spec };
  }

  /** The label selector of every pod of this job. */
  get podSelector(): string {
    return `${labelKeys.instance}=${this.name}`;
  }

  // ------------------------------------------------------------------ changing the job, as users do

  /** `kubectl apply` of the manifest (creates the job, or updates it to `spec`). */
  async apply(spec: StreamingJobSpec = this.spec): Promise<void> {
    await this.world.kubectl.apply(this.manifest(spec));
  }

  /** `kubectl patch --type merge` of the spec, e.g. `{ config: { a: 'b' } }` or `{ image: '…:0.1.1' }`. */
  async patchSpec(patch: Record<string, unknown>): Promise<void> {
    await this.world.kubectl.run(['patch', 'streamingjob', this.name, '-n', this.ref.namespace, '--type', 'merge', '-p', JSON.stringify({ spec: patch })]);
  }

  /** `kubectl scale` (the scale subresource). */
  async scale(replicas: number): Promise<void> {
    await this.world.kubectl.run(['scale', 'streamingjob', this.name, '-n', this.ref.namespace, `--replicas=${replicas}`]);
  }

  async suspend(): Promise<void> {
    await this.patchSpec({ suspend: true });
  }

  async resume(): Promise<void> {
    await this.patchSpec({ suspend: false });
  }

  /** `kubectl delete`, without waiting: the finalizer holds the job until the operator cleaned up. */
  async delete(): Promise<void> {
    await this.world.kubectl.run(['delete', 'streamingjob', this.name, '-n', this.ref.namespace, '--wait=false']);
  }

  // ------------------------------------------------------------------ reading the job

  async get(): Promise<Stored<CustomObject> | undefined> {
    return ignoreNotFound(this.world.admin.get('StreamingJob', this.ref));
  }

  async status(): Promise<StreamingJobStatus | undefined> {
    return (await this.get())?.status as StreamingJobStatus | undefined;
  }

  async condition(type: string): Promise<NonNullable<StreamingJobStatus['conditions']>[number] | undefined> {
    return (await this.status())?.conditions?.find((c) => c.type === type);
  }

  /** Waits until `check` passes on the stored job (jest `expect` inside gives the diff). */
  async waitFor(check: (job: Stored<CustomObject>, status: StreamingJobStatus) => void | Promise<void>, what: string, timeoutMs = defaultWaitMs): Promise<Stored<CustomObject>> {
    return eventually(async () => {
      const job = await this.get();
      if (job === undefined) throw new Error(`StreamingJob ${this.ref.namespace}/${this.name} does not exist`);
      await check(job, (job.status ?? {}) as StreamingJobStatus);
      return job;
    }, `${this.name}: ${what}`, timeoutMs);
  }

  /**
   * Waits until the job is Running for its current generation with `executors` ready (default:
   * the spec's replicas) and Ready=True.
   */
  async waitForRunning(executors?: number, timeoutMs = defaultWaitMs): Promise<Stored<CustomObject>> {
    return this.waitFor((job, status) => {
      const generation = job.metadata.generation;
      const want = executors ?? (job.spec as { executors?: { replicas?: number } } | undefined)?.executors?.replicas ?? 2;
      const ready = status.conditions?.find((c) => c.type === 'Ready');
      const summary = `phase ${status.phase ?? '-'}, observedGeneration ${String(status.observedGeneration)} of ${String(generation)}, executors ${status.executors?.summary ?? '-'}, Ready ${ready?.status ?? '-'} (${ready?.message ?? ''})`;
      if (status.phase !== 'Running' || status.observedGeneration !== generation || status.executors?.ready !== want || status.executors.desired !== want || ready?.status !== 'True') {
        throw new Error(`want Running with ${want}/${want} executors ready; status says ${summary}`);
      }
    }, `Running with ${executors ?? 'all'} executors ready`, timeoutMs);
  }

  /** The job's pods that are not being deleted (`includeTerminating` for all). */
  async pods(options: { readonly includeTerminating?: boolean } = {}): Promise<JobPods> {
    const items = (await this.world.admin.list('Pod', { namespace: this.ref.namespace, labelSelector: this.podSelector })).items;
    const all = items.filter((pod) => options.includeTerminating === true || pod.metadata.deletionTimestamp === undefined).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    return {
      driver: all.find((pod) => pod.metadata.labels?.[labelKeys.component] === 'driver'),
      executors: all.filter((pod) => pod.metadata.labels?.[labelKeys.component] === 'executor'),
      all,
    };
  }

  /** Waits until the pods are exactly: the driver and `executors` executors, all running and ready. */
  async waitForPodsReady(executors: number, timeoutMs = defaultWaitMs): Promise<JobPods> {
    return eventually(async () => {
      const pods = await this.pods({ includeTerminating: true });
      const describe = pods.all.map((p) => `${p.metadata.name}:${p.status?.phase ?? '-'}${isPodReady(p) ? '/ready' : ''}${p.metadata.deletionTimestamp === undefined ? '' : '/terminating'}`).join(', ');
      const expected = [`${this.name}-driver`, ...Array.from({ length: executors }, (_, i) => `${this.name}-executor-${i}`)].sort();
      if (JSON.stringify(pods.all.map((p) => p.metadata.name)) !== JSON.stringify(expected) || !pods.all.every((p) => isPodReady(p) && p.metadata.deletionTimestamp === undefined)) {
        throw new Error(`want ${expected.join(', ')} running and ready; have ${describe || 'no pods'}`);
      }
      return pods;
    }, `${this.name}: driver and ${executors} executor pods ready`, timeoutMs);
  }

  /** Starts recording every change of this job's pods (stop it before asserting on it). */
  async recordPods(): Promise<PodRecorder> {
    const recorder = await PodRecorder.start(this.world.admin, this.ref.namespace, this.podSelector);
    this.recorders.push(recorder);
    return recorder;
  }

  // ------------------------------------------------------------------ the pods' processes

  /** The pid of the process the node agent runs for the pod's container. */
  async processOf(podName: string): Promise<number> {
    const pod = await this.world.admin.get('Pod', { namespace: this.ref.namespace, name: podName });
    const pid = processOfContainer(pod.status?.containerStatuses?.[0]?.containerID);
    if (pid === undefined) throw new Error(`pod ${podName} has no running container process (status: ${JSON.stringify(pod.status?.containerStatuses ?? [])})`);
    return pid;
  }

  /** Sends `signal` (default SIGKILL: a crash) to the pod's process; returns its pid. */
  async signalPod(podName: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<number> {
    const pid = await this.processOf(podName);
    process.kill(pid, signal);
    return pid;
  }

  // ------------------------------------------------------------------ input

  /** Produces `lines` to the source topic, spread over its partitions, and records them. */
  async produce(lines: readonly string[]): Promise<void> {
    if (lines.length === 0) return;
    this.producer ??= this.world.kafka.producer();
    const producer = await this.producer;
    const partitions = this.options.sourcePartitions ?? 3;
    const byPartition = new Map<number, string[]>();
    for (const line of lines) {
      const partition = this.nextPartition;
      this.nextPartition = (this.nextPartition + 1) % partitions;
      byPartition.set(partition, [...(byPartition.get(partition) ?? []), line]);
    }
    await Promise.all(
      [...byPartition].map(async ([partition, values]) => {
        await producer.send(this.sourceTopic, partition, values.map((value) => ({ key: null, value: Buffer.from(value) })));
      }),
    );
    this.produced.push(...lines);
  }

  /** Produces `count` new lines of deterministic sample text; returns them. */
  async produceSample(count: number): Promise<string[]> {
    const lines = sampleLines(count, this.seed + this.bursts);
    this.bursts += 1;
    await this.produce(lines);
    return lines;
  }

  /** Produces `burst` lines every `everyMs` until stopped (stop it before `waitForAllInputCommitted`). */
  startProducing(burst = 50, everyMs = 300): ContinuousInput {
    const input = new ContinuousInput(this, burst, everyMs);
    this.inputs.push(input);
    return input;
  }

  // ------------------------------------------------------------------ ZooKeeper

  async committedOffsets(): Promise<OffsetsRecord | undefined> {
    const read = await new TaskLedger(await this.world.zookeeper(), this.world.layout).readOffsets(this.ref);
    return read?.record;
  }

  /** The executors registered in ZooKeeper (live sessions), with their state. */
  async registeredExecutors(): Promise<ExecutorSet> {
    return new ExecutorMembership(await this.world.zookeeper(), this.world.layout).read(this.ref);
  }

  async driverRegistered(): Promise<boolean> {
    return (await (await this.world.zookeeper()).exists(this.world.layout.driver(this.ref))) !== null;
  }

  /** Whether the job's ZooKeeper subtree (`<root>/v1/jobs/<ns>/<name>`) exists. */
  async subtreeExists(): Promise<boolean> {
    return (await (await this.world.zookeeper()).exists(this.world.layout.job(this.ref))) !== null;
  }

  // ------------------------------------------------------------------ output

  /** The end offset of each source partition: where the job must get to. */
  async sourceEnds(): Promise<Map<number, number>> {
    return new Map((await this.world.kafka.admin.topicOffsets(this.sourceTopic)).map((p) => [p.partition, p.high]));
  }

  /**
   * Waits until everything produced so far is committed: the driver's offsets in ZooKeeper reach
   * the end of every source partition (and of the repartition topic of a stateful job), and the status reports that batch (or a later one) with
   * totalLag 0 (the operators here refresh a Running job's status every 2 s). Stop continuous
   * inputs first. Returns the committed offsets.
   */
  async waitForAllInputCommitted(options: { readonly timeoutMs?: number; readonly status?: boolean } = {}): Promise<OffsetsRecord> {
    const timeoutMs = options.timeoutMs ?? defaultWaitMs;
    const ends = await this.sourceEnds();
    const offsets = await eventually(async () => {
      const record = await this.committedOffsets();
      const committed = new Map((record?.partitions ?? []).filter((p) => p.topic === this.sourceTopic).map((p) => [p.partition, Number(p.next)]));
      const behind = [...ends].filter(([partition, end]) => committed.get(partition) !== end);
      if (record === undefined || behind.length > 0) {
        throw new Error(`committed offsets ${JSON.stringify(Object.fromEntries(committed))}, source ends ${JSON.stringify(Object.fromEntries(ends))}`);
      }
      // A stateful job (the wordcount sample aggregates) commits the source a batch before the
      // totals: the partials its last map stage wrote to the repartition topic are aggregated by
      // the next batch. Everything is in only when that topic is read to its end too.
      for (const topic of new Set(record.partitions.map((p) => p.topic).filter((t) => t !== this.sourceTopic))) {
        for (const { partition, high } of await this.world.kafka.admin.topicOffsets(topic)) {
          const next = record.partitions.find((p) => p.topic === topic && p.partition === partition)?.next;
          if (Number(next) !== high) throw new Error(`${topic}/${partition} committed up to ${String(next)}, its end is ${high}`);
        }
      }
      return record;
    }, `${this.name}: the driver commits every produced record (${this.produced.length} lines) and aggregates what they produced`, timeoutMs);
    if (options.status !== false && offsets.batch !== null) {
      const batch = Number(offsets.batch);
      await this.waitFor((_job, status) => {
        if ((status.lastCommittedBatch?.id ?? -1) < batch || status.totalLag !== 0) {
          throw new Error(`want lastCommittedBatch ≥ ${batch} and totalLag 0; status has lastCommittedBatch ${JSON.stringify(status.lastCommittedBatch)}, totalLag ${String(status.totalLag)}`);
        }
      }, `the status reports batch ${batch} committed and no lag`, timeoutMs);
    }
    return offsets;
  }

  /**
   * Compares the sink's running totals (each word's last committed record) with the words of every
   * line produced; fails naming the words that were lost or doubled. Call it after
   * `waitForAllInputCommitted`. A read may briefly miss a transaction whose commit markers are
   * still being written, so a shortfall is read again for a few seconds before it counts.
   *
   * - `lowercase`: how the processor counts (params.lowercase, default true).
   * - `foldCase`: compare lower-cased totals on both sides — for a job whose `lowercase` param
   *   changed while it ran: whichever batch the change reached, every word is still counted once.
   */
  async verifyExactlyOnce(options: { readonly lowercase?: boolean; readonly foldCase?: boolean; readonly settleMs?: number } = {}): Promise<CountComparison> {
    const fold = options.foldCase === true;
    const expected = countWords(this.produced, { lowercase: fold || (options.lowercase ?? true) });
    const deadline = Date.now() + (options.settleMs ?? 10_000);
    for (;;) {
      const totals = latestSinkTotals(await readCommittedTopic(this.world.kafka, this.sinkTopic));
      const comparison = compareCounts(expected, fold ? foldCase(totals.counts) : totals.counts);
      if (comparison.matches && totals.unreadable === 0) return comparison;
      const surplus = comparison.actualTotal > comparison.expectedTotal;
      if (surplus || totals.unreadable > 0 || Date.now() > deadline) {
        throw new Error(
          [
            `${this.name}: the sink ${this.sinkTopic} does not hold the input's word counts exactly once`,
            `  ${this.produced.length} lines produced, ${comparison.words} distinct words, ${comparison.expectedTotal} words expected, ${comparison.actualTotal} counted in ${totals.records} sink records (${totals.unreadable} unreadable)`,
            ...describeDifferences(comparison).map((line) => `  ${line}`),
          ].join('\n'),
        );
      }
      await sleep(500);
    }
  }

  /** The sink's running total per word (its last committed record), as they stand. */
  async sinkCounts(): Promise<Map<string, number>> {
    return latestSinkTotals(await readCommittedTopic(this.world.kafka, this.sinkTopic)).counts;
  }

  /** Marks the input and the sink as they stand (stop continuous inputs and let the sink complete first). */
  async outputMark(): Promise<OutputMark> {
    return { lines: this.produced.length, counts: await this.sinkCounts() };
  }

  /**
   * Like `verifyExactlyOnce`, for what came after `mark` only: the sink's totals grew by exactly
   * the words of the lines produced since, counted as the processor counts them now (`lowercase`,
   * default true) — so a phase that must count case-sensitively, or must not reprocess earlier
   * input, is checked without folding or hiding anything. Call it after `waitForAllInputCommitted`.
   */
  async verifyExactlyOnceSince(mark: OutputMark, options: { readonly lowercase?: boolean; readonly settleMs?: number } = {}): Promise<CountComparison> {
    const since = this.produced.slice(mark.lines);
    const expected = countWords(since, { lowercase: options.lowercase ?? true });
    const deadline = Date.now() + (options.settleMs ?? 10_000);
    for (;;) {
      const totals = latestSinkTotals(await readCommittedTopic(this.world.kafka, this.sinkTopic));
      const added = new Map<string, number>();
      for (const [word, count] of totals.counts) {
        const grown = count - (mark.counts.get(word) ?? 0);
        if (grown !== 0) added.set(word, grown);
      }
      const comparison = compareCounts(expected, added);
      if (comparison.matches && totals.unreadable === 0) return comparison;
      const surplus = comparison.actualTotal > comparison.expectedTotal;
      if (surplus || totals.unreadable > 0 || Date.now() > deadline) {
        throw new Error(
          [
            `${this.name}: what the sink ${this.sinkTopic} gained since the mark is not the new input's word counts exactly once${options.lowercase === false ? ' (case-sensitive)' : ''}`,
            `  ${since.length} lines produced since the mark (${mark.lines} before), ${comparison.words} distinct words, ${comparison.expectedTotal} words expected, ${comparison.actualTotal} counted (${totals.unreadable} unreadable sink records)`,
            ...describeDifferences(comparison).map((line) => `  ${line}`),
          ].join('\n'),
        );
      }
      await sleep(500);
    }
  }

  // ------------------------------------------------------------------ teardown

  /** Stops the inputs, pod recorders and the producer (topics go with the world). */
  async close(): Promise<void> {
    for (const input of this.inputs.splice(0)) await input.stop().catch(() => undefined);
    for (const recorder of this.recorders.splice(0)) await recorder.stop().catch(() => undefined);
    const producer = this.producer;
    this.producer = undefined;
    if (producer !== undefined) await (await producer).close().catch(() => undefined);
  }
}
