/**
 * A client-go style informer: list, then watch from the list's resourceVersion, keeping a local
 * cache of the objects so reconcilers read without calling the API server. On 410 Gone it lists
 * again at once; on a dropped watch it lists again after a backoff; when the server simply ends
 * a watch it resumes from the last version seen. A periodic resync replays every cached object.
 *
 * Handlers run synchronously on the informer's loop and must only turn the event into queue
 * keys (`queue.add(objectKey(...))`, or the owning job's key for a Pod) — never act there.
 * Objects handed to handlers and returned by the cache are shared: read them, never mutate them
 * (copy with structuredClone before building an update).
 * On resync, and for objects re-listed after a reconnect, `onUpdate(previous, current)` is called
 * (with previous === current on resync).
 */
import { isStreamkeeperError } from '../errors/index.js';
import type { KubeClient, ObjectList, WatchEvent } from '../kube/client.js';
import { objectKey, refOf, type KubeObject, type ObjectRef, type Stored } from '../kube/objects.js';
import type { Kind, KindObjects } from '../kube/resources.js';
import { silentLogger, type Logger } from '../logging/logger.js';
import { backoffDelay, validateBackoff, type BackoffPolicy } from './backoff.js';
import { isAborted, sleep, systemClock, type Clock, type Timer } from './clock.js';

export interface ListerWatcher<T extends KubeObject> {
  list(): Promise<ObjectList<T>>;
  watch(resourceVersion: string, signal: AbortSignal): AsyncIterable<WatchEvent<T>>;
}

export interface ListWatchScope {
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

/**
 * Lists and watches one kind through a KubeClient, within an optional scope. Each watch asks the
 * server to end it after 5–10 minutes (spread so informers do not reconnect together), which
 * bounds how long a silently dead connection goes unnoticed.
 */
export function listerWatcher<K extends Kind>(client: KubeClient, kind: K, scope: ListWatchScope = {}, random: () => number = Math.random): ListerWatcher<KindObjects[K]> {
  return {
    list: () => client.list(kind, scope),
    watch: (resourceVersion, signal) => client.watch(kind, { ...scope, resourceVersion, signal, timeoutSeconds: Math.round(300 + 300 * random()) }),
  };
}

export interface InformerHandler<T extends KubeObject> {
  onAdd?(object: Stored<T>): void;
  onUpdate?(previous: Stored<T>, current: Stored<T>): void;
  /** The last state the informer knew (from the DELETED event, or its cache after a re-list). */
  onDelete?(object: Stored<T>): void;
}

export interface InformerOptions<T extends KubeObject> {
  /** For logs: `pods`, `streamingjobs`. */
  readonly name: string;
  readonly listerWatcher: ListerWatcher<T>;
  /** Replay every cached object this often; 0 turns resync off. Default 0. */
  readonly resyncPeriodMs?: number;
  /** Wait before re-listing after a failure. Default 1 s doubling to 30 s. */
  readonly backoff?: BackoffPolicy;
  /** A watch that ends normally sooner than this, having delivered nothing, is backed off. */
  readonly minWatchMs?: number;
  readonly clock?: Clock;
  readonly random?: () => number;
  readonly logger?: Logger;
}

type IndexFunction<T extends KubeObject> = (object: Stored<T>) => readonly string[];

interface Index<T extends KubeObject> {
  readonly compute: IndexFunction<T>;
  readonly entries: Map<string, Set<string>>;
}

export class Informer<T extends KubeObject> {
  readonly name: string;
  private readonly source: ListerWatcher<T>;
  private readonly resyncPeriodMs: number;
  private readonly backoff: BackoffPolicy;
  private readonly minWatchMs: number;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly logger: Logger;
  private readonly cache = new Map<string, Stored<T>>();
  private readonly indexes = new Map<string, Index<T>>();
  private readonly handlers = new Set<InformerHandler<T>>();
  private readonly syncWaiters: (() => void)[] = [];
  private synced = false;
  private lastResourceVersion = '';
  private failures = 0;
  private lists = 0;
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private resyncTimer: Timer | undefined;

  constructor(options: InformerOptions<T>) {
    this.name = options.name;
    this.source = options.listerWatcher;
    this.resyncPeriodMs = options.resyncPeriodMs ?? 0;
    if (!(this.resyncPeriodMs >= 0)) throw new RangeError('resyncPeriodMs must be 0 (off) or positive');
    this.backoff = validateBackoff(options.backoff ?? { initialMs: 1000, maxMs: 30_000 });
    this.minWatchMs = options.minWatchMs ?? 1000;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.logger = (options.logger ?? silentLogger()).child({ informer: options.name });
  }

