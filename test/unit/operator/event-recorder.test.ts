import { describe, expect, it } from '@jest/globals';
import { StreamkeeperError } from '../../../src/errors/index.js';
import { FakeKubeClient } from '../../../src/kube/fake.js';
import { EventRecorder, truncateNote, type EventRegarding, type RecordedEvent } from '../../../src/operator/event-recorder.js';
import { ManualClock } from '../../../src/machinery/clock.js';

const regarding: EventRegarding = { apiVersion: 'streamkeeper.io/v1alpha1', kind: 'StreamingJob', namespace: 'ns', name: 'wordcount', uid: 'uid-1' };
const warning: RecordedEvent = { type: 'Warning', reason: 'ReconcileError', action: 'Reconcile', note: 'create pod wordcount-executor-0: forbidden' };

function recorder(options: { patchIntervalMs?: number; dedupeWindowMs?: number; maxEntries?: number } = {}) {
  const clock = new ManualClock(Date.UTC(2025, 0, 1));
  const kube = new FakeKubeClient({ now: () => clock.now() });
  const events = new EventRecorder({ client: kube, reportingController: 'streamkeeper.io/operator', reportingInstance: 'operator-0', clock, ...options });
  const list = async () => (await kube.list('Event', { namespace: 'ns' })).items;
  return { clock, kube, events, list };
}

describe('the event recorder', () => {
  it('writes an events.k8s.io/v1 Event about the job', async () => {
    const { events, list } = recorder();
    await events.record(regarding, warning);
    const [event] = await list();
    expect(event).toMatchObject({
      type: 'Warning',
      reason: 'ReconcileError',
      action: 'Reconcile',
      note: warning.note,
      reportingController: 'streamkeeper.io/operator',
      reportingInstance: 'operator-0',
      regarding: { kind: 'StreamingJob', name: 'wordcount', namespace: 'ns', uid: 'uid-1' },
    });
    expect(event?.metadata.name).toMatch(/^wordcount\./);
  });

  it('counts repeats on the first Event, writing the count at most every patch interval', async () => {
    const { clock, events, list, kube } = recorder({ patchIntervalMs: 30_000 });
    await events.record(regarding, warning);
    await events.record(regarding, warning);
    await events.record(regarding, warning);
    expect(kube.actions.filter((a) => a.kind === 'Event' && a.verb === 'patch')).toHaveLength(0);
    await clock.advance(31_000);
    await events.record(regarding, warning);
    const all = await list();
    expect(all).toHaveLength(1);
    expect(all[0]?.series?.count).toBe(4);
  });

  it('writes a repeat at once when another Event about the job came in between, so the order stays true', async () => {
    const { clock, events, list, kube } = recorder({ patchIntervalMs: 30_000 });
    const running: RecordedEvent = { type: 'Normal', reason: 'Running', action: 'Reconcile', note: 'the job is running' };
    const unavailable: RecordedEvent = { type: 'Warning', reason: 'CoordinationUnavailable', action: 'Reconcile', note: 'no connection to ZooKeeper' };
    await events.record(regarding, running);
    await clock.advance(5000);
    await events.record(regarding, unavailable);
    await clock.advance(5000);
    await events.record(regarding, running);
    const all = await list();
    expect(all.map((e) => e.reason)).toEqual(['Running', 'CoordinationUnavailable']);
    const [first, second] = all;
    expect(first?.series?.count).toBe(2);
    expect(Date.parse(first?.series?.lastObservedTime ?? '')).toBeGreaterThan(Date.parse(second?.eventTime ?? ''));
    // Repeated with nothing in between, it waits for the patch interval again.
    await events.record(regarding, running);
    expect(kube.actions.filter((a) => a.kind === 'Event' && a.verb === 'patch')).toHaveLength(1);
  });

  it('starts a new Event once the de-duplication window has passed', async () => {
    const { clock, events, list } = recorder({ dedupeWindowMs: 60_000 });
    await events.record(regarding, warning);
    await clock.advance(61_000);
    await events.record(regarding, warning);
    expect(await list()).toHaveLength(2);
  });

  it('keeps different Events apart', async () => {
    const { events, list } = recorder();
    await events.record(regarding, warning);
    await events.record(regarding, { ...warning, note: 'something else' });
    await events.record({ ...regarding, uid: 'uid-2' }, warning);
    expect(await list()).toHaveLength(3);
  });

  it('starts over when the Event it would count on expired', async () => {
    const { events, list, kube } = recorder({ patchIntervalMs: 0 });
    await events.record(regarding, warning);
    const [first] = await list();
    await kube.delete('Event', { namespace: 'ns', name: first?.metadata.name ?? '' });
    await events.record(regarding, warning);
    expect(await list()).toHaveLength(1);
  });

  it('never fails the caller when the API server refuses the Event', async () => {
    const { events, kube, list } = recorder();
    kube.injectFault({ verbs: ['create'], kinds: ['Event'], error: new StreamkeeperError('SK_KUBE_FORBIDDEN', 'events is forbidden') });
    await expect(events.record(regarding, warning)).resolves.toBeUndefined();
    await events.record(regarding, warning);
    expect(await list()).toHaveLength(1);
  });

  it('forgets the least recently seen Events beyond its capacity', async () => {
    const { events, list } = recorder({ maxEntries: 2 });
    await events.record(regarding, { ...warning, note: 'a' });
    await events.record(regarding, { ...warning, note: 'b' });
    await events.record(regarding, { ...warning, note: 'c' });
    await events.record(regarding, { ...warning, note: 'a' });
    expect(await list()).toHaveLength(4);
  });

  it('cuts notes to the 1 KiB the API server accepts, counting bytes', () => {
    const note = truncateNote('é'.repeat(1000));
    expect(Buffer.byteLength(note)).toBeLessThanOrEqual(1024);
    expect(note.endsWith('…')).toBe(true);
    expect(truncateNote('short')).toBe('short');
  });
});
