import { describe, expect, it } from '@jest/globals';
import { CoordinationLayout, batchId, batchSequence, jobKey, parseTaskId, splitChroot, taskId } from '../../../src/coordination/layout.js';
import { nextBatchId } from '../../../src/coordination/task-ledger.js';
import { thrown } from '../../contract/zookeeper/waiting.js';

const job = { namespace: 'team-a', name: 'word.count' };

describe('ZooKeeper layout', () => {
  it('puts every node of a job under <root>/v1/jobs/<namespace>/<name>', () => {
    const layout = new CoordinationLayout();
    expect(layout.job(job)).toBe('/streamkeeper/v1/jobs/team-a/word.count');
    expect(layout.config(job)).toBe('/streamkeeper/v1/jobs/team-a/word.count/config');
    expect(layout.executor(job, 'word.count-executor-0')).toBe('/streamkeeper/v1/jobs/team-a/word.count/executors/word.count-executor-0');
    expect(layout.driver(job)).toBe('/streamkeeper/v1/jobs/team-a/word.count/driver');
    expect(layout.batch(job, batchId(7))).toBe('/streamkeeper/v1/jobs/team-a/word.count/batches/0000000007');
    expect(layout.task(job, taskId(batchId(7), 3))).toBe('/streamkeeper/v1/jobs/team-a/word.count/tasks/0000000007-00003');
    expect(layout.offsets(job)).toBe('/streamkeeper/v1/jobs/team-a/word.count/offsets');
    expect(layout.ancestors(job)).toEqual(['/streamkeeper', '/streamkeeper/v1', '/streamkeeper/v1/jobs', '/streamkeeper/v1/jobs/team-a']);
    expect(layout.jobSkeleton(job).map((p) => p.slice(layout.job(job).length))).toEqual(['', '/config', '/executors', '/batches', '/tasks']);
    expect(jobKey(job)).toBe('team-a/word.count');
  });

  it('takes another root', () => {
    expect(new CoordinationLayout('/platform/sk').offsets(job)).toBe('/platform/sk/v1/jobs/team-a/word.count/offsets');
  });

  it.each(['streamkeeper', '/', '/a/', '/a//b', '/zookeeper/x', '/a/../b'])('refuses the root %p', (root) => {
    expect(() => new CoordinationLayout(root)).toThrow(/must be an absolute path/);
  });

  it.each([
    ['a name with a slash', { namespace: 'a', name: 'b/c' }, 'metadata.name'],
    ['a dot-dot name', { namespace: 'a', name: '..' }, 'metadata.name'],
    ['an upper-case namespace', { namespace: 'A', name: 'b' }, 'metadata.namespace'],
  ])('refuses %s as a path segment', (_what, bad, field) => {
    expect(thrown(() => new CoordinationLayout().job(bad))).toMatchObject({ code: 'SK_INVALID_SPEC', field });
  });

  it('numbers batches and tasks so that they sort in order', () => {
    const ids = [batchId(10), batchId(9), batchId(100)].sort();
    expect(ids).toEqual(['0000000009', '0000000010', '0000000100']);
    expect([taskId('0000000001', 10), taskId('0000000001', 2)].sort()).toEqual(['0000000001-00002', '0000000001-00010']);
    expect(parseTaskId('0000000001-00010')).toEqual({ batch: '0000000001', index: 10 });
    expect(batchSequence('0000000042')).toBe(42);
    expect(() => parseTaskId('x')).toThrow(/not a task id/);
  });

  it('plans the next batch after everything recorded or committed', () => {
    expect(nextBatchId([], null)).toBe(batchId(0));
    expect(nextBatchId([batchId(3), batchId(4)], batchId(2))).toBe(batchId(5));
    expect(nextBatchId([], batchId(8))).toBe(batchId(9));
  });

  it('splits a chroot off the connect string', () => {
    expect(splitChroot('a:2181,b:2181/apps/sk')).toEqual({ servers: 'a:2181,b:2181', chroot: '/apps/sk' });
    expect(splitChroot('a:2181')).toEqual({ servers: 'a:2181', chroot: undefined });
    expect(splitChroot('a:2181/')).toEqual({ servers: 'a:2181', chroot: undefined });
  });
});
