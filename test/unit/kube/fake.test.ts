import { describe, expect, it } from '@jest/globals';
import { StreamkeeperError, isStreamkeeperError } from '../../../src/errors/index.js';
import type { WatchEvent } from '../../../src/kube/client.js';
import { FakeKubeClient } from '../../../src/kube/fake.js';
import type { KubeObject } from '../../../src/kube/objects.js';

const ns = 'ns';

/** Collects what a watch delivers until it ends, and how it ended. */
async function drain(watch: AsyncIterable<WatchEvent<KubeObject>>): Promise<{ events: string[]; error: unknown }> {
  const events: string[] = [];
  try {
    for await (const event of watch) events.push(event.type === 'BOOKMARK' ? `BOOKMARK ${event.resourceVersion}` : `${event.type} ${event.object.metadata.name}`);
    return { events, error: undefined };
  } catch (error) {
    return { events, error };
  }
}

describe('the in-memory API server', () => {
  it('hands out one increasing resourceVersion across all kinds', async () => {
    const fake = new FakeKubeClient();
    const secret = await fake.create('Secret', { metadata: { namespace: ns, name: 's' } });
    const lease = await fake.create('Lease', { metadata: { namespace: ns, name: 'l' } });
    const node = await fake.create('Node', { metadata: { name: 'n' } });
    expect([secret, lease, node].map((object) => Number(object.metadata.resourceVersion))).toEqual([1, 2, 3]);
    expect(fake.resourceVersion).toBe('3');
  });

  it('stamps creation time from its clock', async () => {
    const fake = new FakeKubeClient({ now: () => Date.UTC(2025, 5, 1, 12, 0, 0, 999) });
    const created = await fake.create('Secret', { metadata: { namespace: ns, name: 's' } });
    expect(created.metadata.creationTimestamp).toBe('2025-06-01T12:00:00Z');
  });

  it('hands out copies, so callers cannot change what it stores', async () => {
    const fake = new FakeKubeClient();
    const created = await fake.create('Secret', { metadata: { namespace: ns, name: 's', labels: { a: 'b' } } });
    created.metadata.labels = { mutated: 'yes' };
    expect((await fake.get('Secret', { namespace: ns, name: 's' })).metadata.labels).toEqual({ a: 'b' });
  });

  it('ends open watches with SK_KUBE_GONE on forceGone, and refuses to resume from before it', async () => {
    const fake = new FakeKubeClient();
    await fake.create('Secret', { metadata: { namespace: ns, name: 'listed' } });
    const list = await fake.list('Secret', { namespace: ns });
    const watching = drain(fake.watch('Secret', { namespace: ns, resourceVersion: list.resourceVersion }));
    await fake.create('Secret', { metadata: { namespace: ns, name: 'before' } });
    fake.forceGone('Secret');
    const { events, error } = await watching;
    expect(events).toEqual(['ADDED before']);
    expect(isStreamkeeperError(error, 'SK_KUBE_GONE')).toBe(true);
    const again = await drain(fake.watch('Secret', { namespace: ns, resourceVersion: list.resourceVersion }));
    expect(isStreamkeeperError(again.error, 'SK_KUBE_GONE')).toBe(true);
    expect(fake.openWatches()).toBe(0);
  });

  it('drops watches with a transient error, and lets them resume where they were', async () => {
    const fake = new FakeKubeClient();
    const first = await fake.create('Secret', { metadata: { namespace: ns, name: 'first' } });
    const watching = drain(fake.watch('Secret', { namespace: ns, resourceVersion: first.metadata.resourceVersion }));
    await fake.create('Secret', { metadata: { namespace: ns, name: 'second' } });
    fake.dropWatches();
    const dropped = await watching;
    expect(dropped.events).toEqual(['ADDED second']);
    expect(isStreamkeeperError(dropped.error, 'SK_KUBE_ERROR')).toBe(true);
    const resumed = fake.watch('Secret', { namespace: ns, resourceVersion: first.metadata.resourceVersion });
    const resumedEvents = drain(resumed);
    await Promise.resolve();
    fake.closeWatches();
    expect(await resumedEvents).toEqual({ events: ['ADDED second'], error: undefined });
  });

  it('sends bookmarks with the current resourceVersion', async () => {
    const fake = new FakeKubeClient();
    await fake.create('Secret', { metadata: { namespace: ns, name: 's' } });
    const watching = drain(fake.watch('Secret', { namespace: ns, resourceVersion: '1' }));
    await fake.create('Lease', { metadata: { namespace: ns, name: 'l' } });
    await Promise.resolve();
    fake.bookmark('Secret');
    fake.closeWatches('Secret');
    expect((await watching).events).toEqual(['BOOKMARK 2']);
  });

  it('replays the current state as ADDED when watching from resourceVersion 0', async () => {
    const fake = new FakeKubeClient();
    await fake.create('Secret', { metadata: { namespace: ns, name: 'a' } });
    await fake.create('Secret', { metadata: { namespace: 'elsewhere', name: 'b' } });
    const watching = drain(fake.watch('Secret', { namespace: ns, resourceVersion: '0' }));
    await Promise.resolve();
    fake.closeWatches();
    expect((await watching).events).toEqual(['ADDED a']);
  });

  it('compacts history beyond its limit', async () => {
    const fake = new FakeKubeClient({ historyLimit: 2 });
    for (const name of ['a', 'b', 'c', 'd']) await fake.create('Secret', { metadata: { namespace: ns, name } });
    const tooOld = await drain(fake.watch('Secret', { namespace: ns, resourceVersion: '1' }));
    expect(isStreamkeeperError(tooOld.error, 'SK_KUBE_GONE')).toBe(true);
    const watching = drain(fake.watch('Secret', { namespace: ns, resourceVersion: '2' }));
    await Promise.resolve();
    fake.closeWatches();
    expect(await watching).toEqual({ events: ['ADDED c', 'ADDED d'], error: undefined });
  });

  it('fails injected calls before touching state, as many times as asked', async () => {
    const fake = new FakeKubeClient();
    fake.injectFault({ verbs: ['create'], kinds: ['Secret'], times: 2, error: new StreamkeeperError('SK_KUBE_FORBIDDEN', 'no') });
    await expect(fake.create('Secret', { metadata: { namespace: ns, name: 's' } })).rejects.toMatchObject({ code: 'SK_KUBE_FORBIDDEN' });
    await expect(fake.create('Lease', { metadata: { namespace: ns, name: 'l' } })).resolves.toBeDefined();
    await expect(fake.create('Secret', { metadata: { namespace: ns, name: 's' } })).rejects.toMatchObject({ code: 'SK_KUBE_FORBIDDEN' });
    await expect(fake.create('Secret', { metadata: { namespace: ns, name: 's' } })).resolves.toBeDefined();
  });

  it('records every call it receives', async () => {
    const fake = new FakeKubeClient();
    await fake.create('Secret', { metadata: { namespace: ns, name: 's' } });
    await fake.get('Secret', { namespace: ns, name: 's' });
    await fake.list('Node');
    expect(fake.actions).toEqual([
      { verb: 'create', kind: 'Secret', namespace: ns, name: 's' },
      { verb: 'get', kind: 'Secret', namespace: ns, name: 's' },
      { verb: 'list', kind: 'Node' },
    ]);
  });

  it('requires a namespace for namespaced kinds', async () => {
    const fake = new FakeKubeClient();
    await expect(fake.create('Secret', { metadata: { name: 's' } })).rejects.toMatchObject({ code: 'SK_KUBE_BAD_REQUEST' });
    await expect(fake.get('Secret', { name: 's' })).rejects.toMatchObject({ code: 'SK_KUBE_BAD_REQUEST' });
  });
});
