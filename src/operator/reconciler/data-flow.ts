/**
 * Whether the job's data moves, as far as the operator can tell: the cause its driver reports
 * (coordination/progress-report.ts), or — when nobody names one — no batch committed for a
 * bounded multiple of the batch interval while records wait. Pods that are up are not enough for
 * Ready: a job that cannot move data is not healthy, whatever its pods say.
 */
import { parseDuration, type DefaultedStreamingJobSpec } from '../../api/v1alpha1/index.js';
import { blockerReasons, type BlockerReason, type JobProgress } from '../job-coordination.js';

/** No batch for this many batch intervals, with records waiting, is a stall… */
export const stallIntervals = 10;
/** …and never less than this, so a short interval does not call a slow batch a stall. */
export const minStallMs = 60_000;

/** The reason for a stall nobody explains. */
export const noProgressReason = 'NoProgress';

export type DataFlowReason = BlockerReason | typeof noProgressReason;

/**
 * Causes that do not go away by waiting: the user must create a topic, fix credentials, the
 * processor or the data. kstatus and Flux see them as Stalled and stop waiting.
 */
const needsUser: ReadonlySet<string> = new Set<DataFlowReason>(['SourceTopicMissing', 'SinkTopicMissing', 'KafkaAuthorizationFailed', 'KafkaAuthenticationFailed', 'ProcessorFailed', 'PoisonRecord', 'StateLimitExceeded']);

export interface DataFlowProblem {
  readonly reason: DataFlowReason;
  readonly message: string;
  /** Whether only a change by the user can resolve it. */
  readonly needsUser: boolean;
}

const dataFlowReasons: ReadonlySet<string> = new Set<string>([...blockerReasons, noProgressReason]);

/** Whether a Ready reason says the job's data does not move (for the Events that announce it). */
export function isDataFlowReason(reason: string | undefined): boolean {
  return reason !== undefined && dataFlowReasons.has(reason);
}

export function stallAfterMs(spec: DefaultedStreamingJobSpec): number {
  const interval = parseDuration(spec.batchInterval) ?? 0;
  return Math.max(stallIntervals * interval, minStallMs);
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * What keeps the job's data from moving, or undefined when nothing is known to. The stall
 * clock starts at the last commit, or at the driver's start for a job that never committed.
 */
export function dataFlowProblem(spec: DefaultedStreamingJobSpec, progress: JobProgress, now: number): DataFlowProblem | undefined {
  const blocked = progress.blocked;
  if (blocked !== undefined) {
    const field = blocked.field === undefined || blocked.message.includes(blocked.field) ? '' : ` (${blocked.field})`;
    return { reason: blocked.reason, message: `${blocked.message}${field}; since ${blocked.since.replace(/\.\d{3}Z$/, 'Z')}`, needsUser: needsUser.has(blocked.reason) };
  }
  const lag = progress.totalLag;
  if (lag === undefined || lag === 0) return undefined;
  const from = progress.lastCommittedBatch?.committedAt ?? progress.driverStartedAt;
  const fromMs = from === undefined ? Number.NaN : Date.parse(from);
  if (Number.isNaN(fromMs)) return undefined;
  const limit = stallAfterMs(spec);
  if (now - fromMs <= limit) return undefined;
  const since = progress.lastCommittedBatch === undefined ? `since the driver started at ${rfc3339(fromMs)}` : `since batch ${progress.lastCommittedBatch.id} at ${rfc3339(fromMs)}`;
  return {
    reason: noProgressReason,
    message: `no batch committed ${since} (over ${Math.round(limit / 1000)} s: ${stallIntervals} × spec.batchInterval ${spec.batchInterval}, at least ${minStallMs / 1000} s) while ${lag} records wait; ${progress.lastError === undefined ? 'the driver and executors name no cause — see their logs' : `no cause named; the driver's last error: ${progress.lastError}`}`,
    needsUser: false,
  };
}
