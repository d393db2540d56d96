import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../../../src/logging/logger.js';
import type { InputRecord, ProcessFunction, ProcessorContext } from '../../../../src/runtime/processors/api.js';
import { ProcessorRegistry, loadProcessorModule, runProcessor, toSinkRecords } from '../../../../src/runtime/processors/processor-runner.js';

const records: InputRecord[] = [1, 2, 3, 4].map((offset) => ({ topic: 'in', partition: 2, offset, key: null, value: Buffer.from(offset === 3 ? 'bad' : `v${offset}`), headers: [], timestamp: 0 }));

const context: Omit<ProcessorContext, 'reject'> = {
  job: { namespace: 'ns', name: 'job' },
  batchId: '0000000001',
  taskId: '0000000001-00000',
  topic: 'in',
  partition: 2,
  attempt: 1,
  params: { suffix: '!' },
  config: { greeting: 'hi' },
  logger: silentLogger(),
};

/** Throws on a batch containing "bad" (as a processor without per-record care would). */
const throwsOnBad: ProcessFunction = (batch) => {
  if (batch.some((r) => r.value?.toString() === 'bad')) throw new Error('cannot parse "bad"');
  return batch.map((r) => ({ value: `${r.value?.toString() ?? ''}!` }));
};

/** Rejects "bad" through the context and counts the rest (an aggregation). */
const rejectsBad: ProcessFunction = (batch, ctx) => {
  let n = 0;
  for (const r of batch) {
    if (r.value?.toString() === 'bad') ctx.reject(r, new Error('not a number'));
    else n += 1;
  }
  return [{ key: 'count', value: String(n) }];
};

describe('runProcessor', () => {
  it('fails the task on the first poison record with policy fail, naming its offset', async () => {
    await expect(runProcessor(rejectsBad, records, context, 'fail')).rejects.toMatchObject({ code: 'SK_POISON_RECORD', message: expect.stringContaining('in/2@3: not a number') });
  });

  it('fails the task when the processor throws with policy fail', async () => {
    await expect(runProcessor(throwsOnBad, records, context, 'fail')).rejects.toMatchObject({ code: 'SK_PROCESSOR_ERROR', message: expect.stringContaining('cannot parse "bad"') });
  });

  it('keeps a batch processor\'s output and hands over the records it rejected', async () => {
    const result = await runProcessor(rejectsBad, records, context, 'skip');
    expect(result.outputs.map((o) => o.value?.toString())).toEqual(['3']);
    expect(result.poison).toEqual([{ record: records[2], error: 'not a number' }]);
  });

  it('finds the records a processor throws on by running it record by record', async () => {
    const result = await runProcessor(throwsOnBad, records, context, 'deadLetter');
    expect(result.outputs.map((o) => o.value?.toString())).toEqual(['v1!', 'v2!', 'v4!']);
    expect(result.poison.map((p) => [p.record.offset, p.error])).toEqual([[3, 'cannot parse "bad"']]);
  });

  it('fails the task whatever the policy when the output cannot be written', async () => {
    const invalid = (() => [{ value: 42 }]) as unknown as ProcessFunction;
    await expect(runProcessor(invalid, records, context, 'skip')).rejects.toMatchObject({ code: 'SK_PROCESSOR_ERROR' });
  });

  it('passes params, config and ids to the processor', async () => {
    let seen: ProcessorContext | undefined;
    await runProcessor((batch, ctx) => { seen = ctx; return []; }, records, context, 'fail');
    expect(seen).toMatchObject({ params: { suffix: '!' }, config: { greeting: 'hi' }, batchId: '0000000001', partition: 2 });
  });
});

describe('toSinkRecords', () => {
  it('writes strings as UTF-8 and keeps buffers, headers and timestamps', () => {
    expect(toSinkRecords([{ key: 'k', value: Buffer.from('v'), headers: [{ key: 'h', value: 'x' }], timestamp: 5 }, { value: null }])).toEqual([
      { key: Buffer.from('k'), value: Buffer.from('v'), headers: [{ key: 'h', value: Buffer.from('x') }], timestamp: 5 },
      { key: null, value: null, headers: [] },
    ]);
  });

  it('refuses something that is not an array', () => {
    expect(() => toSinkRecords({ value: 'x' })).toThrow(expect.objectContaining({ code: 'SK_PROCESSOR_ERROR' }));
  });
});

describe('processor modules', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sk-processor-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const module = (name: string, source: string): string => {
    const path = join(dir, name);
    writeFileSync(path, source);
    return path;
  };

  it.each<[string, string]>([
    ['a named process export', 'export function process(records, ctx) { return records.map((r) => ({ value: ctx.params.prefix + r.value.toString() })); }'],
    ['a default function', 'export default async (records, ctx) => records.map((r) => ({ value: ctx.params.prefix + r.value.toString() }));'],
    ['a default object with process', 'export default { prefix: "", process(records, ctx) { return records.map((r) => ({ value: this.prefix + ctx.params.prefix + r.value.toString() })); } };'],
  ])('loads %s', async (name, source) => {
    const process = await loadProcessorModule(module(`${name.replace(/\W+/g, '-')}.mjs`, source));
    const result = await runProcessor(process, records.slice(0, 1), { ...context, params: { prefix: '>' } }, 'fail');
    expect(result.outputs.map((o) => o.value?.toString())).toEqual(['>v1']);
  });

  it('refuses a module without a process function', async () => {
    await expect(loadProcessorModule(module('empty.mjs', 'export const x = 1;'))).rejects.toMatchObject({ code: 'SK_PROCESSOR_ERROR', field: 'spec.processor.module' });
  });

  it('reports a module that cannot be loaded', async () => {
    await expect(loadProcessorModule(join(dir, 'missing.mjs'))).rejects.toMatchObject({ code: 'SK_PROCESSOR_ERROR' });
  });

  it('resolves builtins by name and modules by absolute path', async () => {
    const registry = new ProcessorRegistry();
    const passthrough = await registry.resolve('passthrough', {});
    expect(await passthrough(records.slice(0, 1), { ...context, reject: () => undefined })).toHaveLength(1);
    const path = module('upper.mjs', 'export const process = (rs) => rs.map((r) => ({ value: r.value.toString().toUpperCase() }));');
    expect(await registry.resolve(path, {})).toBe(await registry.resolve(path, {}));
    await expect(registry.resolve('uppercase', {})).rejects.toMatchObject({ code: 'SK_INVALID_SPEC' });
  });
});
