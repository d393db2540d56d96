/**
 * `streamkeeper demo`: the whole system on one machine, end to end. It starts a local cluster,
 * applies the wordcount sample with kubectl, feeds it text, SIGKILLs an executor while it holds
 * tasks, reports how fast the failure was detected and repaired, and checks the output against
 * the input word by word. Every wait has a deadline and says what it was waiting for, so a broken
 * part ends the demo with a reason and a non-zero exit instead of a hang.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { labelKeys } from '../api/v1alpha1/index.js';
import type { StreamingJobStatus } from '../api/v1alpha1/index.js';
import { CoordinationLayout, type JobRef } from '../coordination/layout.js';
import { ZooKeeperSession } from '../coordination/session.js';
import { TaskLedger, type PartitionOffset } from '../coordination/task-ledger.js';
import { digestAuth } from '../coordination/zookeeper/digest.js';
import { NativeZooKeeperClient } from '../coordination/zookeeper/native-client.js';
import { StreamkeeperError } from '../errors/index.js';
import { ClientNodeKubeClient } from '../kube/adapter.js';
import { ignoreNotFound, type KubeClient } from '../kube/client.js';
import { loadKubeConfig } from '../kube/config.js';
import type { Pod, Stored } from '../kube/objects.js';
import { localDown, localUp, type Output } from '../local/local-cluster.js';
import { readState, type LocalPaths, type LocalState } from '../local/local-state.js';
import { processOfContainer } from '../local/pod-status.js';
import { silentLogger, type Logger } from '../logging/logger.js';
import { parseCredentialFile } from '../operator/production-runtime.js';
import { packageRoot } from '../package-info.js';
import { createKafkajsClient, type KafkaClient } from '../runtime/kafka/index.js';
import { demoJob, type DemoJob } from './demo-job.js';
import { formatCount, formatElapsed, formatSeconds, progressLine, summaryLines, type FailureObservation, type ProgressSample } from './demo-report.js';
import { sampleLines } from './sample-text.js';
import { compareCounts, countWords, describeDifferences, latestSinkTotals, readCommittedTopic } from './word-counts.js';

export interface DemoOptions {
  readonly paths: LocalPaths;
  /** Leave the cluster (and the job) running afterwards. */
  readonly keep: boolean;
  /** Lines of text to produce. */
  readonly lines: number;
  readonly out: Output;
  readonly signal: AbortSignal;
  readonly logger?: Logger;
}

const namespace = 'default';
const partitions = 4;
const executors = 2;
const batchInterval = '2s';
/**
 * The text is spread over this long, whatever its size, so batches keep coming while an executor
 * is killed and replaced (the kill needs a batch in flight).
 */
const feedSeconds = 20;
const chunkLines = 250;
const progressEveryMs = 2000;

/** Why the demo stopped early; printed as the reason. */
class DemoFailure extends Error {
  override readonly name = 'DemoFailure';
}

class Interrupted extends Error {
  override readonly name = 'Interrupted';
}

/** Polls `check` until it returns a value, failing with `what` (and the last state) at the deadline. */
async function waitFor<T>(signal: AbortSignal, timeoutMs: number, what: string, check: () => Promise<T | undefined>, lastState: () => string = () => '', intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (signal.aborted) throw new Interrupted('interrupted');
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      const state = lastState();
      throw new DemoFailure(`${what} did not happen within ${formatSeconds(timeoutMs)}${state === '' ? '' : ` (${state})`}`);
    }
    await sleep(intervalMs);
  }
}

function runKubectl(kubectl: string, kubeconfig: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(kubectl, ['--kubeconfig', kubeconfig, ...args], { stdio: ['pipe', 'pipe', 'pipe'], timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
      else reject(new DemoFailure(`kubectl ${args.join(' ')} exited with ${String(code)}: ${stderr.trim() || stdout.trim()}`));
    });
    child.stdin.end(input ?? '');
  });
}

