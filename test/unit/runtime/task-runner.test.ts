import { beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { TaskRecord } from '../../../src/coordination/task-state.js';
import type { ProcessingSettings } from '../../../src/runtime/job-settings.js';
import { InMemoryKafka } from '../../../src/testing/index.js';
import { consumerGroupId, groupTransactionalId, taskTransactionalId, transactionalId } from '../../../src/runtime/kafka-names.js';
import type { ExecutorObserver, PoisonAction } from '../../../src/runtime/observer.js';
import type { ProcessFunction } from '../../../src/runtime/processors/api.js';
import { ProcessorRegistry } from '../../../src/runtime/processors/processor-runner.js';
import { TaskRunner, chunkRecords, deadLetterHeaders, type TaskAssignment } from '../../../src/runtime/task-runner.js';

const job = { namespace: 'team-a', name: 'upper' };
const group = consumerGroupId(job);

/** Upper-cases values; rejects values that start with "!" as poison. A gate can hold it mid-task. */
class TestProcessors extends ProcessorRegistry {
  gate: Promise<void> | undefined;
  calls = 0;

  override resolve(name: string, params: Readonly<Record<string, string>>): Promise<ProcessFunction> {
    if (name !== 'upper') return super.resolve(name, params);
    const process: ProcessFunction = async (records, ctx) => {
      this.calls += 1;
      await this.gate;
      return records.flatMap((r) => {
        const text = r.value?.toString() ?? '';
        if (text.startsWith('!')) {
          ctx.reject(r, new Error(`cannot shout ${text}`));
          return [];
        }
        return [{ key: r.key, value: text.toUpperCase() }];
      });
    };
    return Promise.resolve(process);
  }
}

class Counting implements ExecutorObserver {
  read = 0;
  written = 0;
  readonly poison: Partial<Record<PoisonAction, number>> = {};
  recordsRead(n: number): void {
    this.read += n;
  }
  recordsWritten(n: number): void {
    this.written += n;
  }
  poisonRecords(action: PoisonAction, n: number): void {
    this.poison[action] = (this.poison[action] ?? 0) + n;
  }
}

const settings = (overrides: Partial<ProcessingSettings> = {}): ProcessingSettings => ({ processor: 'upper', params: {}, sinkTopic: 'out', delivery: 'exactlyOnce', poisonRecords: 'fail', ...overrides });

function task(from: number, to: number, attempt = 1, owner = 'e-0'): TaskRecord {
  return { id: '0000000001-00000', batch: '0000000001', ranges: [{ topic: 'in', partition: 0, from: String(from), to: String(to) }], state: 'assigned', owner, attempt, failures: attempt - 1 };
}

function assignment(t: TaskRecord, overrides: Partial<ProcessingSettings> = {}, stillHeld = true): TaskAssignment {
  return { job, task: t, settings: settings(overrides), config: {}, stillHeld: () => Promise.resolve(stillHeld) };
}

describe('TaskRunner', () => {
  let kafka: InMemoryKafka;
  let processors: TestProcessors;
  let observer: Counting;
  const runner = (): TaskRunner => new TaskRunner({ source: kafka.client(), sink: kafka.client(), processors, observer });
  const output = (topic = 'out', partitions = topic === 'out' ? 2 : 1): string[] => Array.from({ length: partitions }, (_v, p) => p).flatMap((p) => kafka.visibleRecords(topic, p).map((r) => r.value?.toString() ?? ''));

  beforeEach(async () => {
    kafka = new InMemoryKafka();
    processors = new TestProcessors();
    observer = new Counting();
    kafka.createTopic('in', 1);
    kafka.createTopic('out', 2);
    kafka.createTopic('dlq', 1);
    const producer = await kafka.client().producer();
    await producer.send('in', 0, ['a', 'b', '!c', 'd', 'e', 'f'].map((v, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(v) })));
  });

  it('commits the output and the partition\'s offset in one transaction', async () => {
    const result = await runner().run(assignment(task(0, 2)));
    expect(result).toEqual({ kind: 'processed', read: 2, written: 2, skipped: 0, deadLettered: 0 });
    expect(output().sort()).toEqual(['A', 'B']);
    expect(kafka.committedOffsets(group, 'in').get(0)).toBe(2);
    expect(kafka.openTransactions()).toEqual([]);
  });

  it('does not process again a range whose commit went through although its reply was lost', async () => {
    kafka.failNext('transaction.commit', { afterApplying: true });
    await expect(runner().run(assignment(task(0, 2)))).rejects.toMatchObject({ code: 'SK_KAFKA_ERROR' });
    const retry = await runner().run(assignment(task(0, 2, 2, 'e-1')));
    expect(retry).toEqual({ kind: 'already-committed', committed: 2 });
    expect(output().sort()).toEqual(['A', 'B']);
  });

  it('processes only the part of a range that an earlier attempt did not commit', async () => {
    await runner().run(assignment(task(0, 2)));
    const wider = await runner().run(assignment(task(0, 4, 2), { poisonRecords: 'skip' }));
    expect(wider).toMatchObject({ kind: 'processed', read: 2, written: 1, skipped: 1 });
    expect(output().sort()).toEqual(['A', 'B', 'D']);
  });

  it('fences a zombie attempt: its output never becomes visible and the range is committed once', async () => {
    let release!: () => void;
    processors.gate = new Promise((resolve) => {
      release = resolve;
    });
    const zombie = runner().run(assignment(task(0, 2, 1, 'e-0')));
    while (processors.calls === 0) await new Promise((resolve) => setImmediate(resolve));
    processors.gate = undefined;
    // The task moved on (its owner was declared dead): the next attempt opens the id and commits.
    expect(await runner().run(assignment(task(0, 2, 2, 'e-1')))).toMatchObject({ kind: 'processed', written: 2 });
    release();
    // The zombie is fenced when it sends; it opens the id again, finds the range committed, stops.
    expect(await zombie).toEqual({ kind: 'already-committed', committed: 2 });
    expect(output().sort()).toEqual(['A', 'B']);
  });

  it('a zombie that lost its task does not re-open the transactional id the live owner holds', async () => {
    let release!: () => void;
    processors.gate = new Promise((resolve) => {
      release = resolve;
    });
    let held = true;
    const zombie = runner().run({ ...assignment(task(0, 2, 1, 'e-0')), stillHeld: () => Promise.resolve(held) });
    while (processors.calls === 0) await new Promise((resolve) => setImmediate(resolve));
    processors.gate = undefined;
    held = false;
    expect(await runner().run(assignment(task(0, 2, 2, 'e-1')))).toMatchObject({ kind: 'processed', written: 2 });
    const opens = jest.spyOn(kafka, 'initTransactionalId');
    release();
    await expect(zombie).rejects.toMatchObject({ code: 'SK_TASK_STALE' });
    expect(opens).not.toHaveBeenCalled();
    expect(output().sort()).toEqual(['A', 'B']);
  });

  it('aborts instead of committing when the attempt no longer holds its task', async () => {
    await expect(runner().run(assignment(task(0, 2), {}, false))).rejects.toMatchObject({ code: 'SK_TASK_STALE' });
    expect(output()).toEqual([]);
    expect(kafka.committedOffsets(group, 'in').get(0)).toBeUndefined();
    expect(kafka.openTransactions()).toEqual([]);
  });

  it('fails the task on a poison record with poisonRecords fail, writing nothing', async () => {
    await expect(runner().run(assignment(task(0, 4)))).rejects.toMatchObject({ code: 'SK_POISON_RECORD', message: expect.stringContaining('in/0@2') });
    expect(output()).toEqual([]);
  });

  it('skips poison records with poisonRecords skip, and counts them', async () => {
    expect(await runner().run(assignment(task(0, 6), { poisonRecords: 'skip' }))).toMatchObject({ written: 5, skipped: 1 });
    expect(observer.poison).toEqual({ skipped: 1 });
    expect(observer).toMatchObject({ read: 6, written: 5 });
  });

  it('writes poison records to the dead-letter topic in the same transaction, with the error in headers', async () => {
    kafka.failNext('transaction.commitOffsets');
    const dead = assignment(task(0, 6), { poisonRecords: 'deadLetter', deadLetterTopic: 'dlq' });
    await expect(runner().run(dead)).rejects.toMatchObject({ code: 'SK_KAFKA_ERROR' });
    expect([...output(), ...output('dlq')]).toEqual([]);
    expect(await runner().run({ ...dead, task: task(0, 6, 2) })).toMatchObject({ written: 5, deadLettered: 1 });
    const [letter] = kafka.visibleRecords('dlq', 0);
    expect(letter?.value?.toString()).toBe('!c');
    expect(letter?.key?.toString()).toBe('k2');
    const header = (key: string): string | undefined => letter?.headers.find((h) => h.key === key)?.value.toString();
    expect(header(deadLetterHeaders.error)).toBe('cannot shout !c');
    expect(header(deadLetterHeaders.source)).toBe('in/0@2');
    expect(header(deadLetterHeaders.job)).toBe('team-a/upper');
    expect(observer.poison).toEqual({ 'dead-lettered': 1 });
  });

  it('places keyed output like Kafka\'s default partitioner', async () => {
    await runner().run(assignment(task(0, 2)));
    const byPartition = [0, 1].map((p) => kafka.visibleRecords('out', p).map((r) => r.key?.toString()));
    expect(byPartition.flat().sort()).toEqual(['k0', 'k1']);
  });

  it('writes at least once without a transaction: a retry writes again', async () => {
    const once = assignment(task(0, 2), { delivery: 'atLeastOnce' });
    await runner().run(once);
    await runner().run({ ...once, task: task(0, 2, 2) });
    expect(output().sort()).toEqual(['A', 'A', 'B', 'B']);
    expect(kafka.committedOffsets(group, 'in').size).toBe(0);
  });

  it('uses one transactional id per job and source partition', () => {
    expect(transactionalId(job, 'in', 3)).toBe('streamkeeper/team-a/upper/in/3');
  });
});

