/**
 * The processor API: what a processor module (`spec.processor.module`) exports and receives.
 * Free of runtime internals, so that module authors can copy these types (docs/runtime.md).
 */

export interface ProcessorHeader {
  readonly key: string;
  readonly value: Buffer;
}

/** One source record, as read (read_committed) from its partition. */
export interface InputRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly ProcessorHeader[];
  /** Milliseconds since the epoch. */
  readonly timestamp: number;
}

/** One record for the sink topic. Strings are written as UTF-8. */
export interface OutputRecord {
  readonly key?: Buffer | string | null;
  readonly value: Buffer | string | null;
  readonly headers?: readonly { readonly key: string; readonly value: Buffer | string }[];
  /** Milliseconds since the epoch; the producer's clock when omitted. */
  readonly timestamp?: number;
}

/** Structured logging into the executor's log (JSON lines), tagged with the job, batch and task. */
export interface ProcessorLogger {
  debug(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

export interface ProcessorContext {
  readonly job: { readonly namespace: string; readonly name: string };
  readonly batchId: string;
  readonly taskId: string;
  readonly topic: string;
  readonly partition: number;
  /** 1 for the first run of the task, higher for retries. */
  readonly attempt: number;
  /** `spec.processor.params`, as the batch was planned with. */
  readonly params: Readonly<Record<string, string>>;
  /** The job's `spec.config` map. */
  readonly config: Readonly<Record<string, string>>;
  readonly logger: ProcessorLogger;
  /**
   * Declares `record` malformed (a poison record): it is then handled by
   * `spec.failurePolicy.poisonRecords` — the task fails, the record is skipped (counted and
   * logged), or it goes to the dead-letter topic. Processors whose output depends on the whole
   * batch (aggregations) should reject bad records this way rather than throw: a throw makes the
   * runtime re-run the processor one record at a time to find the bad ones.
   */
  reject(record: InputRecord, reason: unknown): void;
}

/**
 * Turns a task's records (one partition's committed records in an offset range, in offset
 * order) into output records. May be async. Must be deterministic for exactly-once output to mean
 * "the same output": a retried task runs it again over the same records.
 */
export type ProcessFunction = (records: readonly InputRecord[], context: ProcessorContext) => readonly OutputRecord[] | Promise<readonly OutputRecord[]>;
