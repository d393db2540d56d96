/**
 * Workers that take keys from a WorkQueue and hand them to a Reconciler, modelled on
 * controller-runtime: a request is only a key (level-based: the reconciler re-reads the world),
 * the result is a value (`requeueAfterMs`), never a timer inside the reconciler, and ONE
 * function — `decideQueueAction` — turns the outcome of a pass into what the queue does next.
 * A throw never escapes a worker; programming errors are counted as panics and retried.
 *
 * A reconciler for this machinery:
 *
 *   const reconciler: Reconciler = {
 *     async reconcile(key, { signal, logger }) {
 *       const ref = parseObjectKey(key);            // 'namespace/name'
 *       const job = await ignoreNotFound(kube.get('StreamingJob', ref));
 *       if (job === undefined) return {};         // gone: nothing to do
 *       ... observe, decide (pure), act, write status once ...
 *       return { requeueAfterMs: 30_000 };        // or {} when nothing is pending
 *     },
 *   };
 *
 * Throw a StreamkeeperError to say how to retry: transient (optionally with retryAfterMs) is
 * retried with per-key backoff; permanent and invalid-spec are not retried until the next event
 * or resync (record them in status first).
 */
import { classify, type Classified } from '../errors/index.js';
import { silentLogger, type Logger } from '../logging/logger.js';
import { noControllerMetrics, noWorkQueueMetrics, type ControllerMetrics, type ReconcileResultLabel, type WorkQueueMetrics } from './metrics-hooks.js';
import { systemClock, type Clock } from './clock.js';
import { WorkQueue } from './work-queue.js';

export interface ReconcileResult {
  /** Run again after this long even if nothing changes (polling a condition the watch cannot see). */
  readonly requeueAfterMs?: number;
  /** Run again with backoff, without it being an error (waiting on something not yet ready). */
  readonly requeue?: boolean;
}

export interface ReconcileContext {
  /** Aborted when the controller stops and its drain deadline has passed. */
  readonly signal: AbortSignal;
  /** Carries `controller` and `key`. */
  readonly logger: Logger;
  /** How many times this key has been retried since it last succeeded. */
  readonly retries: number;
}

export interface Reconciler<K extends string = string> {
  reconcile(key: K, context: ReconcileContext): Promise<ReconcileResult | undefined>;
}

export type ReconcileOutcome = { readonly kind: 'result'; readonly result: ReconcileResult | undefined } | { readonly kind: 'error'; readonly error: unknown };

export type QueueAction =
  /** Done: drop the key's backoff history. */
  | { readonly action: 'forget' }
  /** Forget the backoff, then add the key after a fixed delay. */
  | { readonly action: 'requeue-after'; readonly delayMs: number }
  /** Add the key after its backoff (at least `minDelayMs`). */
  | { readonly action: 'requeue-rate-limited'; readonly minDelayMs: number };

export interface ReconcileDecision {
  readonly queue: QueueAction;
  /** The `result` label of streamkeeper_reconcile_total. */
  readonly result: ReconcileResultLabel;
  /** Set when the pass failed. */
  readonly error?: Classified;
  readonly panic: boolean;
}

const panicTypes = [TypeError, ReferenceError, RangeError, SyntaxError, EvalError, URIError];

/** A programming error rather than a failure of the world: a bug to count and alert on. */
export function isPanic(error: unknown): boolean {
  if (!(error instanceof Error)) return true;
  return panicTypes.some((type) => error.constructor === type);
}

/** Turns the outcome of one reconcile pass into the queue's next step. */
export function decideQueueAction(outcome: ReconcileOutcome): ReconcileDecision {
  if (outcome.kind === 'error') {
    const error = classify(outcome.error);
    const panic = isPanic(outcome.error);
    if (error.kind === 'transient') {
      return { queue: { action: 'requeue-rate-limited', minDelayMs: error.retryAfterMs ?? 0 }, result: 'error', error, panic };
    }
    // Permanent, invalid spec, usage: retrying cannot help; the next change to the object will.
    return { queue: { action: 'forget' }, result: 'error', error, panic };
  }
  const requeueAfterMs = outcome.result?.requeueAfterMs ?? 0;
  if (Number.isFinite(requeueAfterMs) && requeueAfterMs > 0) {
    return { queue: { action: 'requeue-after', delayMs: requeueAfterMs }, result: 'requeue_after', panic: false };
  }
  if (outcome.result?.requeue === true) {
    return { queue: { action: 'requeue-rate-limited', minDelayMs: 0 }, result: 'requeue', panic: false };
  }
  return { queue: { action: 'forget' }, result: 'success', panic: false };
}

