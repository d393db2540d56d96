import { describe, expect, it } from '@jest/globals';
import { StreamkeeperError } from '../../../src/errors/index.js';
import { FakeKubeClient } from '../../../src/kube/fake.js';
import { objectKey, refOf, type Secret, type Stored } from '../../../src/kube/objects.js';
import { ManualClock, settle } from '../../../src/machinery/clock.js';
import { Informer, listerWatcher } from '../../../src/machinery/informer.js';

const ns = 'ns';

/** An informer over Secrets that records its handler calls as `add ns/a` lines. */
function secretsInformer(options: { resyncPeriodMs?: number } = {}) {
  const clock = new ManualClock(0);
  const kube = new FakeKubeClient({ now: () => clock.now() });
  const informer = new Informer<Secret>({
    name: 'secrets',
    listerWatcher: listerWatcher(kube, 'Secret', { namespace: ns }),
    clock,
    random: () => 1,
    backoff: { initialMs: 1000, maxMs: 8000 },
    ...options,
  });
  const calls: string[] = [];
  const key = (object: Stored<Secret>): string => objectKey(refOf(object));
  informer.addHandler({
    onAdd: (object) => calls.push(`add ${key(object)}`),
    onUpdate: (previous, current) => calls.push(previous === current ? `resync ${key(current)}` : `update ${key(current)}`),
    onDelete: (object) => calls.push(`delete ${key(object)}`),
  });
  const create = (name: string, labels: Record<string, string> = {}) => kube.create('Secret', { metadata: { namespace: ns, name, labels } });
  return { clock, kube, informer, calls, create };
}

