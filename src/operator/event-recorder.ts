/**
 * Writes events.k8s.io/v1 Events about jobs, without spamming: an Event repeated within the
 * de-duplication window becomes a count on the first one (its `series`), patched at most every
 * `patchIntervalMs`, the way client-go's event correlator aggregates — except that a repeat
 * coming after another Event about the same object is written at once, so that the order of
 * what happened stays true (Running, CoordinationUnavailable, Running again reads so, not as a
 * job last seen unavailable). Recording never fails a reconcile pass: an Event that cannot be
 * written is logged and counted.
 */
import { randomBytes } from 'node:crypto';
import { classify, isStreamkeeperError } from '../errors/index.js';
import type { KubeClient } from '../kube/client.js';
import type { Event } from '../kube/objects.js';
import { silentLogger, type Logger } from '../logging/logger.js';
import { eventsTotal } from '../metrics/index.js';
import { systemClock, type Clock } from '../machinery/clock.js';
import { microTime } from '../machinery/leader-elector.js';

export interface EventRegarding {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

export interface RecordedEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly action: string;
  readonly note: string;
}

export interface EventRecorderOptions {
  readonly client: Pick<KubeClient, 'create' | 'patch'>;
  /** `streamkeeper.io/operator`. */
  readonly reportingController: string;
  /** This replica (its Lease identity). */
  readonly reportingInstance: string;
  /** Repeats within this window count on the first Event. Default 10 minutes. */
  readonly dedupeWindowMs?: number;
  /** A repeated Event's count is written at most this often. Default 30 s. */
  readonly patchIntervalMs?: number;
  /** Distinct Events remembered (least recently seen are forgotten first). Default 4096. */
  readonly maxEntries?: number;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

interface Seen {
  readonly name: string;
  readonly namespace: string;
  count: number;
  lastObservedAt: number;
  lastWrittenAt: number;
}

/** The API server refuses notes over 1 KiB (in bytes, not characters). */
const maxNoteBytes = 1024;

export function truncateNote(note: string): string {
  if (Buffer.byteLength(note) <= maxNoteBytes) return note;
  let cut = note.slice(0, maxNoteBytes);
  while (Buffer.byteLength(`${cut}…`) > maxNoteBytes) cut = cut.slice(0, -1);
  return `${cut}…`;
}

export class EventRecorder {
  private readonly seen = new Map<string, Seen>();
  /** The key of the last Event recorded about each object (by uid), least recently used first. */
  private readonly latest = new Map<string, string>();
  private readonly client: Pick<KubeClient, 'create' | 'patch'>;
  private readonly dedupeWindowMs: number;
  private readonly patchIntervalMs: number;
  private readonly maxEntries: number;
  private readonly clock: Clock;
  private readonly logger: Logger;

  constructor(private readonly options: EventRecorderOptions) {
    this.client = options.client;
    this.dedupeWindowMs = options.dedupeWindowMs ?? 600_000;
    this.patchIntervalMs = options.patchIntervalMs ?? 30_000;
    this.maxEntries = options.maxEntries ?? 4096;
    if (!(this.dedupeWindowMs > 0)) throw new RangeError('dedupeWindowMs must be greater than 0');
    if (!(this.patchIntervalMs >= 0)) throw new RangeError('patchIntervalMs must not be negative');
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? silentLogger()).child({ component: 'event-recorder' });
  }

  /** Records `event` about `regarding`; resolves when written (or given up on), never rejects. */
  async record(regarding: EventRegarding, event: RecordedEvent): Promise<void> {
    const note = truncateNote(event.note);
    const key = `${regarding.uid}\u0000${event.type}\u0000${event.reason}\u0000${note}`;
    const now = this.clock.now();
    const seen = this.seen.get(key);
    const interleaved = this.latest.get(regarding.uid) !== key;
    this.noteLatest(regarding.uid, key);
    try {
      if (seen !== undefined && now - seen.lastObservedAt < this.dedupeWindowMs) {
        this.touch(key, seen);
        seen.count += 1;
        seen.lastObservedAt = now;
        if (now - seen.lastWrittenAt < this.patchIntervalMs && !interleaved) {
          eventsTotal.inc({ type: event.type, outcome: 'aggregated' });
          return;
        }
        await this.writeSeries(regarding, event, note, key, seen, now);
        return;
      }
      await this.create(regarding, event, note, key, now);
    } catch (err) {
      eventsTotal.inc({ type: event.type, outcome: 'failed' });
      this.logger.warn({ reason: event.reason, job: `${regarding.namespace}/${regarding.name}`, err: classify(err).message }, 'could not record an Event');
    }
  }

  private async create(regarding: EventRegarding, event: RecordedEvent, note: string, key: string, now: number): Promise<void> {
    const name = `${regarding.name}.${now.toString(16)}${randomBytes(3).toString('hex')}`;
    const body: Event = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name, namespace: regarding.namespace },
      eventTime: microTime(now),
      reportingController: this.options.reportingController,
      reportingInstance: this.options.reportingInstance,
      action: event.action,
      reason: event.reason,
      type: event.type,
      note,
      regarding: { apiVersion: regarding.apiVersion, kind: regarding.kind, namespace: regarding.namespace, name: regarding.name, uid: regarding.uid },
    };
    await this.client.create('Event', body);
    this.remember(key, { name, namespace: regarding.namespace, count: 1, lastObservedAt: now, lastWrittenAt: now });
    eventsTotal.inc({ type: event.type, outcome: 'created' });
  }

  private async writeSeries(regarding: EventRegarding, event: RecordedEvent, note: string, key: string, seen: Seen, now: number): Promise<void> {
    try {
      await this.client.patch('Event', { namespace: seen.namespace, name: seen.name }, { series: { count: seen.count, lastObservedTime: microTime(now) } });
    } catch (err) {
      // Events expire (an hour by default); a series whose Event is gone starts a new one.
      if (!isStreamkeeperError(err, 'SK_KUBE_NOT_FOUND')) throw err;
      this.seen.delete(key);
      await this.create(regarding, event, note, key, now);
      return;
    }
    seen.lastWrittenAt = now;
    eventsTotal.inc({ type: event.type, outcome: 'aggregated' });
  }

  private touch(key: string, seen: Seen): void {
    this.seen.delete(key);
    this.seen.set(key, seen);
  }

  private noteLatest(uid: string, key: string): void {
    this.latest.delete(uid);
    this.latest.set(uid, key);
    while (this.latest.size > this.maxEntries) {
      const oldest = this.latest.keys().next().value;
      if (oldest === undefined) break;
      this.latest.delete(oldest);
    }
  }

  private remember(key: string, seen: Seen): void {
    this.seen.delete(key);
    this.seen.set(key, seen);
    while (this.seen.size > this.maxEntries) {
      const oldest = this.seen.keys().next().value;
      if (oldest === undefined) break;
      this.seen.delete(oldest);
    }
  }
}