export interface ControllerOptions<K extends string> {
  /** The `controller` label of the reconcile metrics. */
  readonly name: string;
  readonly reconciler: Reconciler<K>;
  /** Default: a queue named after the controller with the default rate limiter. */
  readonly queue?: WorkQueue<K>;
  /** Keys processed concurrently (never the same key twice). Default 1. */
  readonly workers?: number;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Where the controller (and its default queue) report; default: nowhere. */
  readonly metrics?: ControllerMetrics & WorkQueueMetrics;
}

export class Controller<K extends string = string> {
  readonly name: string;
  readonly queue: WorkQueue<K>;
  private readonly reconciler: Reconciler<K>;
  private readonly workerCount: number;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly metrics: ControllerMetrics;
  private readonly abort = new AbortController();
  private workers: Promise<void>[] | undefined;

  constructor(options: ControllerOptions<K>) {
    if (options.name === '') throw new RangeError('a controller needs a name (it labels its metrics)');
    const workers = options.workers ?? 1;
    if (!Number.isInteger(workers) || workers < 1) throw new RangeError('workers must be a positive integer');
    this.name = options.name;
    this.reconciler = options.reconciler;
    this.workerCount = workers;
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? silentLogger()).child({ controller: options.name });
    this.metrics = options.metrics ?? noControllerMetrics;
    this.queue = options.queue ?? new WorkQueue<K>({ name: options.name, clock: this.clock, metrics: options.metrics ?? noWorkQueueMetrics });
    this.metrics.controllerStarted(this.name);
  }

  /** Starts the workers; keys may be added before or after. */
  start(): void {
    if (this.workers !== undefined) throw new Error(`controller ${this.name} already started`);
    this.workers = Array.from({ length: this.workerCount }, () => this.runWorker());
    this.logger.info({ workers: this.workerCount }, 'controller started');
  }

  /**
   * Stops taking keys and waits up to `drainTimeoutMs` for passes in flight. Resolves true when
   * they finished; false when the deadline passed (their signal is then aborted).
   */
  async stop(drainTimeoutMs = 30_000): Promise<boolean> {
    const drained = await this.queue.shutDown(drainTimeoutMs);
    if (!drained) {
      this.abort.abort();
      this.logger.warn({ drainTimeoutMs }, 'controller stopped with passes still in flight');
    } else {
      this.logger.info('controller stopped');
    }
    return drained;
  }

  private async runWorker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        await this.processKey(key);
      } finally {
        this.queue.done(key);
      }
    }
  }

  private async processKey(key: K): Promise<void> {
    const logger = this.logger.child({ key });
    const started = this.clock.now();
    let outcome: ReconcileOutcome;
    try {
      const result = await this.reconciler.reconcile(key, { signal: this.abort.signal, logger, retries: this.queue.numRequeues(key) });
      outcome = { kind: 'result', result };
    } catch (error) {
      outcome = { kind: 'error', error };
    }
    const decision = decideQueueAction(outcome);
    this.metrics.passFinished(this.name, decision.result, (this.clock.now() - started) / 1000, decision.error === undefined ? 'none' : decision.panic ? 'panic' : 'error');
    this.record(key, decision, outcome, logger);
    switch (decision.queue.action) {
      case 'forget':
        this.queue.forget(key);
        return;
      case 'requeue-after':
        this.queue.forget(key);
        this.queue.addAfter(key, decision.queue.delayMs);
        return;
      case 'requeue-rate-limited':
        this.queue.addRateLimited(key, decision.queue.minDelayMs);
        return;
    }
  }

  private record(key: K, decision: ReconcileDecision, outcome: ReconcileOutcome, logger: Logger): void {
    if (decision.error === undefined) return;
    const { code, kind, message } = decision.error;
    const retries = this.queue.numRequeues(key);
    if (decision.panic) {
      const error = outcome.kind === 'error' ? outcome.error : undefined;
      logger.error({ err: error instanceof Error ? error : new Error(String(error)), retries }, 'reconcile panicked (a bug); will retry');
    } else if (kind !== 'transient') {
      logger.error({ code, kind }, `reconcile failed, not retrying: ${message}`);
    } else if (code === 'SK_KUBE_CONFLICT') {
      logger.debug({ code, retries }, `reconcile raced another writer; will retry: ${message}`);
    } else {
      logger.warn({ code, retries }, `reconcile failed; will retry: ${message}`);
    }
  }
}