function podPid(pod: Stored<Pod> | undefined): number | undefined {
  const status = pod?.status?.containerStatuses?.[0];
  return status?.state?.running === undefined ? undefined : processOfContainer(status.containerID);
}

function podTerminated(pod: Stored<Pod> | undefined): boolean {
  return pod?.status?.phase === 'Failed' || pod?.status?.containerStatuses?.some((c) => c.state?.terminated !== undefined) === true;
}

/** Text produced at a steady rate in the background, round-robin over the partitions. */
class TextFeed {
  produced = 0;
  readonly done: Promise<void>;

  constructor(kafka: KafkaClient, topic: string, readonly lines: readonly string[], readonly linesPerSecond: number, signal: AbortSignal) {
    this.done = this.run(kafka, topic, signal);
  }

  private async run(kafka: KafkaClient, topic: string, signal: AbortSignal): Promise<void> {
    const producer = await kafka.producer();
    try {
      const started = Date.now();
      // Four sends a second at least, so even a small text arrives as a stream.
      const size = Math.max(1, Math.min(chunkLines, Math.ceil(this.linesPerSecond / 4)));
      for (let offset = 0, chunk = 0; offset < this.lines.length; offset += size, chunk++) {
        if (signal.aborted) throw new Interrupted('interrupted');
        const records = this.lines.slice(offset, offset + size).map((line) => ({ key: null, value: Buffer.from(line) }));
        await producer.send(topic, chunk % partitions, records);
        this.produced += records.length;
        const due = started + (this.produced / this.linesPerSecond) * 1000;
        if (due > Date.now()) await sleep(due - Date.now());
      }
    } finally {
      await producer.close();
    }
  }
}

/** The parts the demo talks to once the cluster is up. */
class DemoWorld {
  private constructor(
    readonly state: LocalState,
    readonly kube: KubeClient,
    readonly kafka: KafkaClient,
    readonly session: ZooKeeperSession,
    readonly layout: CoordinationLayout,
    readonly ledger: TaskLedger,
  ) {}

  static async connect(paths: LocalPaths, logger: Logger): Promise<DemoWorld> {
    const state = readState(paths);
    if (state?.kafkaBrokers === undefined || state.zkConnect === undefined || state.kubectl === undefined) throw new DemoFailure(`the local cluster's state file ${paths.state} lacks its endpoints`);
    const kube = new ClientNodeKubeClient(loadKubeConfig({ kind: 'file', path: paths.kubeconfig }));
    const kafka = createKafkajsClient({ brokers: state.kafkaBrokers.split(','), clientId: 'streamkeeper-demo' }, { logger });
    // The demo only reads the job's ZooKeeper state; the operator's credential is the one the
    // local cluster keeps on disk, and it can read every job's subtree.
    const credential = parseCredentialFile(readFileSync(paths.zkCredentials, 'utf8'), paths.zkCredentials);
    const session = await ZooKeeperSession.open({ connector: (options) => NativeZooKeeperClient.connect(options, logger), connectString: state.zkConnect, auth: [digestAuth(credential)], logger });
    const layout = new CoordinationLayout();
    return new DemoWorld(state, kube, kafka, session, layout, new TaskLedger(session, layout));
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.session.close(), this.kafka.close()]);
  }
}

export class Demo {
  private readonly started = Date.now();
  private readonly logger: Logger;
  private world: DemoWorld | undefined;
  private lastStatus: StreamingJobStatus | undefined;
  /** The last committed batch as the driver recorded it. */
  private lastBatch: number | undefined;

  constructor(private readonly options: DemoOptions) {
    this.logger = options.logger ?? silentLogger();
  }

  private say(line = ''): void {
    this.options.out(line);
  }

  private readonly indented: Output = (line) => {
    this.say(`  ${line}`);
  };

  private heading(text: string): void {
    this.say('');
    this.say(`▸ ${text}  [${formatElapsed(Date.now() - this.started)}]`);
  }