  // ------------------------------------------------------------------ reading the cache ----

  /** True once the first list is in the cache (and its handlers have run). */
  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves when synced, or when `signal` aborts (check `hasSynced()`). */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.synced || signal?.aborted === true) return Promise.resolve();
    return new Promise((resolve) => {
      this.syncWaiters.push(resolve);
      signal?.addEventListener('abort', () => {
        resolve();
      }, { once: true });
    });
  }

  /** The resourceVersion the cache is at. */
  get resourceVersion(): string {
    return this.lastResourceVersion;
  }

  /** How many times the informer has listed (1 after start; more after Gone or failures). */
  get listCount(): number {
    return this.lists;
  }

  get(ref: ObjectRef): Stored<T> | undefined {
    return this.cache.get(objectKey(ref));
  }

  getByKey(key: string): Stored<T> | undefined {
    return this.cache.get(key);
  }

  list(namespace?: string): Stored<T>[] {
    const all = [...this.cache.values()];
    return namespace === undefined ? all : all.filter((object) => object.metadata.namespace === namespace);
  }

  keys(): string[] {
    return [...this.cache.keys()];
  }

  /** Adds a secondary index (for example pods by owning job); objects are indexed from now on. */
  addIndex(name: string, compute: IndexFunction<T>): void {
    if (this.indexes.has(name)) throw new Error(`informer ${this.name} already has an index "${name}"`);
    const index: Index<T> = { compute, entries: new Map() };
    this.indexes.set(name, index);
    for (const [key, object] of this.cache) this.indexInto(index, key, object);
  }

  byIndex(name: string, value: string): Stored<T>[] {
    const index = this.indexes.get(name);
    if (index === undefined) throw new Error(`informer ${this.name} has no index "${name}"`);
    return [...(index.entries.get(value) ?? [])].flatMap((key) => {
      const object = this.cache.get(key);
      return object === undefined ? [] : [object];
    });
  }

  // ------------------------------------------------------------------ handlers and lifecycle ----

  /** Registers handlers; if already synced, `onAdd` runs for every cached object first. */
  addHandler(handler: InformerHandler<T>): () => void {
    this.handlers.add(handler);
    if (this.synced && handler.onAdd !== undefined) {
      for (const object of this.cache.values()) this.call(handler, 'onAdd', () => handler.onAdd?.(object));
    }
    return () => {
      this.handlers.delete(handler);
    };
  }

  start(): void {
    if (this.loop !== undefined) throw new Error(`informer ${this.name} already started`);
    const abort = new AbortController();
    this.abort = abort;
    this.loop = this.run(abort.signal).catch((err: unknown) => {
      this.logger.error({ err }, 'informer loop ended unexpectedly');
    });
  }

  async stop(): Promise<void> {
    this.abort?.abort();
    this.resyncTimer?.cancel();
    this.resyncTimer = undefined;
    await this.loop;
    for (const resolve of this.syncWaiters.splice(0)) resolve();
  }

  // ------------------------------------------------------------------ the loop ----

  private async run(signal: AbortSignal): Promise<void> {
    while (!isAborted(signal)) {
      let listed: ObjectList<T>;
      try {
        listed = await this.source.list();
      } catch (err) {
        if (isAborted(signal)) return;
        this.logger.warn({ err: String(err) }, 'list failed; retrying with backoff');
        await this.waitBeforeRetry(signal);
        continue;
      }
      if (isAborted(signal)) return;
      this.lists++;
      this.replace(listed);
      const ended = await this.watchUntilBroken(signal);
      if (ended === 'failed') await this.waitBeforeRetry(signal);
    }
  }

  /** Watches (and re-watches after normal ends) until the watch breaks or the informer stops. */
  private async watchUntilBroken(signal: AbortSignal): Promise<'gone' | 'failed' | 'stopped'> {
    while (!isAborted(signal)) {
      const started = this.clock.now();
      let received = 0;
      try {
        for await (const event of this.source.watch(this.lastResourceVersion, signal)) {
          received++;
          this.apply(event);
        }
      } catch (err) {
        if (isAborted(signal)) return 'stopped';
        if (isStreamkeeperError(err, 'SK_KUBE_GONE')) {
          this.logger.info({ resourceVersion: this.lastResourceVersion }, 'watch expired (410 Gone); listing again');
          return 'gone';
        }
        this.logger.warn({ err: String(err) }, 'watch failed; listing again after backoff');
        return 'failed';
      }
      if (isAborted(signal)) return 'stopped';
      if (received > 0 || this.clock.now() - started >= this.minWatchMs) {
        this.failures = 0;
      } else {
        // A watch that closes at once, with nothing in it, must not become a hot loop.
        await this.waitBeforeRetry(signal);
      }
    }
    return 'stopped';
  }

  private async waitBeforeRetry(signal: AbortSignal): Promise<void> {
    const delay = backoffDelay(this.failures, this.backoff, this.random);
    this.failures++;
    await sleep(this.clock, delay, signal);
  }

  /** Makes the cache equal to a fresh list, telling handlers what changed. */
  private replace(listed: ObjectList<T>): void {
    const seen = new Set<string>();
    for (const object of listed.items) {
      const key = objectKey(refOf(object));
      seen.add(key);
      const previous = this.cache.get(key);
      this.store(key, object);
      if (previous === undefined) this.notifyAdd(object);
      else if (previous.metadata.resourceVersion !== object.metadata.resourceVersion) this.notifyUpdate(previous, object);
    }
    for (const [key, object] of [...this.cache]) {
      if (!seen.has(key)) {
        this.unstore(key, object);
        this.notifyDelete(object);
      }
    }
    this.lastResourceVersion = listed.resourceVersion;
    if (!this.synced) {
      this.synced = true;
      this.logger.info({ objects: this.cache.size, resourceVersion: listed.resourceVersion }, 'cache synced');
      for (const resolve of this.syncWaiters.splice(0)) resolve();
      this.scheduleResync();
    }
  }

  private apply(event: WatchEvent<T>): void {
    if (event.type === 'BOOKMARK') {
      this.lastResourceVersion = event.resourceVersion;
      return;
    }
    const object = event.object;
    const key = objectKey(refOf(object));
    const previous = this.cache.get(key);
    if (event.type === 'DELETED') {
      if (previous !== undefined) this.unstore(key, previous);
      this.notifyDelete(object);
    } else {
      this.store(key, object);
      if (previous === undefined) this.notifyAdd(object);
      else this.notifyUpdate(previous, object);
    }
    this.lastResourceVersion = object.metadata.resourceVersion;
  }

  private scheduleResync(): void {
    if (this.resyncPeriodMs <= 0 || this.abort?.signal.aborted !== false) return;
    this.resyncTimer = this.clock.setTimer(this.resyncPeriodMs, () => {
      if (this.abort?.signal.aborted !== false) return;
      for (const object of this.cache.values()) this.notifyUpdate(object, object);
      this.scheduleResync();
    });
  }

  // ------------------------------------------------------------------ cache and handlers ----

  private store(key: string, object: Stored<T>): void {
    const previous = this.cache.get(key);
    if (previous !== undefined) for (const index of this.indexes.values()) this.unindex(index, key, previous);
    this.cache.set(key, object);
    for (const index of this.indexes.values()) this.indexInto(index, key, object);
  }

  private unstore(key: string, object: Stored<T>): void {
    this.cache.delete(key);
    for (const index of this.indexes.values()) this.unindex(index, key, object);
  }

  private indexInto(index: Index<T>, key: string, object: Stored<T>): void {
    for (const value of index.compute(object)) {
      let keys = index.entries.get(value);
      if (keys === undefined) {
        keys = new Set();
        index.entries.set(value, keys);
      }
      keys.add(key);
    }
  }

  private unindex(index: Index<T>, key: string, object: Stored<T>): void {
    for (const value of index.compute(object)) {
      const keys = index.entries.get(value);
      keys?.delete(key);
      if (keys?.size === 0) index.entries.delete(value);
    }
  }

  private notifyAdd(object: Stored<T>): void {
    for (const handler of this.handlers) this.call(handler, 'onAdd', () => handler.onAdd?.(object));
  }

  private notifyUpdate(previous: Stored<T>, current: Stored<T>): void {
    for (const handler of this.handlers) this.call(handler, 'onUpdate', () => handler.onUpdate?.(previous, current));
  }

  private notifyDelete(object: Stored<T>): void {
    for (const handler of this.handlers) this.call(handler, 'onDelete', () => handler.onDelete?.(object));
  }

  /** A throwing handler is a bug in the handler; it must not stop the informer. */
  private call(_handler: InformerHandler<T>, what: string, run: () => void): void {
    try {
      run();
    } catch (err) {
      this.logger.error({ err, handler: what }, 'informer handler threw');
    }
  }
}