describe('chunkRecords', () => {
  it('splits large outputs into bounded produce requests, in order', () => {
    const records = Array.from({ length: 12_000 }, (_v, i) => ({ key: null, value: Buffer.from(String(i)) }));
    const chunks = chunkRecords(records);
    expect(chunks.map((c) => c.length)).toEqual([5000, 5000, 2000]);
    expect(chunks.flat()).toEqual(records);
    const big = Array.from({ length: 4 }, () => ({ key: null, value: Buffer.alloc(300 * 1024) }));
    expect(chunkRecords(big).map((c) => c.length)).toEqual([2, 2]);
  });
});

describe('TaskRunner: a task of a partition group', () => {
  let kafka: InMemoryKafka;
  let processors: TestProcessors;
  const runner = (): TaskRunner => new TaskRunner({ source: kafka.client(), sink: kafka.client(), processors });
  const output = (): string[] => [0, 1].flatMap((p) => kafka.visibleRecords('out', p).map((r) => r.value?.toString() ?? '')).sort();

  /** Group 2's task over partitions 0, 2 and 3 of `in`: [0, 2) of each. */
  function groupTask(attempt = 1, owner = 'e-0', to = 2): TaskRecord {
    const ranges = [0, 2, 3].map((partition) => ({ topic: 'in', partition, from: '0', to: String(to) }));
    return { id: '0000000001-00000', batch: '0000000001', ranges, group: 2, state: 'assigned', owner, attempt, failures: attempt - 1 };
  }

  beforeEach(async () => {
    kafka = new InMemoryKafka();
    processors = new TestProcessors();
    kafka.createTopic('in', 4);
    kafka.createTopic('out', 2);
    const producer = await kafka.client().producer();
    for (const partition of [0, 1, 2, 3]) await producer.send('in', partition, ['a', 'b', 'c'].map((v) => ({ key: Buffer.from(`p${partition}`), value: Buffer.from(`${v}${partition}`) })));
  });

  it('commits every range\'s output and offset in one transaction under the group\'s transactional id', async () => {
    const opens = jest.spyOn(kafka, 'initTransactionalId');
    const result = await runner().run(assignment(groupTask()));
    expect(result).toEqual({ kind: 'processed', read: 6, written: 6, skipped: 0, deadLettered: 0 });
    expect(output()).toEqual(['A0', 'A2', 'A3', 'B0', 'B2', 'B3']);
    expect(opens.mock.calls.map((c) => c[0])).toEqual([groupTransactionalId(job, 2)]);
    const committed = kafka.committedOffsets(group, 'in');
    expect([0, 1, 2, 3].map((p) => committed.get(p))).toEqual([2, undefined, 2, 2]);
  });

  it('commits none of its ranges when the transaction fails, and a retry commits all of them once', async () => {
    kafka.failNext('transaction.commit');
    await expect(runner().run(assignment(groupTask()))).rejects.toMatchObject({ code: 'SK_KAFKA_ERROR' });
    expect(output()).toEqual([]);
    expect(kafka.committedOffsets(group, 'in').size).toBe(0);
    expect(await runner().run(assignment(groupTask(2, 'e-1')))).toMatchObject({ kind: 'processed', read: 6, written: 6 });
    expect(output()).toEqual(['A0', 'A2', 'A3', 'B0', 'B2', 'B3']);
  });

  it('does not process again ranges whose commit went through although its reply was lost', async () => {
    kafka.failNext('transaction.commit', { afterApplying: true });
    await expect(runner().run(assignment(groupTask()))).rejects.toMatchObject({ code: 'SK_KAFKA_ERROR' });
    expect(await runner().run(assignment(groupTask(2, 'e-1')))).toEqual({ kind: 'already-committed', committed: 2 });
    expect(output()).toEqual(['A0', 'A2', 'A3', 'B0', 'B2', 'B3']);
  });

  it('fences a zombie of the group: its output never becomes visible and each range is committed once', async () => {
    let release!: () => void;
    processors.gate = new Promise((resolve) => {
      release = resolve;
    });
    const zombie = runner().run(assignment(groupTask(1, 'e-0')));
    while (processors.calls === 0) await new Promise((resolve) => setImmediate(resolve));
    processors.gate = undefined;
    expect(await runner().run(assignment(groupTask(2, 'e-1')))).toMatchObject({ kind: 'processed', written: 6 });
    release();
    expect(await zombie).toEqual({ kind: 'already-committed', committed: 2 });
    expect(output()).toEqual(['A0', 'A2', 'A3', 'B0', 'B2', 'B3']);
  });

  it('processes only what an earlier, narrower attempt of a range left uncommitted', async () => {
    await runner().run(assignment(groupTask()));
    expect(await runner().run(assignment(groupTask(2, 'e-1', 3)))).toMatchObject({ kind: 'processed', read: 3, written: 3 });
    expect(output()).toEqual(['A0', 'A2', 'A3', 'B0', 'B2', 'B3', 'C0', 'C2', 'C3']);
  });

  it('names a task\'s transactional id by its group, or by its one partition without a group', () => {
    expect(taskTransactionalId(job, groupTask())).toBe('streamkeeper/team-a/upper/group:2');
    expect(taskTransactionalId(job, task(0, 1))).toBe(transactionalId(job, 'in', 0));
    expect(() => taskTransactionalId(job, { ...groupTask(), group: undefined })).toThrow(/exactly one range/);
  });
});
