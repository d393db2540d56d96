/**
 * The driver process: one active per job (its ephemeral `driver` node keeps a second one waiting).
 * Every batch interval it plans a batch from the source partitions' offsets, records it
 * write-ahead, splits it into one task per partition for the live executors, waits until every
 * task is final and then settles the batch in the `offsets` znode. A restarted driver finishes the
 * recorded batch instead of planning a new one. Config changes apply between batches.
 *
 * A driver that finds the node taken stands by, warm: it reads the configuration, follows the
 * executors and opens its Kafka clients, but writes nothing into the job's subtree until it holds
 * the node — then it goes on from the recorded batch, without a process start in between.
 */
import { readJobAcl } from '../coordination/acl.js';
import { assignTasks, currentLoad } from '../coordination/assignment.js';
import { sleep, systemClock, type Clock, type Timer } from '../machinery/clock.js';
import { watchConfig, type JobConfigDocument } from '../coordination/config-mirror.js';
import { jobKey, taskId, type CoordinationLayout, type JobRef } from '../coordination/layout.js';
import { ExecutorMembership, activeExecutors, type ExecutorSet } from '../coordination/membership.js';
import { decodeDriverRegistration, encodeDriverRegistration, type ProgressBlocker } from '../coordination/progress-report.js';
import type { EphemeralNode, Subscription, ZooKeeperSession } from '../coordination/session.js';
import { TaskLedger, batchTasks, nextBatchId, type BatchRecord, type DriverProgress, type OffsetsRecord, type VersionedBatch } from '../coordination/task-ledger.js';
import type { OffsetRange, TaskRecord } from '../coordination/task-state.js';
import type { Acl } from '../coordination/zookeeper/client.js';
import { StreamkeeperError, classify, isStreamkeeperError } from '../errors/index.js';
import { silentLogger, type Logger } from '../logging/logger.js';
import type { KafkaClientFactory } from './executor.js';
import { JobPresence } from './job-presence.js';
import { decodePlanContext, jobSettings, planContext, type JobSettings } from './job-settings.js';
import type { KafkaClient } from './kafka/index.js';
import { consumerGroupId, repartitionTopic } from './kafka-names.js';
import { noopDriverObserver, type DriverObserver } from './observer.js';
import { deleteInternalTopics, ensureInternalTopics, internalTopics, type InternalTopics } from './stateful/internal-topics.js';
import { observePlacements, placeStatePartitions, type ObservedPlacement } from './stateful/placement.js';
import { closesWindows, foldMaxEventTime, nextWatermark } from './stateful/watermark.js';
import { foldStateProgress } from './stateful/state-progress.js';
import { batchBlocker, parseError, sameCause, sourceBlocker, type BlockerCause, type KafkaSides } from './progress-blockers.js';
import {
  advanceOffsets,
  batchProgress,
  lagAfter,
  lastSettledBatch,
  nextBatchDue,
  partitionKey,
  decideFailedBatch,
  groupRanges,
  planBatch,
  positionsOf,
  settleFailedBatch,
  totalLag,
  withEveryPartition,
  type PartitionLag,
  type SourceTopic,
} from './planning.js';

export interface DriverOptions {
  readonly session: ZooKeeperSession;
  readonly layout: CoordinationLayout;
  readonly job: JobRef;
  readonly pod: string;
  readonly kafka: KafkaClientFactory;
  readonly observer?: DriverObserver;
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** How often the lag is written to the `offsets` znode while no batch commits. */
  readonly progressIntervalMs?: number;
  /** After a stop request, how long to wait for the running batch before leaving it to the next driver. */
  readonly stopGraceMs?: number;
}

interface LoopState {
  /** When the last batch was due. */
  due: number | undefined;
}

interface Offsets {
  readonly record: OffsetsRecord | null;
  readonly version: number | null;
}

/**
 * Where a cause comes from: the source topics' offsets (read by the driver itself) or the tasks
 * of the batch in flight (reported by executors in the task records). Each clears on its own
 * evidence of progress: a successful read, a committed batch.
 */
type BlockerSource = 'source' | 'tasks';

/** A function, so the compiler does not keep a narrowing of `signal.aborted` across awaits. */
function aborted(signal: AbortSignal): boolean {
  return signal.aborted;
}

function rangeSize(ranges: readonly OffsetRange[]): number {
  return ranges.reduce((sum, r) => sum + Number(r.to) - Number(r.from), 0);
}

function describeRanges(ranges: readonly OffsetRange[]): string[] {
  return ranges.map((r) => `${r.topic}/${r.partition} [${r.from}, ${r.to})`);
}

/** A batch that failed with `fail` whose exhausted ranges are still ahead of their positions. */
function retainedRanges(batch: VersionedBatch, offsets: OffsetsRecord | null): OffsetRange[] {
  const positions = positionsOf(offsets);
  return batch.record.ranges.filter((r) => (positions.get(partitionKey(r.topic, r.partition)) ?? Number(r.from)) < Number(r.to));
}

