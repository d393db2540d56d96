/**
 * Runs a processor over a task's records and sorts out what failed: records the processor
 * rejected or threw on (poison records) go to `failurePolicy.poisonRecords`, output that cannot
 * be written fails the task whatever the policy (it is a processor bug, not bad data). Processors
 * are resolved here too: a builtin by name, or a module by absolute path.
 */
import { pathToFileURL } from 'node:url';
import type { PoisonRecordPolicy } from '../../coordination/config-mirror.js';
import { StreamkeeperError, isStreamkeeperError } from '../../errors/index.js';
import type { RecordHeader } from '../kafka/index.js';
import type { InputRecord, OutputRecord, ProcessFunction, ProcessorContext } from './api.js';
import { builtinProcessor, isBuiltinProcessor } from './builtins.js';

/** An output record ready for the producer. */
export interface SinkRecord {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly RecordHeader[];
  readonly timestamp?: number;
}

export interface PoisonRecord {
  readonly record: InputRecord;
  readonly error: string;
}

export interface ProcessingResult {
  readonly outputs: readonly SinkRecord[];
  /** Records handled by the skip or deadLetter policy, in offset order. */
  readonly poison: readonly PoisonRecord[];
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function toBuffer(value: unknown, what: string): Buffer | null {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (value instanceof Uint8Array) return Buffer.from(value);
  throw new StreamkeeperError('SK_PROCESSOR_ERROR', `the processor returned a record whose ${what} is a ${typeof value}; use a string, a Buffer or null`);
}

/** Shared by every output record without headers (most), instead of one empty array each. */
const noHeaders: readonly RecordHeader[] = Object.freeze([]);

/** Checks and converts what a processor returned. */
export function toSinkRecords(outputs: unknown): SinkRecord[] {
  if (!Array.isArray(outputs)) throw new StreamkeeperError('SK_PROCESSOR_ERROR', `the processor returned ${outputs === null ? 'null' : typeof outputs} instead of an array of records`);
  return outputs.map((output: unknown, index) => {
    if (output === null || typeof output !== 'object') throw new StreamkeeperError('SK_PROCESSOR_ERROR', `output record ${index} is not an object`);
    const record = output as OutputRecord;
    const headers = record.headers === undefined || record.headers.length === 0 ? noHeaders : record.headers.map((h) => {
      const value = toBuffer(h.value, `header ${h.key}`);
      if (typeof h.key !== 'string' || value === null) throw new StreamkeeperError('SK_PROCESSOR_ERROR', `output record ${index} has a header without a string key and a value`);
      return { key: h.key, value };
    });
    const { timestamp } = record;
    if (timestamp !== undefined && (typeof timestamp !== 'number' || !Number.isFinite(timestamp) || timestamp < 0)) {
      throw new StreamkeeperError('SK_PROCESSOR_ERROR', `output record ${index} has an invalid timestamp`);
    }
    return { key: toBuffer(record.key, 'key'), value: toBuffer(record.value, 'value'), headers, ...(timestamp === undefined ? {} : { timestamp }) };
  });
}

function poisonError(record: InputRecord, reason: string): StreamkeeperError {
  return new StreamkeeperError('SK_POISON_RECORD', `record ${record.topic}/${record.partition}@${record.offset}: ${reason} (failurePolicy.poisonRecords: fail)`);
}

/**
 * Runs `process` over `records`. With policy `fail` the first poison record fails the task.
 * With `skip` or `deadLetter`, a processor that throws is run again one record at a time, so
 * that exactly the records it throws on are poison and the others' output is kept.
 */
export async function runProcessor(process: ProcessFunction, records: readonly InputRecord[], context: Omit<ProcessorContext, 'reject'>, policy: PoisonRecordPolicy): Promise<ProcessingResult> {
  const rejected = new Map<InputRecord, string>();
  const reject = (record: InputRecord, reason: unknown): void => {
    if (!rejected.has(record)) rejected.set(record, describe(reason));
  };
  const run = async (input: readonly InputRecord[]): Promise<SinkRecord[]> => toSinkRecords(await process(input, { ...context, reject }));
  let outputs: SinkRecord[];
  try {
    outputs = await run(records);
  } catch (err) {
    if (isStreamkeeperError(err, 'SK_PROCESSOR_ERROR')) throw err;
    if (policy === 'fail' || records.length === 0) {
      throw new StreamkeeperError('SK_PROCESSOR_ERROR', `the processor failed on ${context.topic}/${context.partition} [${records[0]?.offset ?? '-'}, ${records.at(-1)?.offset ?? '-'}]: ${describe(err)}`, { cause: err });
    }
    context.logger.warn({ err: describe(err), records: records.length }, 'the processor threw; running it again record by record to find the poison records');
    outputs = [];
    for (const record of records) {
      if (rejected.has(record)) continue;
      try {
        outputs.push(...(await run([record])));
      } catch (single) {
        if (isStreamkeeperError(single, 'SK_PROCESSOR_ERROR')) throw single;
        reject(record, single);
      }
    }
  }
  const poison = records.filter((r) => rejected.has(r)).map((record) => ({ record, error: rejected.get(record) ?? '' }));
  const first = poison[0];
  if (policy === 'fail' && first !== undefined) throw poisonError(first.record, first.error);
  return { outputs, poison };
}

/** Resolves processors by name (builtins) or path (modules); modules are imported once. */
export class ProcessorRegistry {
  private readonly modules = new Map<string, Promise<ProcessFunction>>();

  async resolve(name: string, params: Readonly<Record<string, string>>): Promise<ProcessFunction> {
    if (isBuiltinProcessor(name)) return builtinProcessor(name, params);
    if (!name.startsWith('/')) throw new StreamkeeperError('SK_INVALID_SPEC', `"${name}" is neither a builtin processor nor an absolute module path`, { field: 'spec.processor' });
    let loading = this.modules.get(name);
    if (loading === undefined) {
      loading = loadProcessorModule(name);
      this.modules.set(name, loading);
      // A module that failed to load (e.g. not there yet) is tried again by the next task.
      loading.catch(() => this.modules.delete(name));
    }
    return loading;
  }
}

/**
 * Imports a processor module: its `process` export, else its default export when that is a
 * function, else the default export's `process`.
 */
export async function loadProcessorModule(path: string): Promise<ProcessFunction> {
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (err) {
    throw new StreamkeeperError('SK_PROCESSOR_ERROR', `cannot load the processor module ${path}: ${describe(err)}`, { field: 'spec.processor.module', cause: err });
  }
  const candidates = [loaded.process, loaded.default, (loaded.default as { process?: unknown } | undefined)?.process];
  const found = candidates.find((c): c is ProcessFunction => typeof c === 'function');
  if (found === undefined) throw new StreamkeeperError('SK_PROCESSOR_ERROR', `the processor module ${path} exports no process function (export \`process\`, or a default function)`, { field: 'spec.processor.module' });
  const owner = typeof loaded.default === 'object' && found === (loaded.default as { process?: unknown }).process ? loaded.default : undefined;
  return owner === undefined ? found : found.bind(owner);
}