  /** Runs the demo; resolves with the exit code (0 only when the output verified exactly). */
  async run(): Promise<number> {
    const { paths, keep } = this.options;
    let clusterStarted = false;
    let code = 1;
    try {
      this.heading('Starting the local cluster: ZooKeeper, Kafka, etcd, kube-apiserver, node agent, operator');
      if (readState(paths) !== undefined) {
        this.say('A demo cluster from an earlier run is still there: stopping it first.');
        await localDown(paths, this.indented);
      }
      clusterStarted = true;
      const up = await localUp({ paths, operator: true, nodeAgent: true, out: this.options.out, signal: this.options.signal });
      if (up === 130) throw new Interrupted('interrupted');
      if (up !== 0) throw new DemoFailure('the local cluster did not start (see above)');
      this.world = await DemoWorld.connect(paths, this.logger);
      code = await this.runJob(this.world);
    } catch (err) {
      code = err instanceof Interrupted ? 130 : 1;
      this.say('');
      if (err instanceof Interrupted) this.say('Interrupted.');
      else this.say(`DEMO FAILED: ${err instanceof Error ? err.message : String(err)}`);
      this.say(`Logs: ${paths.operatorLog} (operator), ${paths.supervisorLog} (cluster), ${paths.podLogs}/ (pods: \`streamkeeper local logs POD --dir ${paths.dir}\`)`);
    } finally {
      await this.world?.close();
      if (clusterStarted) await this.finish(keep);
    }
    return code;
  }

  private async finish(keep: boolean): Promise<void> {
    const { paths } = this.options;
    if (keep) {
      this.say('');
      this.say('The cluster is still up (--keep). Explore it with:');
      this.say(`  . ${paths.env}                 # KUBECONFIG, KUBECTL, ZK_CONNECT, KAFKA_BROKERS`);
      this.say('  "$KUBECTL" get streamingjobs,pods -o wide');
      this.say('  "$KUBECTL" describe streamingjob wordcount');
      this.say('  "$KUBECTL" events --for streamingjob/wordcount');
      this.say(`  node bin/streamkeeper.js local status --dir ${paths.dir}`);
      this.say(`  node bin/streamkeeper.js local logs wordcount-driver --dir ${paths.dir}`);
      this.say(`Stop it with: node bin/streamkeeper.js local down --dir ${paths.dir}`);
      return;
    }
    this.heading('Stopping the local cluster');
    await localDown(paths, this.indented);
  }