export class Driver {
  private readonly logger: Logger;
  private readonly observer: DriverObserver;
  private readonly clock: Clock;
  private readonly ledger: TaskLedger;
  private readonly membership: ExecutorMembership;
  private readonly progressIntervalMs: number;
  private readonly stopGraceMs: number;
  private settings: JobSettings | undefined;
  /**
   * Who ran each state partition last and who keeps warm copies of it, as the tasks told: soft
   * state (a new driver starts empty and learns it from the tasks of the batch it finishes).
   */
  private readonly statePlacements = new Map<number, ObservedPlacement>();
  private executors: ExecutorSet = new Map();
  private readonly subscriptions: Subscription[] = [];
  /** Wakes the planning loop early: a config or membership change. */
  private wake: (() => void) | undefined;
  private clients: { key: string; source: KafkaClient; sink: KafkaClient } | undefined;
  private internalTopicsReady: { statePartitions: number; topics: InternalTopics } | undefined;
  private acl: Acl[] = [];
  private lastLag: { total: number; writtenAt: number } | undefined;
  private latestLag: readonly PartitionLag[] = [];
  /** Failed batches found when this driver started: each is retried once. */
  private failedAtStart: Set<string> | undefined;
  private idleReason: string | undefined;
  private registered = false;
  /** Warm and waiting for the active driver's node to go (`spec.driver.standby`). */
  private standingBy = false;
  /** The `standby` node, while this driver stands by: how the operator sees a standby is alive. */
  private standbyNode: Promise<EphemeralNode | undefined> | undefined;
  private registration: EphemeralNode | undefined;
  private startedAt = '';
  private readonly blockers = new Map<BlockerSource, ProgressBlocker>();
  /** The cause the `driver` node carries now. */
  private reported: ProgressBlocker | undefined;
  /** The last error retried since the last commit, and what the node carries of it. */
  private lastError: string | undefined;
  private reportedError: { readonly text: string | undefined; readonly at: number } = { text: undefined, at: 0 };
  /** Reports are written one after the other, the last one winning. */
  private reporting: Promise<void> = Promise.resolve();
  /** Failed batches whose cause was read back from their exhausted tasks. */
  private readonly explainedFailures = new Set<string>();
  private readonly presence: JobPresence;
  /** Aborted when the job's ZooKeeper data is found gone (the job was deleted). */
  private readonly gone = new AbortController();
  /** Aborted when another driver holds the `driver` node: this one was replaced while it hung. */
  private readonly fenced = new AbortController();

  constructor(private readonly options: DriverOptions) {
    this.logger = (options.logger ?? silentLogger()).child({ job: jobKey(options.job) });
    this.observer = options.observer ?? noopDriverObserver;
    this.clock = options.clock ?? systemClock;
    this.ledger = new TaskLedger(options.session, options.layout, { clock: this.clock });
    this.membership = new ExecutorMembership(options.session, options.layout, { clock: this.clock });
    this.progressIntervalMs = options.progressIntervalMs ?? 10_000;
    this.stopGraceMs = options.stopGraceMs ?? 20_000;
    this.presence = new JobPresence(options.session, options.layout, options.job);
  }

  /** True once the driver holds its `driver` node (a second driver waits for the first one's to go). */
  get isRegistered(): boolean {
    return this.registered;
  }

  /** Ready for its part: it drives, or it stands by warm, able to take over at once. */
  get isReady(): boolean {
    return this.registered || this.standingBy;
  }

  /**
   * Plans and commits batches until `signal` aborts; the batch in flight is finished first. Also
   * ends, with 0, when the job's ZooKeeper data goes: the job was deleted.
   */
  async run(signal: AbortSignal): Promise<number> {
    const { session, layout, job } = this.options;
    const stop = AbortSignal.any([signal, this.gone.signal, this.fenced.signal]);
    try {
      this.subscriptions.push(this.presence.watch(() => { this.jobGone(); }));
      this.acl = await readJobAcl(session, layout, job);
      // Read-only until the node is held: a standby follows the configuration and the executors.
      this.subscriptions.push(
        watchConfig(session, layout, job, (doc) => { this.onConfig(doc); }, (err) => {
          void this.watchFailed(err, 'error', 'cannot read the job configuration');
        }),
        this.membership.watch(job, (executors) => {
          this.executors = executors;
          this.wakeUp();
        }, (err) => {
          void this.watchFailed(err, 'warn', 'cannot read the job\'s executors');
        }),
      );
      const acquired = await this.standBy(stop).finally(() => {
        this.withdrawStandby();
      });
      if (acquired === undefined) return 0;
      const { registration, tookOver } = acquired;
      this.registration = registration;
      this.registered = true;
      this.observer.active?.(true);
      this.standingBy = false;
      if (tookOver === '') this.logger.info({ pod: this.options.pod }, 'driver registered');
      else this.logger.info({ pod: this.options.pod, previous: tookOver }, 'driver registered: took over from the previous driver');
      // A driver that hung past its session finds the node re-created by its successor: it stops
      // at once, and leaves the batch in flight to the driver that now holds the node.
      // Another process is another pod, or this pod's successor under the same name (its start time).
      this.subscriptions.push(session.watchData(layout.driver(job), (node) => {
        const holder = node === null ? undefined : decodeDriverRegistration(node.data);
        if (holder !== undefined && (holder.pod !== this.options.pod || holder.startedAt !== this.startedAt) && !this.fenced.signal.aborted) {
          this.logger.warn({ active: holder.pod }, 'another driver holds the job now; stopping without writing more');
          this.fenced.abort();
        }
      }));
      try {
        await this.loop(stop);
      } finally {
        this.registration = undefined;
        this.observer.active?.(false);
        await this.reporting;
        await registration.remove().catch(() => undefined);
      }
      return 0;
    } catch (err) {
      if (this.gone.signal.aborted || (await this.presence.explains(err))) {
        this.jobGone();
        return 0;
      }
      throw err;
    } finally {
      for (const subscription of this.subscriptions.splice(0)) subscription.close();
      if (this.gone.signal.aborted) await this.deleteInternalTopics();
      await this.closeClients();
    }
  }

