/**
 * The driver's watermark decisions for a windowed aggregation, as pure functions. The watermark
 * is the greatest event time the job committed minus allowedLateness; it only moves forward, is
 * computed when a batch is planned and recorded with it, so every attempt of the batch's tasks —
 * retried, moved, or run by a restarted driver — uses the same one.
 *
 * An idle job (no source record for idleTimeout) would otherwise keep its last windows open
 * forever: then the watermark moves on with the wall clock since the last records, as if event
 * time kept pace with it.
 */
import type { Windowing } from './windows.js';

export interface WatermarkInput {
  /** Greatest event time committed so far (epoch ms); undefined before any. */
  readonly maxEventTime: number | undefined;
  /** The watermark of the last committed batch; undefined before any. */
  readonly previous: number | undefined;
  readonly allowedLatenessMs: number;
  /** 0: the watermark never moves without records. */
  readonly idleTimeoutMs: number;
  /** When source records were last committed (epoch ms). */
  readonly recordsSeenAt: number | undefined;
  readonly now: number;
}

/** The next batch's watermark, or undefined while no event time was seen. */
export function nextWatermark(input: WatermarkInput): number | undefined {
  const { maxEventTime, previous, allowedLatenessMs, idleTimeoutMs, recordsSeenAt, now } = input;
  if (maxEventTime === undefined) return previous;
  let candidate = maxEventTime - allowedLatenessMs;
  const idleFor = recordsSeenAt === undefined ? 0 : now - recordsSeenAt;
  if (idleTimeoutMs > 0 && idleFor >= idleTimeoutMs) candidate += idleFor;
  return previous === undefined ? candidate : Math.max(previous, candidate);
}

/** The end of the last window holding event time `t`. */
function lastWindowEnd(t: number, windowing: Windowing): number {
  return Math.floor(t / windowing.advanceMs) * windowing.advanceMs + windowing.sizeMs;
}

/** How many window ends are at or before `watermark` (windows end at k * advance + size). */
function endsReached(watermark: number, windowing: Windowing): number {
  return Math.floor((watermark - windowing.sizeMs) / windowing.advanceMs);
}

/**
 * Whether a batch must run every state partition even without new records: the watermark passed
 * a window end since the previous batch, and some window may still be open (one holding the
 * greatest event time ends after the previous watermark). Bounded: at most one such batch per
 * advance while idle, and none once every window that can hold a record is closed.
 */
export function closesWindows(previous: number | undefined, next: number | undefined, maxEventTime: number | undefined, windowing: Windowing): boolean {
  if (next === undefined || maxEventTime === undefined) return false;
  if (previous !== undefined && (next <= previous || previous >= lastWindowEnd(maxEventTime, windowing))) return false;
  return previous === undefined || endsReached(next, windowing) > endsReached(previous, windowing);
}

/** The greatest of `previous` and the tasks' reported event times. */
export function foldMaxEventTime(previous: number | undefined, reported: readonly (number | undefined)[]): number | undefined {
  let max = previous;
  for (const t of reported) if (t !== undefined && (max === undefined || t > max)) max = t;
  return max;
}