  private async runJob(world: DemoWorld): Promise<number> {
    const sample = readFileSync(join(packageRoot, 'manifests', 'samples', 'wordcount.yaml'), 'utf8');
    const job = demoJob(sample, { namespace, bootstrapServers: (world.state.kafkaBrokers ?? '').split(','), batchInterval, executors });
    const ref: JobRef = { namespace, name: job.name };

    this.heading(`Creating the topics ${job.source} and ${job.sink} (${partitions} partitions each)`);
    for (const topic of [job.source, job.sink]) await world.kafka.admin.createTopic(topic, { partitions });

    this.heading('Applying manifests/samples/wordcount.yaml with kubectl');
    for (const change of job.changes) this.say(`  ${change}`);
    const applied = await runKubectl(world.state.kubectl ?? 'kubectl', this.options.paths.kubeconfig, ['apply', '-f', '-'], job.yaml);
    this.say(`  $ kubectl apply -f -  →  ${applied.trim()}`);

    this.heading('Waiting for the job to run');
    await this.waitForRunning(world, ref);

    const lines = sampleLines(this.options.lines);
    const rate = Math.ceil(lines.length / feedSeconds);
    this.heading(`Producing ${formatCount(lines.length)} lines to ${job.source} at ${formatCount(rate)} lines/s while the job runs`);
    const feed = new TextFeed(world.kafka, job.source, lines, rate, this.options.signal);
    const feedFailed = feed.done.then(
      () => undefined,
      (err: unknown) => err,
    );
    const ticker = this.startProgress(world, ref, job, feed);
    let failure: FailureObservation;
    try {
      await waitFor(this.options.signal, 60_000, 'three batches committed', async () => ((await this.positions(world, ref, job)).lastBatch ?? -1) >= 3 ? true : undefined, () => `last batch ${String(this.lastBatch ?? 'none')}`);
      this.heading('Killing an executor while it holds tasks');
      failure = await this.killAndObserve(world, ref);

      this.heading('Waiting until every line is committed');
      const feedError = await feedFailed;
      if (feedError !== undefined) throw feedError instanceof Error ? feedError : new DemoFailure('producing the text failed');
      await this.waitForAllCommitted(world, ref, job, feed);
    } finally {
      ticker.stop();
    }
    this.say(progressLine(await this.sample(world, ref, job, feed)));

    this.heading(`Verifying ${job.sink} against the input (read_committed)`);
    const expected = countWords(lines, { lowercase: job.lowercase });
    const sinkRecords = await readCommittedTopic(world.kafka, job.sink);
    // The builtin wordcount writes running totals: each word's last record is its total.
    const sink = latestSinkTotals(sinkRecords);
    const comparison = compareCounts(expected, sink.counts);
    this.say(`  expected ${formatCount(comparison.expectedTotal)} words (${formatCount(comparison.words)} distinct); the sink's ${formatCount(sink.records)} records end in totals that sum to ${formatCount(comparison.actualTotal)}`);
    for (const line of describeDifferences(comparison)) this.say(`  ${line}`);
    if (sink.unreadable > 0) this.say(`  ${formatCount(sink.unreadable)} sink records are not word → count`);

    const exactlyOnce = comparison.matches && sink.unreadable === 0;
    this.say('');
    for (const line of summaryLines({
      elapsedMs: Date.now() - this.started,
      lines: lines.length,
      words: comparison.expectedTotal,
      distinctWords: comparison.words,
      partitions,
      batches: this.lastBatch,
      sinkRecords: sink.records,
      failure,
      exactlyOnce,
    })) {
      this.say(line);
    }
    if (!exactlyOnce) throw new DemoFailure(`the sink does not hold exactly the input's word counts (${comparison.differences.length} words differ)`);
    if (failure.rescheduledMs === undefined && failure.unfinishedTasks.length > 0) throw new DemoFailure('the killed executor\'s tasks were not seen rescheduled');
    if (failure.replacementMs === undefined) throw new DemoFailure('no replacement executor came up');
    return 0;
  }

  private async readJob(world: DemoWorld, ref: JobRef): Promise<StreamingJobStatus | undefined> {
    const job = await ignoreNotFound(world.kube.get('StreamingJob', { namespace: ref.namespace, name: ref.name }));
    this.lastStatus = job?.status as StreamingJobStatus | undefined;
    return this.lastStatus;
  }

  private async jobPods(world: DemoWorld, ref: JobRef): Promise<Stored<Pod>[]> {
    return (await world.kube.list('Pod', { namespace: ref.namespace, labelSelector: `${labelKeys.instance}=${ref.name}` })).items;
  }

  private async waitForRunning(world: DemoWorld, ref: JobRef): Promise<void> {
    const announced = new Set<string>();
    let phase: string | undefined;
    await waitFor(
      this.options.signal,
      90_000,
      'the job reaching phase Running with every executor ready',
      async () => {
        const status = await this.readJob(world, ref);
        if (status?.phase !== phase) {
          phase = status?.phase;
          this.say(`  phase ${phase ?? '(none yet)'}${status?.message === undefined ? '' : `: ${status.message}`}`);
        }
        for (const pod of await this.jobPods(world, ref)) {
          const pid = podPid(pod);
          const key = `${pod.metadata.name}/${pod.metadata.uid}`;
          if (pid !== undefined && !announced.has(key)) {
            announced.add(key);
            this.say(`  pod ${pod.metadata.name} Running (process ${pid})`);
          }
        }
        return status?.phase === 'Running' && status.executors?.ready === executors ? true : undefined;
      },
      () => `phase ${phase ?? 'none'}, executors ${this.lastStatus?.executors?.summary ?? '-'}`,
    );
  }