  /**
   * Takes the `driver` node, waiting warm while another driver holds it. Resolves to the node and
   * the pod of the driver it waited for ('' when the node was free), or undefined when stopped
   * first. Two drivers that find the node free at once race for it; the loser stands by.
   */
  private async standBy(signal: AbortSignal): Promise<{ registration: EphemeralNode; tookOver: string } | undefined> {
    const { session, layout, job, pod } = this.options;
    const path = layout.driver(job);
    let previous = '';
    for (;;) {
      if (aborted(signal)) return undefined;
      const node = await session.getIfExists(path);
      if (node === null) {
        this.startedAt = new Date(this.clock.now()).toISOString();
        try {
          return { registration: await session.registerEphemeral(path, encodeDriverRegistration({ pod, startedAt: this.startedAt }), this.acl, { waitForOthers: false }), tookOver: previous };
        } catch (err) {
          if (!isStreamkeeperError(err, 'SK_ZK_NODE_EXISTS')) throw err;
          continue; // another driver was quicker: stand by for it
        }
      }
      const holder = decodeDriverRegistration(node.data).pod;
      if (holder === pod) {
        // Left by this pod's previous incarnation, whose session has not timed out yet: no standby.
        this.logger.info({ path }, 'waiting for the registration of this pod\'s previous incarnation to go');
      } else if (previous !== holder) {
        previous = holder;
        this.logger.info({ active: holder }, 'standing by: another driver holds the job; taking over when its registration goes');
        this.announceStandby();
        void this.warmUp(signal);
      }
      // A second's cap: a node that went just before the watch was set is seen on the next look.
      await session.waitForChange(path, 1000, signal);
    }
  }

  /**
   * Registers the `standby` node (in the background: a node left by an earlier incarnation's
   * session is waited for, and must not hold the standing by up).
   */
  private announceStandby(): void {
    if (this.standbyNode !== undefined) return;
    const { session, layout, job, pod } = this.options;
    this.standbyNode = session.registerEphemeral(layout.standby(job), encodeDriverRegistration({ pod, startedAt: new Date(this.clock.now()).toISOString() }), this.acl).catch((err: unknown) => {
      this.logger.debug({ err: classify(err).message }, 'standby: cannot register as the job\'s standby driver');
      return undefined;
    });
  }

  /** Removes the `standby` node once this driver drives or stops (whenever its creation ends). */
  private withdrawStandby(): void {
    const node = this.standbyNode;
    this.standbyNode = undefined;
    void node?.then((registered) => registered?.remove()).catch(() => undefined);
  }

  /**
   * Opens the Kafka clients a standby will plan with and reads the source offsets once (read-only),
   * so that taking over costs no connection set-up. Ready from then on.
   */
  private async warmUp(signal: AbortSignal): Promise<void> {
    while (this.settings === undefined && !aborted(signal) && !this.registered) await sleep(this.clock, 100, signal);
    const settings = this.settings;
    if (settings === undefined || this.registered) return;
    const { source } = this.kafkaClients(settings);
    for (const topic of settings.planning.topics) {
      try {
        await source.admin.topicOffsets(topic);
      } catch (err) {
        // The active driver reports the cause; a standby only says it could not warm up.
        this.logger.debug({ topic, err: classify(err).message }, 'standby: cannot read the source topic\'s offsets yet');
      }
    }
    if (!this.isRegistered) this.standingBy = true;
  }

  /**
   * The job was deleted: its internal topics go with it (best effort — a driver that is not
   * running when its job is deleted leaves them; docs/runtime.md says how to remove them).
   */
  private async deleteInternalTopics(): Promise<void> {
    const settings = this.settings;
    if (settings?.processing.aggregation === undefined) return;
    try {
      const { sink } = this.kafkaClients(settings);
      if (await deleteInternalTopics(sink.admin, this.options.job)) this.logger.info(internalTopics(this.options.job), 'the deleted job\'s internal topics are deleted');
    } catch (err) {
      this.logger.warn({ ...internalTopics(this.options.job), err: classify(err).message }, 'cannot delete the deleted job\'s internal topics; delete them by hand');
    }
  }

  /** The job was deleted: stop now, without waiting for the batch in flight (it went with the job). */
  private jobGone(): void {
    if (this.gone.signal.aborted) return;
    this.logger.info('the job\'s ZooKeeper data is gone (the StreamingJob was deleted); stopping');
    this.gone.abort();
  }

  private async watchFailed(err: unknown, level: 'warn' | 'error', message: string): Promise<void> {
    if (await this.presence.explains(err)) this.jobGone();
    else this.logger[level]({ err: classify(err).message }, message);
  }