describe('the informer', () => {
  it('lists, reports the listed objects as added, and then syncs', async () => {
    const { informer, calls, create } = secretsInformer();
    await create('a');
    await create('b');
    expect(informer.hasSynced()).toBe(false);
    informer.start();
    await informer.waitForSync();
    expect(informer.hasSynced()).toBe(true);
    expect(calls).toEqual(['add ns/a', 'add ns/b']);
    expect(informer.get({ namespace: ns, name: 'a' })?.metadata.name).toBe('a');
    await informer.stop();
  });

  it('follows changes through the watch: add, update, delete', async () => {
    const { informer, calls, create, kube } = secretsInformer();
    informer.start();
    await informer.waitForSync();
    await create('a');
    await kube.patch('Secret', { namespace: ns, name: 'a' }, { metadata: { labels: { changed: 'yes' } } });
    await kube.delete('Secret', { namespace: ns, name: 'a' });
    await settle();
    expect(calls).toEqual(['add ns/a', 'update ns/a', 'delete ns/a']);
    expect(informer.list()).toEqual([]);
    expect(informer.resourceVersion).toBe(kube.resourceVersion);
    await informer.stop();
  });

  it('lists again at once after 410 Gone, without reporting unchanged objects', async () => {
    const { informer, calls, create, kube } = secretsInformer();
    await create('a');
    informer.start();
    await informer.waitForSync();
    kube.forceGone('Secret');
    await settle();
    expect(informer.listCount).toBe(2);
    expect(calls).toEqual(['add ns/a']);
    await create('b');
    await settle();
    expect(calls).toEqual(['add ns/a', 'add ns/b']);
    await informer.stop();
  });

  it('reports what it missed while disconnected when it lists again', async () => {
    const { informer, calls, create, kube, clock } = secretsInformer();
    await create('kept');
    await create('deleted-while-away');
    await create('changed-while-away');
    informer.start();
    await informer.waitForSync();
    calls.length = 0;
    kube.dropWatches();
    await settle();
    await kube.delete('Secret', { namespace: ns, name: 'deleted-while-away' });
    await kube.patch('Secret', { namespace: ns, name: 'changed-while-away' }, { metadata: { labels: { changed: 'yes' } } });
    await create('created-while-away');
    kube.forceGone();
    await clock.advance(1000);
    expect(calls).toEqual(['update ns/changed-while-away', 'add ns/created-while-away', 'delete ns/deleted-while-away']);
    expect(informer.keys().sort()).toEqual(['ns/changed-while-away', 'ns/created-while-away', 'ns/kept']);
    await informer.stop();
  });

  it('lists again after a backoff when the watch drops', async () => {
    const { informer, calls, create, kube, clock } = secretsInformer();
    informer.start();
    await informer.waitForSync();
    kube.dropWatches();
    await settle();
    await create('a');
    await settle();
    expect(calls).toEqual([]);
    expect(informer.listCount).toBe(1);
    await clock.advance(1000);
    expect(informer.listCount).toBe(2);
    expect(calls).toEqual(['add ns/a']);
    await informer.stop();
  });

  it('backs off further while listing keeps failing', async () => {
    const { informer, kube, clock } = secretsInformer();
    kube.injectFault({ verbs: ['list'], times: 3, error: new StreamkeeperError('SK_KUBE_ERROR', 'apiserver down') });
    informer.start();
    await settle();
    const listsAt: number[] = [];
    while (!informer.hasSynced()) {
      await clock.advance(100);
      const attempts = kube.actions.filter((action) => action.verb === 'list').length;
      if (attempts > listsAt.length + 1) listsAt.push(clock.now());
    }
    expect(listsAt).toEqual([1000, 3000, 7000]);
    await informer.stop();
  });

  it('resumes from the last version without listing when the server ends a watch', async () => {
    const { informer, calls, create, kube } = secretsInformer();
    informer.start();
    await informer.waitForSync();
    await create('a');
    await settle();
    kube.closeWatches();
    await create('b');
    await settle();
    expect(informer.listCount).toBe(1);
    expect(calls).toEqual(['add ns/a', 'add ns/b']);
    await informer.stop();
  });

  it('moves its resourceVersion on bookmarks', async () => {
    const { informer, kube } = secretsInformer();
    informer.start();
    await informer.waitForSync();
    await kube.create('Lease', { metadata: { namespace: ns, name: 'unrelated' } });
    kube.bookmark('Secret');
    await settle();
    expect(informer.resourceVersion).toBe(kube.resourceVersion);
    await informer.stop();
  });

  it('replays every cached object on each resync', async () => {
    const { informer, calls, create, clock } = secretsInformer({ resyncPeriodMs: 60_000 });
    await create('a');
    informer.start();
    await informer.waitForSync();
    await clock.advance(60_000);
    await clock.advance(60_000);
    expect(calls).toEqual(['add ns/a', 'resync ns/a', 'resync ns/a']);
    await informer.stop();
  });

  it('keeps secondary indexes current', async () => {
    const { informer, create, kube } = secretsInformer();
    informer.addIndex('byJob', (object) => [object.metadata.labels?.job ?? '']);
    await create('a', { job: 'j1' });
    informer.start();
    await informer.waitForSync();
    await create('b', { job: 'j1' });
    await create('c', { job: 'j2' });
    await kube.patch('Secret', { namespace: ns, name: 'a' }, { metadata: { labels: { job: 'j2' } } });
    await settle();
    expect(informer.byIndex('byJob', 'j1').map((object) => object.metadata.name)).toEqual(['b']);
    expect(informer.byIndex('byJob', 'j2').map((object) => object.metadata.name).sort()).toEqual(['a', 'c']);
    await informer.stop();
  });

  it('keeps going when a handler throws', async () => {
    const { informer, calls, create } = secretsInformer();
    informer.addHandler({
      onAdd: () => {
        throw new Error('handler bug');
      },
    });
    informer.start();
    await informer.waitForSync();
    await create('a');
    await create('b');
    await settle();
    expect(calls).toEqual(['add ns/a', 'add ns/b']);
    await informer.stop();
  });

  it('replays the cache to a handler added after sync', async () => {
    const { informer, create } = secretsInformer();
    await create('a');
    informer.start();
    await informer.waitForSync();
    const late: string[] = [];
    informer.addHandler({ onAdd: (object) => late.push(object.metadata.name) });
    expect(late).toEqual(['a']);
    await informer.stop();
  });

  it('closes its watch when stopped', async () => {
    const { informer, kube } = secretsInformer();
    informer.start();
    await informer.waitForSync();
    await settle();
    expect(kube.openWatches()).toBe(1);
    await informer.stop();
    expect(kube.openWatches()).toBe(0);
  });
});
