import { describe, expect, it } from '@jest/globals';
import { driverRestarts, type DriverRestartFacts } from '../../../../src/operator/reconciler/driver-restarts.js';
import type { ObservedPod } from '../../../../src/operator/reconciler/observed-pods.js';

function driver(annotated: number | undefined, lifecycle: ObservedPod['lifecycle'] = 'running'): ObservedPod {
  return {
    name: 'job-driver',
    uid: 'uid-driver',
    component: 'driver',
    templateHash: 'h',
    lifecycle,
    ready: lifecycle === 'running',
    terminating: false,
    createdAtMs: 0,
    exit: lifecycle === 'terminated' ? 'exit code 1 (Error)' : undefined,
    credential: undefined,
    driverRestarts: annotated,
    stuck: undefined,
  };
}

describe('counting driver restarts from the cluster', () => {
  const cases: [string, DriverRestartFacts, { restarts: number; failureRecorded: boolean }][] = [
    ['a new job', { recorded: 0, driver: undefined, failed: false }, { restarts: 0, failureRecorded: true }],
    ['a healthy driver keeps the count', { recorded: 2, driver: driver(2), failed: false }, { restarts: 2, failureRecorded: true }],
    ['the first pass to see a failed driver counts it, and keeps the pod until the status says so', { recorded: 2, driver: driver(2, 'terminated'), failed: true }, { restarts: 3, failureRecorded: false }],
    ['a pass after the status was written (the operator stopped before deleting) counts it once, and lets the pod go', { recorded: 3, driver: driver(2, 'terminated'), failed: true }, { restarts: 3, failureRecorded: true }],
    ['while the failed driver is gone and its replacement not yet created, the stored count stands', { recorded: 3, driver: undefined, failed: false }, { restarts: 3, failureRecorded: true }],
    ['the replacement carries the count', { recorded: 3, driver: driver(3, 'pending'), failed: false }, { restarts: 3, failureRecorded: true }],
    ['the replacement failing counts once more', { recorded: 3, driver: driver(3, 'terminated'), failed: true }, { restarts: 4, failureRecorded: false }],
    ['a driver from before the annotation counts from the stored status', { recorded: 5, driver: driver(undefined, 'terminated'), failed: true }, { restarts: 6, failureRecorded: false }],
    ['the count never goes back (a status from a backup, or a hand-made pod)', { recorded: 7, driver: driver(1), failed: false }, { restarts: 7, failureRecorded: true }],
    ['a driver retired for another reason (suspend, revoked credential) is no failure', { recorded: 1, driver: driver(1, 'terminated'), failed: false }, { restarts: 1, failureRecorded: true }],
  ];

  it.each(cases)('%s', (_name, facts, expected) => {
    expect(driverRestarts(facts)).toEqual(expected);
  });

  it('counts one restart per failure across a crash between the status write and the delete', () => {
    // Pass 1 sees the failure and writes the status; the operator dies before deleting the pod.
    const failed = driver(0, 'terminated');
    const first = driverRestarts({ recorded: 0, driver: failed, failed: true });
    expect(first).toEqual({ restarts: 1, failureRecorded: false });
    // Pass 2 (a new leader) sees the same pod and the written status.
    const second = driverRestarts({ recorded: first.restarts, driver: failed, failed: true });
    expect(second).toEqual({ restarts: 1, failureRecorded: true });
    // The pod goes; the replacement is created with the count.
    const third = driverRestarts({ recorded: second.restarts, driver: undefined, failed: false });
    expect(third.restarts).toBe(1);
  });
});