  private onConfig(doc: JobConfigDocument | null): void {
    if (doc === null) return;
    try {
      const settings = jobSettings(doc);
      const previous = this.settings;
      this.settings = settings;
      this.logger.info({ generation: settings.generation, hash: settings.hash, batchIntervalMs: settings.planning.batchIntervalMs, maxRecordsPerPartition: settings.planning.maxRecordsPerPartition }, previous === undefined ? 'job configuration loaded' : 'job configuration changed; it applies from the next batch');
    } catch (err) {
      this.logger.error({ err: classify(err).message, generation: doc.generation }, 'the job configuration cannot be used; keeping the previous one');
    }
    this.wakeUp();
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Sleeps until `until`, a wake-up (config or membership change) or `signal`. */
  private async pause(until: number, signal: AbortSignal): Promise<void> {
    const ms = until - this.clock.now();
    if (ms <= 0 || signal.aborted) return;
    const interrupt = new AbortController();
    const onAbort = (): void => { interrupt.abort(); };
    signal.addEventListener('abort', onAbort, { once: true });
    this.wake = () => { interrupt.abort(); };
    try {
      await sleep(this.clock, ms, interrupt.signal);
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.wake = undefined;
    }
  }

  private kafkaClients(settings: JobSettings): { source: KafkaClient; sink: KafkaClient } {
    const key = `${settings.sourceBrokers.join(',')}|${settings.sinkBrokers.join(',')}`;
    if (this.clients?.key !== key) {
      const old = this.clients;
      this.clients = { key, source: this.options.kafka('source', settings.sourceBrokers), sink: this.options.kafka('sink', settings.sinkBrokers) };
      if (old !== undefined) void Promise.allSettled([old.source.close(), old.sink.close()]);
    }
    return this.clients;
  }

  private async closeClients(): Promise<void> {
    const clients = this.clients;
    this.clients = undefined;
    if (clients !== undefined) await Promise.allSettled([clients.source.close(), clients.sink.close()]);
  }

  private async readOffsets(): Promise<Offsets> {
    const read = await this.ledger.readOffsets(this.options.job);
    return read === null ? { record: null, version: null } : read;
  }

  private async writeOffsets(offsets: Offsets, record: OffsetsRecord): Promise<Offsets> {
    try {
      const version = await this.ledger.writeOffsets(this.options.job, record, offsets.version, this.acl);
      return { record, version };
    } catch (err) {
      if (isStreamkeeperError(err, 'SK_ZK_BAD_VERSION') || isStreamkeeperError(err, 'SK_ZK_NODE_EXISTS')) {
        throw new StreamkeeperError('SK_ZK_BAD_VERSION', 'the offsets node changed under this driver: another driver of the job is running; stopping', { cause: err });
      }
      throw err;
    }
  }

  /**
   * Runs `step` until stopped. A transient failure (ZooKeeper or Kafka unreachable for a while)
   * is logged and the step tried again; anything else ends the driver, to be replaced.
   */
  private async loop(signal: AbortSignal): Promise<void> {
    const state: LoopState = { due: undefined };
    for (let failures = 0; !signal.aborted; ) {
      try {
        await this.step(signal, state);
        failures = 0;
      } catch (err) {
        if (aborted(this.gone.signal)) return;
        const classified = classify(err);
        if (classified.kind !== 'transient' || isStreamkeeperError(err, 'SK_ZK_BAD_VERSION')) throw err;
        failures += 1;
        this.noteError(classified.message);
        const delay = this.options.session.retryDelay(Math.min(failures + 2, 8));
        this.logger.warn({ err: classified.message, retryInMs: delay }, 'driver step failed; trying again');
        await this.pause(this.clock.now() + delay, signal);
      }
    }
  }

  private async step(signal: AbortSignal, state: LoopState): Promise<void> {
    if (this.failedAtStart === undefined) this.failedAtStart = new Set((await this.ledger.readBatches(this.options.job)).filter((b) => b.record.state === 'failed').map((b) => b.record.id));
    const settings = this.settings;
    if (settings === undefined) {
      this.idle('waiting for the job configuration');
      await this.pause(this.clock.now() + 1000, signal);
      return;
    }
    const batches = await this.ledger.readBatches(this.options.job);
    await this.cleanUpCommitted(batches);
    const unfinished = batches.findLast((b) => b.record.state === 'planned');
    if (unfinished !== undefined) {
      this.logger.info({ batch: unfinished.record.id }, 'finishing the recorded batch');
      await this.finishBatch(unfinished, signal);
      return;
    }
    if (await this.blockedByFailedBatch(settings, batches)) {
      this.idle('a batch failed (failurePolicy.onTaskExhausted: fail); waiting for a configuration change or a driver restart to retry it');
      await this.refreshLag(settings);
      await this.pause(this.clock.now() + this.progressIntervalMs, signal);
      return;
    }
    const next = nextBatchDue(state.due, settings.planning.batchIntervalMs, this.clock.now());
    await this.pause(next.due, signal);
    if (aborted(signal) || this.clock.now() < next.due) return; // stopped, or woken early: read the settings again
    state.due = next.due;
    if (activeExecutors(this.executors).length === 0) {
      this.idle('no live executor to run tasks; not planning');
      await this.refreshLag(settings);
      return;
    }
    this.observer.planningDelay?.(next.delayMs / 1000);
    const batch = await this.plan(settings, batches);
    if (batch !== undefined) await this.finishBatch(batch, signal);
  }

  private idle(reason: string): void {
    if (this.idleReason === reason) return;
    this.idleReason = reason;
    this.logger.info(reason);
  }

  /** Committed batches left behind by a driver that stopped halfway through cleaning up. */
  private async cleanUpCommitted(batches: readonly VersionedBatch[]): Promise<void> {
    for (const batch of batches) {
      if (batch.record.state !== 'committed') continue;
      await this.ledger.deleteBatchTasks(this.options.job, batch.record.id);
      await this.ledger.deleteBatch(this.options.job, batch.record.id);
    }
  }

  private async sourceTopics(settings: JobSettings): Promise<SourceTopic[]> {
    const { source, sink } = this.kafkaClients(settings);
    const topics: SourceTopic[] = [];
    let blocker: BlockerCause | undefined;
    for (const topic of settings.planning.topics) {
      try {
        topics.push({ topic, partitions: await source.admin.topicOffsets(topic) });
      } catch (err) {
        const message = classify(err).message;
        const cause = sourceBlocker(parseError(message), topic, settings.sourceBrokers, settings.secrets.source);
        blocker ??= cause;
        // Said once per cause (the report below); every retry after that is detail.
        this.logger.debug({ topic, err: message }, 'cannot read the source topic\'s offsets; planning without it');
        if (cause === undefined) this.logger.warn({ topic, err: message }, 'cannot read the source topic\'s offsets; planning without it');
        this.noteError(message);
      }
    }
    this.report('source', blocker);
    const aggregation = settings.processing.aggregation;
    if (aggregation !== undefined) {
      // The aggregate stage's input: planned like a source, read from the sink cluster.
      const internal = await this.ensureInternalTopics(sink, aggregation.statePartitions);
      topics.push({ topic: internal.repartition, partitions: await sink.admin.topicOffsets(internal.repartition) });
    }
    return topics;
  }

  /** Creates the job's repartition and changelog topics once per driver and partition count (idempotent). */
  private async ensureInternalTopics(sink: KafkaClient, statePartitions: number): Promise<InternalTopics> {
    if (this.internalTopicsReady?.statePartitions !== statePartitions) {
      const topics = await ensureInternalTopics(sink.admin, this.options.job, statePartitions);
      this.internalTopicsReady = { statePartitions, topics };
      this.logger.info({ ...topics, statePartitions }, 'the job\'s internal topics for its aggregation are in place');
    }
    return this.internalTopicsReady.topics;
  }

  /** Plans the next batch and records it; undefined when there is nothing new to process. */
  private async plan(settings: JobSettings, batches: readonly VersionedBatch[]): Promise<VersionedBatch | undefined> {
    const { job } = this.options;
    const topics = await this.sourceTopics(settings);
    let offsets = await this.readOffsets();
    const positions = positionsOf(offsets.record);
    let fallback: Map<string, number> | undefined;
    const unknown = topics.some((t) => t.partitions.some((p) => !positions.has(partitionKey(t.topic, p.partition))));
    if (unknown && settings.processing.delivery === 'exactlyOnce') fallback = await this.groupOffsets(settings, topics);
    const plan = planBatch({
      topics,
      positions,
      ...(fallback === undefined ? {} : { fallback }),
      newPartitionStart: offsets.record === null ? settings.planning.startingOffsets : 'earliest',
      // Whatever the map stage wrote must all be aggregated, whatever startingOffsets says.
      ...(settings.processing.aggregation === undefined ? {} : { earliestTopics: [repartitionTopic(job)] }),
      maxRecordsPerPartition: settings.planning.maxRecordsPerPartition,
    });
    this.latestLag = plan.lag;
    this.observer.consumerLag?.(plan.lag);
    for (const lost of plan.lostToRetention) {
      const count = Number(lost.to) - Number(lost.from);
      this.observer.offsetsLostToRetention?.(count);
      this.logger.error({ topic: lost.topic, partition: lost.partition, from: lost.from, to: lost.to }, `retention deleted ${count} offsets of the source partition before the job processed them; continuing from the earliest offset still in the log`);
    }
    for (const beyond of plan.beyondEnd) {
      this.logger.error(beyond, 'the job\'s position is beyond the end of the source partition (was the topic deleted and created again?); not planning it');
    }
    if (plan.newPositions.length > 0) {
      // Recorded first: a partition starting at `latest` must not move on while it waits.
      offsets = await this.writeOffsets(offsets, advanceOffsets(offsets.record, { positions: plan.newPositions }));
      this.logger.info({ partitions: plan.newPositions }, 'start positions recorded for partitions seen for the first time');
    }
    const window = settings.processing.aggregation?.window;
    let watermark: number | undefined;
    let ranges = plan.ranges;
    if (window !== undefined) {
      const progress = offsets.record?.progress;
      const previous = isoMillis(progress?.watermark);
      watermark = nextWatermark({ maxEventTime: progress?.maxEventTime, previous, allowedLatenessMs: window.allowedLatenessMs, idleTimeoutMs: window.idleTimeoutMs, recordsSeenAt: isoMillis(progress?.recordsSeenAt), now: this.clock.now() });
      // Windows close in the aggregate stage: when the watermark passes a window end, every state partition runs, with or without new partials.
      if (closesWindows(previous, watermark, progress?.maxEventTime, { kind: window.type, sizeMs: window.sizeMs, advanceMs: window.advanceMs })) ranges = withEveryPartition(plan.ranges, plan.lag, repartitionTopic(job));
    }
    if (ranges.length === 0) {
      this.observer.emptyBatchSkipped?.();
      await this.refreshLag(settings);
      return undefined;
    }
    this.idleReason = undefined;
    const id = nextBatchId(batches.map((b) => b.record.id), lastSettledBatch(offsets.record));
    // The aggregate stage's tasks stay one per state partition: (repartition topic, p) is the id that fences the state.
    const rangeGroups = groupRanges(ranges, settings.planning.partitionGroups, settings.processing.aggregation === undefined ? undefined : repartitionTopic(job));
    const batch = await this.ledger.recordBatch(job, id, ranges, this.acl, { ...planContext(settings, watermark) }, rangeGroups);
    this.logger.debug({ batch: id, tasks: batchTasks(batch.record).length, ranges: ranges.length, offsets: rangeSize(ranges), ...(watermark === undefined ? {} : { watermark: new Date(watermark).toISOString() }) }, 'batch recorded');
    return batch;
  }

  /** The job's committed group offsets, for partitions the `offsets` znode does not know (a recreated subtree). */
  private async groupOffsets(settings: JobSettings, topics: readonly SourceTopic[]): Promise<Map<string, number>> {
    const { sink } = this.kafkaClients(settings);
    const found = new Map<string, number>();
    for (const { topic } of topics) {
      try {
        for (const [partition, offset] of await sink.admin.committedOffsets(consumerGroupId(this.options.job), topic)) found.set(partitionKey(topic, partition), offset);
      } catch (err) {
        this.logger.warn({ topic, err: classify(err).message }, 'cannot read the job\'s committed group offsets');
      }
    }
    return found;
  }

  /** Creates the batch's missing tasks for the active executors, then waits until every task is final. */
  private async finishBatch(batch: VersionedBatch, signal: AbortSignal): Promise<void> {
    const id = batch.record.id;
    const started = Date.parse(batch.record.plannedAt);
    const offsets = await this.readOffsets();
    const settled = lastSettledBatch(offsets.record);
    if (settled !== null && settled >= id) {
      // Settled in the offsets before the previous driver stopped: only the bookkeeping is left.
      await this.closeBatch(batch, offsets.record?.batch === id ? 'committed' : 'failed');
      return;
    }
    const expected = batchTasks(batch.record).length;
    if (!(await this.ensureTasks(batch, signal))) return;
    const tasks = await this.waitForTasks(id, expected, signal);
    if (tasks === undefined) return;
    this.learnPlacements(tasks);
    const progress = batchProgress(tasks, expected);
    if (progress.state === 'succeeded') await this.commit(batch, offsets, started, tasks);
    else if (progress.state === 'failed') await this.fail(batch, offsets, tasks, progress.exhausted, started);
  }

  private async ensureTasks(batch: VersionedBatch, signal: AbortSignal): Promise<boolean> {
    const { job } = this.options;
    const ids = batchTasks(batch.record).map((_work, index) => taskId(batch.record.id, index));
    for (;;) {
      const existing = await this.ledger.readTasks(job);
      const have = new Set(existing.map((t) => t.record.id));
      if (ids.every((id) => have.has(id))) return true;
      const active = activeExecutors(this.executors);
      if (active.length > 0) {
        this.learnPlacements(existing.map((t) => t.record));
        const load = currentLoad(existing.map((t) => t.record), active);
        const { owners, standbys } = this.placeStateTasks(batch.record, ids.filter((id) => !have.has(id)), active, load);
        for (const [id, pod] of assignTasks(ids.filter((id) => !have.has(id) && !owners.has(id)), load)) owners.set(id, pod);
        for (const t of existing) owners.set(t.record.id, t.record.owner);
        const created = await this.ledger.createTasks(job, batch.record, owners, this.acl, standbys);
        this.learnPlacements(created.map((t) => t.record));
        return true;
      }
      this.idle('no live executor to give the recorded batch\'s tasks to; waiting');
      await this.pause(this.clock.now() + 1000, signal);
      if (aborted(signal)) return false;
    }
  }

  /** Both sides' brokers and credential Secrets (by name), for naming a refused login. */
  private kafkaSides(): KafkaSides | undefined {
    const settings = this.settings;
    if (settings === undefined) return undefined;
    return { source: { brokers: settings.sourceBrokers, secrets: settings.secrets.source }, sink: { brokers: settings.sinkBrokers, secrets: settings.secrets.sink } };
  }

  /**
   * Owners and standbys of the batch's aggregate tasks among `ids`: each state partition stays
   * where it ran, or moves to its standby (see placeStatePartitions). Counts them in `load`.
   */
  private placeStateTasks(batch: BatchRecord, ids: readonly string[], active: readonly string[], load: Map<string, number>): { owners: Map<string, string>; standbys: Map<string, readonly string[]> } {
    const owners = new Map<string, string>();
    const standbys = new Map<string, readonly string[]>();
    const aggregation = this.settings?.processing.aggregation;
    if (aggregation === undefined) return { owners, standbys };
    const repartition = repartitionTopic(this.options.job);
    const byPartition = new Map<number, string>();
    batchTasks(batch).forEach((work, index) => {
      const id = taskId(batch.id, index);
      const range = work.ranges[0];
      if (work.group === undefined && work.ranges.length === 1 && range?.topic === repartition && ids.includes(id)) byPartition.set(range.partition, id);
    });
    const placed = placeStatePartitions([...byPartition.keys()], this.statePlacements, active, aggregation.standbyReplicas ?? 0);
    for (const [partition, placement] of placed) {
      const id = byPartition.get(partition);
      if (id === undefined) continue;
      owners.set(id, placement.owner);
      if (placement.standbys.length > 0) standbys.set(id, placement.standbys);
      load.set(placement.owner, (load.get(placement.owner) ?? 0) + 1);
    }
    return { owners, standbys };
  }

  /** Remembers who holds each state partition from its latest aggregate tasks (a moved task names its new owner). */
  private learnPlacements(tasks: readonly TaskRecord[]): void {
    observePlacements(tasks, repartitionTopic(this.options.job), this.statePlacements);
  }

  /** Every task of batch `id` once they are all final; undefined when stopped first. */
  private async waitForTasks(id: string, expected: number, signal: AbortSignal): Promise<TaskRecord[] | undefined> {
    let subscription: Subscription | undefined;
    let timer: Timer | undefined;
    let onAbort: (() => void) | undefined;
    try {
      return await new Promise<TaskRecord[] | undefined>((resolve) => {
        subscription = this.ledger.watchTasks(this.options.job, (all) => {
          const tasks = [...all.values()].map((t) => t.record).filter((t) => t.batch === id);
          const cause = batchBlocker(tasks, this.kafkaSides());
          // A retry that has not failed yet is no evidence the cause went: only a commit clears it.
          if (cause !== undefined) this.report('tasks', cause);
          if (batchProgress(tasks, expected).state !== 'running') resolve(tasks);
        }, (err) => {
          this.logger.warn({ err: classify(err).message }, 'cannot read the batch\'s tasks');
        });
        onAbort = () => {
          if (this.gone.signal.aborted || this.fenced.signal.aborted) {
            resolve(undefined);
            return;
          }
          this.logger.info({ batch: id, graceMs: this.stopGraceMs }, 'stop requested; waiting for the batch in flight');
          timer = this.clock.setTimer(this.stopGraceMs, () => {
            this.logger.info({ batch: id }, 'the batch did not finish in time; the next driver finishes it');
            resolve(undefined);
          });
        };
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      });
    } finally {
      subscription?.close();
      timer?.cancel();
      if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
    }
  }

  private async commit(batch: VersionedBatch, offsets: Offsets, started: number, tasks: readonly TaskRecord[]): Promise<void> {
    const id = batch.record.id;
    const now = this.clock.now();
    const committedAt = new Date(now).toISOString();
    let record = advanceOffsets(offsets.record, { advance: batch.record.ranges, committedBatch: id, progress: { committedAt, lastBatch: id, ...this.eventTimeProgress(batch, offsets, tasks, committedAt), ...this.stateProgress(offsets, tasks, committedAt) } });
    const lag = lagAfter(this.latestLag, record);
    record = advanceOffsets(record, { progress: { totalLag: totalLag(lag), lagObservedAt: committedAt } });
    await this.writeOffsets(offsets, record);
    this.lastLag = { total: totalLag(lag), writtenAt: now };
    this.observer.consumerLag?.(lag);
    this.observer.batchFinished?.('committed', Number.isNaN(started) ? 0 : (now - started) / 1000);
    this.observer.lastCommittedBatch?.(now / 1000);
    const watermark = record.progress?.watermark === undefined ? Number.NaN : Date.parse(record.progress.watermark);
    if (!Number.isNaN(watermark)) this.observer.watermark?.(watermark / 1000);
    this.lastError = undefined;
    this.report('tasks', undefined);
    await this.closeBatch(batch, 'committed');
    this.logger.debug({ batch: id }, 'batch committed');
  }

  private async fail(batch: VersionedBatch, offsets: Offsets, tasks: readonly TaskRecord[], exhausted: readonly string[], started: number): Promise<void> {
    const id = batch.record.id;
    const policy = this.settings?.planning.onTaskExhausted ?? 'fail';
    const settlement = settleFailedBatch(tasks, policy);
    const now = this.clock.now();
    const succeeded = tasks.filter((t) => t.state === 'succeeded');
    const at = new Date(now).toISOString();
    await this.writeOffsets(offsets, advanceOffsets(offsets.record, { advance: settlement.advance, progress: { lastBatch: id, ...this.eventTimeProgress(batch, offsets, succeeded, at), ...this.stateProgress(offsets, succeeded, at) } }));
    const errors = tasks.filter((t) => t.state === 'exhausted').map((t) => ({ task: t.id, ranges: describeRanges(t.ranges), error: t.error }));
    if (policy === 'degrade') {
      const parked = rangeSize(settlement.parked);
      this.observer.parkedOffsets?.(parked);
      this.observer.batchFinished?.('parked', (now - started) / 1000);
      this.logger.error({ batch: id, parked: describeRanges(settlement.parked), offsets: parked, tasks: errors }, 'batch failed: its exhausted ranges are parked — NOT processed — and recorded in the failed batch; the job goes on (failurePolicy.onTaskExhausted: degrade)');
    } else {
      this.observer.batchFinished?.('failed', (now - started) / 1000);
      this.logger.error({ batch: id, retained: describeRanges(settlement.retained), tasks: errors }, 'batch failed: planning stops; its unprocessed ranges are processed again when the configuration changes or the driver restarts (failurePolicy.onTaskExhausted: fail)');
    }
    await this.closeBatch(batch, 'failed', exhausted);
  }

  /**
   * A windowed aggregation's event-time progress after `batch`: the greatest event time its
   * succeeded tasks saw joins the job's, the batch's recorded watermark becomes the job's, and a
   * batch that read source records resets the idle clock. Written with the offsets, in one write.
   */
  private eventTimeProgress(batch: VersionedBatch, offsets: Offsets, tasks: readonly TaskRecord[], at: string): Partial<DriverProgress> {
    const plannedWith = decodePlanContext(batch.record.plannedWith);
    if (plannedWith?.processing.aggregation?.window === undefined) return {};
    const previous = offsets.record?.progress;
    const maxEventTime = foldMaxEventTime(previous?.maxEventTime, tasks.map((t) => t.maxEventTime));
    const repartition = repartitionTopic(this.options.job);
    const readSource = batch.record.ranges.some((r) => r.topic !== repartition && Number(r.to) > Number(r.from));
    return {
      ...(maxEventTime === undefined ? {} : { maxEventTime }),
      ...(plannedWith.watermark === undefined ? {} : { watermark: new Date(plannedWith.watermark).toISOString() }),
      ...(readSource ? { recordsSeenAt: at } : previous?.recordsSeenAt === undefined ? {} : { recordsSeenAt: previous.recordsSeenAt }),
    };
  }

  /** The aggregation state's sizes and latest restore after the batch's committed aggregate tasks (state-progress.ts). */
  private stateProgress(offsets: Offsets, tasks: readonly TaskRecord[], at: string): Pick<DriverProgress, 'state'> {
    const state = foldStateProgress(offsets.record?.progress?.state, tasks, repartitionTopic(this.options.job), at);
    return state === undefined ? {} : { state };
  }

  /** Marks the batch and removes what is no longer needed: all tasks of a committed batch, the succeeded ones of a failed batch. */
  private async closeBatch(batch: VersionedBatch, state: 'committed' | 'failed', exhausted?: readonly string[]): Promise<void> {
    const { job } = this.options;
    const id = batch.record.id;
    if (batch.record.state === 'planned') {
      const failedTasks = exhausted ?? (state === 'failed' ? (await this.ledger.readTasks(job, id)).filter((t) => t.record.state === 'exhausted').map((t) => t.record.id) : undefined);
      await this.ledger.setBatchState(job, batch, state, failedTasks);
    }
    if (state === 'committed') {
      await this.ledger.deleteBatchTasks(job, id);
      await this.ledger.deleteBatch(job, id);
      return;
    }
    // A failed batch keeps its exhausted tasks (they carry the errors) for as long as it is kept.
    for (const task of await this.ledger.readTasks(job, id)) {
      if (task.record.state === 'succeeded') await this.ledger.deleteTask(job, task.record.id);
    }
  }

  /**
   * Whether a batch failed with `fail` still holds back its ranges. It is retried — deleted, so
   * that planning takes its ranges again from the unchanged positions — once when a driver starts
   * and after a configuration change since it failed; with `degrade` configured now, it is parked.
   */
  private async blockedByFailedBatch(settings: JobSettings, batches: readonly VersionedBatch[]): Promise<boolean> {
    const { job } = this.options;
    const failed = batches.filter((b) => b.record.state === 'failed');
    if (failed.length === 0) return false;
    let offsets = await this.readOffsets();
    let blocked = false;
    for (const batch of failed) {
      const retained = retainedRanges(batch, offsets.record);
      const plannedWith = decodePlanContext(batch.record.plannedWith);
      const configChanged = plannedWith !== undefined && plannedWith.config.hash !== settings.hash;
      const failedBeforeThisDriver = this.failedAtStart?.has(batch.record.id) ?? false;
      const action = decideFailedBatch({ retainedRanges: retained.length, policy: settings.planning.onTaskExhausted, configChanged, failedBeforeThisDriver });
      if (action === 'keep') continue; // parked: kept as the record of what was skipped
      if (action === 'park') {
        offsets = await this.writeOffsets(offsets, advanceOffsets(offsets.record, { advance: retained }));
        this.observer.parkedOffsets?.(rangeSize(retained));
        this.logger.error({ batch: batch.record.id, parked: describeRanges(retained) }, 'a failed batch is parked now that failurePolicy.onTaskExhausted is degrade: its exhausted ranges are NOT processed');
        continue;
      }
      if (action === 'retry') {
        this.failedAtStart?.delete(batch.record.id); // a batch found failed at start is retried once
        this.logger.info({ batch: batch.record.id, ranges: describeRanges(retained), reason: configChanged ? 'configuration changed' : 'driver started' }, 'retrying a failed batch: its ranges are planned again');
        await this.ledger.deleteBatchTasks(job, batch.record.id);
        await this.ledger.deleteBatch(job, batch.record.id);
        continue;
      }
      blocked = true;
      await this.explainFailedBatch(batch.record.id);
    }
    return blocked;
  }

  /**
   * A batch that failed before this driver started holds the job back: its exhausted tasks still
   * carry the errors, so the cause is reported again (once per batch) rather than lost with the
   * previous driver.
   */
  private async explainFailedBatch(id: string): Promise<void> {
    if (this.explainedFailures.has(id) || this.blockers.has('tasks')) return;
    this.explainedFailures.add(id);
    const cause = batchBlocker((await this.ledger.readTasks(this.options.job, id)).map((t) => t.record), this.kafkaSides());
    if (cause !== undefined) this.report('tasks', cause);
  }

  /**
   * Records why the job cannot move data (or that a cause went) and, when what the user would read
   * changes, writes it into the `driver` node, where the operator reads it on its next pass. Said
   * in the log once per cause, not per retry.
   */
  private report(source: BlockerSource, cause: BlockerCause | undefined): void {
    const held = this.blockers.get(source);
    if (cause === undefined) {
      if (held === undefined) return;
      this.blockers.delete(source);
      this.logger.info({ reason: held.reason }, `resolved: ${held.message}`);
    } else {
      if (sameCause(held, cause)) return;
      this.blockers.set(source, { ...cause, since: held?.reason === cause.reason ? held.since : new Date(this.clock.now()).toISOString() });
      if (held?.reason !== cause.reason) this.logger.warn({ reason: cause.reason, ...(cause.field === undefined ? {} : { field: cause.field }) }, `cannot move data: ${cause.message}`);
    }
    this.publish();
  }

  /** Remembers an error retried (published at most every progress interval: it may change on every retry). */
  private noteError(message: string): void {
    this.lastError = message;
    this.publish();
  }

  /** Writes the report into the `driver` node when what the operator would show changed. */
  private publish(): void {
    const next = this.blockers.get('source') ?? this.blockers.get('tasks');
    const now = this.clock.now();
    const causeChanged = !(sameCause(next, this.reported) && next?.since === this.reported?.since);
    const errorDue = this.lastError !== this.reportedError.text && (this.lastError === undefined || now - this.reportedError.at >= this.progressIntervalMs);
    if (!causeChanged && !errorDue) return;
    this.reported = next;
    this.reportedError = { text: this.lastError, at: now };
    const registration = this.registration;
    if (registration === undefined) return;
    const data = encodeDriverRegistration({ pod: this.options.pod, startedAt: this.startedAt, ...(next === undefined ? {} : { blocked: next }), ...(this.lastError === undefined ? {} : { lastError: this.lastError }) });
    this.reporting = this.reporting
      .then(() => registration.update(data))
      .catch((err: unknown) => {
        // The next change writes again; the operator meanwhile sees the previous report.
        this.logger.debug({ err: classify(err).message }, 'could not write the progress report');
      });
  }

  /** Publishes the lag in the `offsets` znode while no batch commits (at most every progressIntervalMs, when it changed). */
  private async refreshLag(settings: JobSettings): Promise<void> {
    const now = this.clock.now();
    if (this.lastLag !== undefined && now - this.lastLag.writtenAt < this.progressIntervalMs) return;
    try {
      const offsets = await this.readOffsets();
      if (offsets.record === null) return;
      const topics = await this.sourceTopics(settings);
      const plan = planBatch({ topics, positions: positionsOf(offsets.record), newPartitionStart: 'earliest', maxRecordsPerPartition: 1 });
      this.latestLag = plan.lag;
      this.observer.consumerLag?.(plan.lag);
      const total = totalLag(plan.lag);
      if (this.lastLag?.total === total && offsets.record.progress?.totalLag === total) {
        this.lastLag = { total, writtenAt: now };
        return;
      }
      await this.writeOffsets(offsets, advanceOffsets(offsets.record, { progress: { totalLag: total, lagObservedAt: new Date(now).toISOString() } }));
      this.lastLag = { total, writtenAt: now };
    } catch (err) {
      if (isStreamkeeperError(err, 'SK_ZK_BAD_VERSION')) throw err;
      this.logger.warn({ err: classify(err).message }, 'could not publish the lag');
    }
  }
}

/** Epoch milliseconds of an ISO time the driver wrote, or undefined. */
function isoMillis(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}
