/**
 * What the demo prints, computed from what it observed: progress lines, the failure timeline and
 * the closing summary. Pure, so the wording and the arithmetic are tested without a cluster.
 */

export function formatCount(value: number): string {
  return value.toLocaleString('en-US');
}

export function formatSeconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(2)} s` : `${(ms / 1000).toFixed(1)} s`;
}

export function formatElapsed(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, '0')}s`;
}

export interface ProgressSample {
  readonly elapsedMs: number;
  readonly phase: string | undefined;
  /** `ready/desired` executors as the status reports them. */
  readonly executors: string | undefined;
  /** The last committed batch (its sequence number). */
  readonly lastBatch: number | undefined;
  readonly produced: number;
  /** Source records the committed batches cover. */
  readonly committed: number;
  /** Source records not yet committed (end offsets minus committed positions). */
  readonly lag: number;
}

export function progressLine(sample: ProgressSample): string {
  return [
    `  ${formatElapsed(sample.elapsedMs).padStart(6)}`,
    `phase ${(sample.phase ?? '-').padEnd(9)}`,
    `executors ${(sample.executors ?? '-').padEnd(5)}`,
    `batch ${sample.lastBatch === undefined ? '-' : String(sample.lastBatch)}`.padEnd(10),
    `produced ${formatCount(sample.produced)}`.padEnd(18),
    `committed ${formatCount(sample.committed)}`.padEnd(19),
    `lag ${formatCount(sample.lag)}`,
  ].join('  ');
}

/** One executor SIGKILLed and what followed, each time measured from the kill. */
export interface FailureObservation {
  readonly pod: string;
  readonly pid: number;
  /** Tasks the executor held unfinished when it was killed. */
  readonly unfinishedTasks: readonly string[];
  /** The pod reported terminated (the node noticed the process exit). */
  readonly podTerminatedMs?: number;
  /** The operator's ExecutorFailed Event appeared. */
  readonly operatorDetectedMs?: number;
  /** Every unfinished task owned by a live executor. */
  readonly rescheduledMs?: number;
  readonly moves: readonly { readonly task: string; readonly to: string; readonly attempt: number }[];
  /** The executor's ephemeral znode gone (its ZooKeeper session expired or was closed). */
  readonly znodeGoneMs?: number;
  /** A new pod of the same name Running and registered in ZooKeeper. */
  readonly replacementMs?: number;
}

/** When streamkeeper first acted on the failure: the earliest of its observable reactions. */
export function detectionMs(failure: FailureObservation): number | undefined {
  const reactions = [failure.rescheduledMs, failure.znodeGoneMs, failure.operatorDetectedMs].filter((ms): ms is number => ms !== undefined);
  return reactions.length === 0 ? undefined : Math.min(...reactions);
}

export interface DemoSummary {
  readonly elapsedMs: number;
  readonly lines: number;
  readonly words: number;
  readonly distinctWords: number;
  readonly partitions: number;
  readonly batches: number | undefined;
  readonly sinkRecords: number;
  readonly failure: FailureObservation;
  readonly exactlyOnce: boolean;
}

export function summaryLines(summary: DemoSummary): string[] {
  const { failure } = summary;
  const detection = detectionMs(failure);
  return [
    'Summary',
    `  input         ${formatCount(summary.lines)} lines, ${formatCount(summary.words)} words (${formatCount(summary.distinctWords)} distinct), ${summary.partitions} partitions`,
    `  output        ${formatCount(summary.sinkRecords)} committed records in the sink, ${summary.batches === undefined ? 'no' : formatCount(summary.batches + 1)} batches`,
    `  failure       executor ${failure.pod} SIGKILLed: detected in ${detection === undefined ? '?' : formatSeconds(detection)}, ` +
      `${failure.unfinishedTasks.length} task${failure.unfinishedTasks.length === 1 ? '' : 's'} rescheduled in ${failure.rescheduledMs === undefined ? (failure.unfinishedTasks.length === 0 ? '-' : '?') : formatSeconds(failure.rescheduledMs)}, ` +
      `replacement up in ${failure.replacementMs === undefined ? '?' : formatSeconds(failure.replacementMs)}`,
    `  exactly once  ${summary.exactlyOnce ? `yes: every word counted exactly as often as it was written (${formatCount(summary.words)} of ${formatCount(summary.words)})` : 'NO: see the differences above'}`,
    `  took          ${formatElapsed(summary.elapsedMs)}`,
  ];
}