  /**
   * Committed positions and the last committed batch, read from the driver's offsets znode (the
   * status has them too, but the operator refreshes it every 30 s), and the source's end offsets.
   */
  private async positions(world: DemoWorld, ref: JobRef, job: DemoJob): Promise<{ committed: number; end: number; lastBatch: number | undefined; partitions: readonly PartitionOffset[] }> {
    const [offsets, watermarks] = await Promise.all([world.ledger.readOffsets(ref), world.kafka.admin.topicOffsets(job.source)]);
    // The source's positions only: an aggregating job's offsets also hold its repartition topic's.
    const committed = (offsets?.record.partitions ?? []).filter((p) => p.topic === job.source).reduce((sum, p) => sum + Number(p.next), 0);
    const end = watermarks.reduce((sum, w) => sum + w.high, 0);
    const batch = offsets?.record.batch;
    return { committed, end, lastBatch: batch === undefined || batch === null ? undefined : Number(batch), partitions: offsets?.record.partitions ?? [] };
  }

  /**
   * Whether the job has also consumed its internal topics to their ends: an aggregating job folds
   * a batch's partial counts into the totals in a later batch, through its repartition topic.
   * `committed`: the positions `positions()` just read.
   */
  private async internalTopicsCaughtUp(world: DemoWorld, job: DemoJob, committed: readonly PartitionOffset[]): Promise<boolean> {
    const internal = committed.filter((p) => p.topic !== job.source);
    for (const topic of new Set(internal.map((p) => p.topic))) {
      const ends = new Map((await world.kafka.admin.topicOffsets(topic)).map((w) => [w.partition, w.high]));
      if (internal.some((p) => p.topic === topic && Number(p.next) !== ends.get(p.partition))) return false;
    }
    return true;
  }

  private async sample(world: DemoWorld, ref: JobRef, job: DemoJob, feed: TextFeed): Promise<ProgressSample> {
    const [status, positions] = await Promise.all([this.readJob(world, ref), this.positions(world, ref, job)]);
    this.lastBatch = positions.lastBatch;
    return {
      elapsedMs: Date.now() - this.started,
      phase: status?.phase,
      executors: status?.executors?.summary,
      lastBatch: positions.lastBatch,
      produced: feed.produced,
      committed: positions.committed,
      lag: Math.max(0, positions.end - positions.committed),
    };
  }

  /** Prints a progress line every couple of seconds until stopped. */
  private startProgress(world: DemoWorld, ref: JobRef, job: DemoJob, feed: TextFeed): { stop(): void } {
    const ticker = { stopped: false };
    const stopped = (): boolean => ticker.stopped;
    const loop = async (): Promise<void> => {
      while (!stopped()) {
        try {
          const line = progressLine(await this.sample(world, ref, job, feed));
          if (!stopped()) this.say(line);
        } catch (err) {
          this.logger.debug({ err }, 'progress sample failed');
        }
        await sleep(progressEveryMs);
      }
    };
    void loop();
    return {
      stop() {
        ticker.stopped = true;
      },
    };
  }

  /**
   * SIGKILLs an executor the moment it holds unfinished tasks of a fresh batch, then watches each
   * step of the repair, timing each from the kill.
   */
  private async killAndObserve(world: DemoWorld, ref: JobRef): Promise<FailureObservation> {
    const stopWatching = new AbortController();
    try {
      return await this.killAndObserveWith(world, ref, await this.watchTerminations(world, ref, stopWatching.signal));
    } finally {
      stopWatching.abort();
    }
  }

