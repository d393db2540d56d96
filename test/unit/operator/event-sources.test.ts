import { describe, expect, it } from '@jest/globals';
import type { CustomObject, KubeObject, Stored } from '../../../src/kube/objects.js';
import { CreateExpectations } from '../../../src/operator/create-expectations.js';
import { jobChangeNeedsReconcile, jobHandler, ownedObjectHandler } from '../../../src/operator/event-sources.js';
import { owningJobKey } from '../../../src/operator/job-cache.js';

function stored<T extends KubeObject>(object: T & { metadata?: Partial<Stored<KubeObject>['metadata']> }): Stored<T> {
  return { apiVersion: 'v1', kind: 'X', ...object, metadata: { name: 'x', uid: 'u', resourceVersion: '1', creationTimestamp: '2025-01-01T00:00:00Z', ...object.metadata } } as Stored<T>;
}

const job = (meta: Partial<Stored<KubeObject>['metadata']> = {}, status: Record<string, unknown> = {}): Stored<CustomObject> =>
  stored<CustomObject>({ metadata: { namespace: 'ns', name: 'wordcount', generation: 1, ...meta }, spec: {}, status });

describe('which job updates need a pass', () => {
  const base = job();
  const cases: [string, Stored<CustomObject>, boolean][] = [
    ['a new generation (spec change)', job({ generation: 2 }), true],
    ['deletion started', job({ deletionTimestamp: '2025-01-01T00:00:00Z' }), true],
    ['someone else\'s finalizer added', job({ finalizers: ['example.com/hold'] }), true],
    ['only the operator\'s own finalizer added (the pass that did it goes on)', job({ finalizers: ['streamkeeper.io/cleanup'] }), false],
    ['a new incarnation', job({ uid: 'other' }), true],
    ['only the status changed (the operator\'s own write)', job({ resourceVersion: '2' }, { phase: 'Running' }), false],
    ['only labels changed', job({ labels: { a: 'b' } }), false],
  ];
  it.each(cases)('%s → %s', (_case, current, expected) => {
    expect(jobChangeNeedsReconcile(base, current)).toBe(expected);
  });

  it('counts a resync (the same object twice)', () => {
    expect(jobChangeNeedsReconcile(base, base)).toBe(true);
  });
});

describe('mapping events to job keys', () => {
  const owned = (meta: Partial<Stored<KubeObject>['metadata']>): Stored<KubeObject> => stored({ metadata: { namespace: 'ns', ...meta } });

  const cases: [string, Stored<KubeObject>, string | undefined][] = [
    ['a pod controlled by a job', owned({ ownerReferences: [{ apiVersion: 'streamkeeper.io/v1alpha1', kind: 'StreamingJob', name: 'wordcount', uid: 'j', controller: true }] }), 'ns/wordcount'],
    ['a pod controlled by something else', owned({ ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'r', controller: true }], labels: { 'app.kubernetes.io/managed-by': 'streamkeeper-operator', 'app.kubernetes.io/instance': 'wordcount' } }), undefined],
    ['an orphan with our labels', owned({ labels: { 'app.kubernetes.io/managed-by': 'streamkeeper-operator', 'app.kubernetes.io/instance': 'wordcount' } }), 'ns/wordcount'],
    ['an orphan with someone else\'s labels', owned({ labels: { 'app.kubernetes.io/instance': 'wordcount' } }), undefined],
  ];
  it.each(cases)('%s → %s', (_case, object, key) => {
    expect(owningJobKey(object)).toBe(key);
  });

  it('enqueues jobs and the owners of pods, and nothing else', () => {
    const keys: string[] = [];
    const queue = { add: (key: string) => keys.push(key) };
    const jobs = jobHandler(queue);
    jobs.onAdd?.(job());
    jobs.onUpdate?.(job(), job({ resourceVersion: '2' }, { phase: 'Running' }));
    jobs.onUpdate?.(job(), job({ generation: 2 }));
    jobs.onDelete?.(job());
    const pods = ownedObjectHandler(queue);
    pods.onAdd?.(owned({ ownerReferences: [{ apiVersion: 'streamkeeper.io/v1alpha1', kind: 'StreamingJob', name: 'other', uid: 'j', controller: true }] }));
    pods.onUpdate?.(owned({}), owned({}));
    expect(keys).toEqual(['ns/wordcount', 'ns/wordcount', 'ns/wordcount', 'ns/other']);
  });
});

describe('objects the operator just created', () => {
  const pod = (name: string): Stored<KubeObject> =>
    stored({ kind: 'Pod', metadata: { namespace: 'ns', name, ownerReferences: [{ apiVersion: 'streamkeeper.io/v1alpha1', kind: 'StreamingJob', name: 'wordcount', uid: 'j', controller: true }] } });

  it('do not trigger another pass with their ADDED event; their later changes do', () => {
    const clock = { now: () => 0, setTimer: () => ({ cancel: () => undefined }) };
    const expectations = new CreateExpectations(clock);
    const keys: string[] = [];
    const handler = ownedObjectHandler({ add: (key: string) => keys.push(key) }, expectations);
    expectations.expect('Pod', 'ns', 'wordcount-driver');
    handler.onAdd?.(pod('wordcount-driver'));
    expect(keys).toEqual([]);
    handler.onUpdate?.(pod('wordcount-driver'), pod('wordcount-driver'));
    handler.onAdd?.(pod('wordcount-executor-0'));
    expect(keys).toEqual(['ns/wordcount', 'ns/wordcount']);
    expect(expectations.size).toBe(0);
  });

  it('count again once an expectation was cancelled or expired', () => {
    let now = 0;
    const expectations = new CreateExpectations({ now: () => now, setTimer: () => ({ cancel: () => undefined }) }, 1000);
    expectations.expect('Pod', 'ns', 'a');
    expectations.cancel('Pod', 'ns', 'a');
    expect(expectations.fulfil('Pod', 'ns', 'a')).toBe(false);
    expectations.expect('Pod', 'ns', 'b');
    now = 2000;
    expect(expectations.fulfil('Pod', 'ns', 'b')).toBe(false);
  });
});