  /**
   * When each pod incarnation (by uid) was first seen terminated. A watch, not polling: the
   * operator deletes a failed pod within milliseconds, faster than a poll would see the status.
   */
  private async watchTerminations(world: DemoWorld, ref: JobRef, signal: AbortSignal): Promise<ReadonlyMap<string, number>> {
    const seen = new Map<string, number>();
    const selector = `${labelKeys.instance}=${ref.name}`;
    const { resourceVersion } = await world.kube.list('Pod', { namespace: ref.namespace, labelSelector: selector });
    const follow = async (): Promise<void> => {
      for await (const event of world.kube.watch('Pod', { namespace: ref.namespace, labelSelector: selector, resourceVersion, signal })) {
        if (event.type !== 'BOOKMARK' && podTerminated(event.object) && !seen.has(event.object.metadata.uid)) seen.set(event.object.metadata.uid, Date.now());
      }
    };
    follow().catch((err: unknown) => {
      this.logger.debug({ err }, 'pod watch ended');
    });
    return seen;
  }

  private async killAndObserveWith(world: DemoWorld, ref: JobRef, terminations: ReadonlyMap<string, number>): Promise<FailureObservation> {
    const { signal } = this.options;
    const victim = await waitFor(
      signal,
      60_000,
      'an executor holding unfinished tasks',
      async () => {
        const tasks = (await world.ledger.readTasks(ref)).filter((task) => task.record.state === 'assigned');
        const byOwner = new Map<string, string[]>();
        for (const task of tasks) byOwner.set(task.record.owner, [...(byOwner.get(task.record.owner) ?? []), task.record.id]);
        const [owner, held] = [...byOwner].sort((a, b) => b[1].length - a[1].length)[0] ?? [];
        if (owner === undefined || held === undefined) return undefined;
        const pod = await ignoreNotFound(world.kube.get('Pod', { namespace: ref.namespace, name: owner }));
        const pid = podPid(pod);
        const znode = await world.session.getIfExists(world.layout.executor(ref, owner));
        if (pod === undefined || pid === undefined || znode === null) return undefined;
        process.kill(pid, 'SIGKILL');
        return { pod: owner, uid: pod.metadata.uid, pid, held, session: znode.stat.ephemeralOwner, killedAt: Date.now() };
      },
      undefined,
      20,
    );
    // A task it finished in the instant before the kill needs no new owner.
    const unfinished: string[] = [];
    for (const id of victim.held) {
      const task = await world.ledger.readTask(ref, id);
      if (!(task?.record.state === 'succeeded' && task.record.owner === victim.pod)) unfinished.push(id);
    }
    const since = (): number => Date.now() - victim.killedAt;
    const observed = (ms: number, text: string): void => {
      this.say(`  ! +${formatSeconds(ms).padEnd(7)} ${text}`);
    };
    observed(0, `SIGKILL to executor ${victim.pod} (process ${victim.pid}), holding ${unfinished.length} unfinished task${unfinished.length === 1 ? '' : 's'}${unfinished.length === 0 ? '' : `: ${unfinished.join(', ')}`}`);

    let failure: FailureObservation = { pod: victim.pod, pid: victim.pid, unfinishedTasks: unfinished, moves: [] };
    const moves = new Map<string, { task: string; to: string; attempt: number }>();
    let lastEventCheck = 0;
    await waitFor(
      signal,
      90_000,
      `the repair of executor ${victim.pod}`,
      async () => {
        const pod = await ignoreNotFound(world.kube.get('Pod', { namespace: ref.namespace, name: victim.pod }));
        const terminatedAt = terminations.get(victim.uid);
        if (failure.podTerminatedMs === undefined && terminatedAt !== undefined) {
          const ms = terminatedAt - victim.killedAt;
          failure = { ...failure, podTerminatedMs: ms };
          observed(ms, `the node reports pod ${victim.pod} terminated`);
        }
        if (failure.operatorDetectedMs === undefined && Date.now() - lastEventCheck > 100) {
          lastEventCheck = Date.now();
          const events = await world.kube.list('Event', { namespace: ref.namespace, fieldSelector: 'reason=ExecutorFailed' });
          const seen = events.items.find((event) => event.note?.includes(victim.pod) === true && Date.parse(event.eventTime) >= victim.killedAt - 1000);
          if (seen !== undefined) {
            const ms = since();
          failure = { ...failure, operatorDetectedMs: ms };
            observed(ms, `the operator's Event ExecutorFailed: ${seen.note ?? ''}`);
          }
        }
        if (failure.rescheduledMs === undefined && unfinished.length > 0) {
          for (const id of unfinished) {
            if (moves.has(id)) continue;
            const task = await world.ledger.readTask(ref, id);
            if (task !== null && task.record.owner !== victim.pod) moves.set(id, { task: id, to: task.record.owner, attempt: task.record.attempt });
          }
          if (moves.size === unfinished.length) {
            const ms = since();
            failure = { ...failure, rescheduledMs: ms, moves: [...moves.values()] };
            observed(ms, `its tasks are rescheduled: ${failure.moves.map((m) => `${m.task} → ${m.to} (attempt ${m.attempt})`).join(', ')}`);
          }
        }
        const znode = await world.session.getIfExists(world.layout.executor(ref, victim.pod));
        if (failure.znodeGoneMs === undefined && znode?.stat.ephemeralOwner !== victim.session) {
          const ms = since();
          failure = { ...failure, znodeGoneMs: ms };
          observed(ms, 'its ZooKeeper registration (ephemeral znode) is gone: the driver assigns it nothing more');
        }
        if (failure.replacementMs === undefined && pod !== undefined && pod.metadata.uid !== victim.uid && podPid(pod) !== undefined && znode !== null && znode.stat.ephemeralOwner !== victim.session) {
          const ms = since();
          failure = { ...failure, replacementMs: ms };
          observed(ms, `the replacement pod ${victim.pod} is Running (process ${String(podPid(pod))}) and registered in ZooKeeper`);
        }
        const repaired = failure.replacementMs !== undefined && (unfinished.length === 0 || failure.rescheduledMs !== undefined) && failure.operatorDetectedMs !== undefined;
        return repaired ? true : undefined;
      },
      () => `pod terminated ${failure.podTerminatedMs === undefined ? 'no' : 'yes'}, detected ${failure.operatorDetectedMs === undefined ? 'no' : 'yes'}, rescheduled ${moves.size}/${unfinished.length}, replacement ${failure.replacementMs === undefined ? 'no' : 'yes'}`,
      25,
    );
    return failure;
  }

  private async waitForAllCommitted(world: DemoWorld, ref: JobRef, job: DemoJob, feed: TextFeed): Promise<void> {
    await waitFor(
      this.options.signal,
      120_000,
      'every produced line committed by the job',
      async () => {
        const positions = await this.positions(world, ref, job);
        const sourceDone = feed.produced === feed.lines.length && positions.end === feed.lines.length && positions.committed === positions.end;
        return sourceDone && (await this.internalTopicsCaughtUp(world, job, positions.partitions)) ? true : undefined;
      },
      () => `produced ${formatCount(feed.produced)} of ${formatCount(feed.lines.length)}, last batch ${String(this.lastBatch ?? 'none')}`,
      250,
    );
  }
}

/** Runs the demo; the exit code is 0 only when everything worked and the output verified. */
export function runDemo(options: DemoOptions): Promise<number> {
  if (!Number.isSafeInteger(options.lines) || options.lines < 1000) throw new StreamkeeperError('SK_USAGE', `--lines must be a whole number of at least 1000 (got ${options.lines})`);
  return new Demo(options).run();
}
