/**
 * The behaviour every ZooKeeperClient must have, run against the native adapter on a real
 * server (integration) and against the in-memory fake (unit), so the fake cannot drift.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { anyVersion, type WatchEvent, type ZooKeeperClient, type ZooKeeperConnectOptions } from '../../../src/coordination/zookeeper/client.js';
import { digestAcl, digestAuth } from '../../../src/coordination/zookeeper/digest.js';

export interface ZooKeeperContractTarget {
  connect(options?: Partial<ZooKeeperConnectOptions>): Promise<ZooKeeperClient>;
  /** Ends the client's session the way a server-side timeout would. */
  expire(client: ZooKeeperClient): Promise<void>;
}

function nextEvent(): { watcher: (event: WatchEvent) => void; event: Promise<WatchEvent> } {
  let watcher!: (event: WatchEvent) => void;
  const event = new Promise<WatchEvent>((resolveEvent) => {
    watcher = resolveEvent;
  });
  return { watcher, event };
}

async function within<T>(promise: Promise<T>, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`nothing happened within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const data = (text: string): Buffer => Buffer.from(text);

export function describeZooKeeperContract(name: string, target: () => ZooKeeperContractTarget): void {
  describe(`ZooKeeperClient contract: ${name}`, () => {
    let zk: ZooKeeperClient;
    const root = `/contract-${randomBytes(4).toString('hex')}`;

    beforeAll(async () => {
      zk = await target().connect();
      await zk.create(root, data(''));
    });

    afterAll(async () => {
      await zk.close();
    });

    it('creates, reads, updates with a version and deletes a node', async () => {
      const path = `${root}/crud`;
      expect(await zk.create(path, data('one'))).toBe(path);
      const read = await zk.get(path);
      expect(read.data.toString()).toBe('one');
      expect(read.stat.version).toBe(0);
      const stat = await zk.set(path, data('two'), 0);
      expect(stat.version).toBe(1);
      expect((await zk.get(path)).data.toString()).toBe('two');
      await zk.delete(path, 1);
      expect(await zk.exists(path)).toBeNull();
    });

    it('rejects a set against a stale version with SK_ZK_BAD_VERSION', async () => {
      const path = `${root}/cas`;
      await zk.create(path, data('a'));
      await zk.set(path, data('b'), 0);
      await expect(zk.set(path, data('c'), 0)).rejects.toMatchObject({ code: 'SK_ZK_BAD_VERSION' });
      await expect(zk.delete(path, 0)).rejects.toMatchObject({ code: 'SK_ZK_BAD_VERSION' });
      expect((await zk.get(path)).data.toString()).toBe('b');
      await zk.set(path, data('d'), anyVersion);
    });

    it('reports missing, existing and non-empty nodes with their codes', async () => {
      await expect(zk.get(`${root}/missing`)).rejects.toMatchObject({ code: 'SK_ZK_NO_NODE' });
      await expect(zk.create(`${root}/missing/child`, data(''))).rejects.toMatchObject({ code: 'SK_ZK_NO_NODE' });
      await zk.create(`${root}/dup`, data(''));
      await expect(zk.create(`${root}/dup`, data(''))).rejects.toMatchObject({ code: 'SK_ZK_NODE_EXISTS' });
      await zk.create(`${root}/dup/child`, data(''));
      await expect(zk.delete(`${root}/dup`, anyVersion)).rejects.toMatchObject({ code: 'SK_ZK_NOT_EMPTY' });
    });

    it('lists children sorted and names sequential nodes with a 10-digit counter', async () => {
      const parent = `${root}/seq`;
      await zk.create(parent, data(''));
      const first = await zk.create(`${parent}/item-`, data(''), 'persistent-sequential');
      const second = await zk.create(`${parent}/item-`, data(''), 'persistent-sequential');
      expect(first).toMatch(/\/item-\d{10}$/);
      expect(second > first).toBe(true);
      await zk.create(`${parent}/a`, data(''));
      expect(await zk.children(parent)).toEqual(['a', first.slice(parent.length + 1), second.slice(parent.length + 1)].sort());
    });

    it('removes an ephemeral node when its session closes', async () => {
      const other = await target().connect();
      const path = `${root}/ephemeral`;
      await other.create(path, data('alive'), 'ephemeral');
      const stat = await zk.exists(path);
      expect(stat?.ephemeralOwner).toBe(other.sessionId);
      const { watcher, event } = nextEvent();
      await zk.exists(path, watcher);
      await other.close();
      expect(await within(event)).toEqual({ type: 'deleted', path });
      expect(await zk.exists(path)).toBeNull();
    });

    it('removes an ephemeral node when its session expires, and the expired client is dead', async () => {
      const other = await target().connect();
      const path = `${root}/ephemeral-expiry`;
      await other.create(path, data(''), 'ephemeral');
      const states: string[] = [];
      other.onStateChange((s) => states.push(s));
      const lost = nextEvent();
      await other.get(path, lost.watcher);
      await target().expire(other);
      expect(await within(lost.event)).toMatchObject({ type: 'lost' });
      expect(states).toContain('expired');
      expect(other.state).toBe('expired');
      await expect(other.get(path)).rejects.toMatchObject({ code: 'SK_ZK_SESSION_EXPIRED' });
      for (let i = 0; i < 100 && (await zk.exists(path)) !== null; i += 1) await sleep(50);
      expect(await zk.exists(path)).toBeNull();
    });

    it('fires a data watch once, on change', async () => {
      const path = `${root}/watched`;
      await zk.create(path, data('v0'));
      const first = nextEvent();
      let calls = 0;
      await zk.get(path, (e) => {
        calls += 1;
        first.watcher(e);
      });
      await zk.set(path, data('v1'), anyVersion);
      expect(await within(first.event)).toEqual({ type: 'changed', path });
      await zk.set(path, data('v2'), anyVersion);
      await sleep(200);
      expect(calls).toBe(1); // one-shot
    });

    it('fires an exists watch when a missing node is created', async () => {
      const path = `${root}/later`;
      const { watcher, event } = nextEvent();
      expect(await zk.exists(path, watcher)).toBeNull();
      await zk.create(path, data(''));
      expect(await within(event)).toEqual({ type: 'created', path });
    });

    it('fires a child watch when a child is added or removed', async () => {
      const parent = `${root}/members`;
      await zk.create(parent, data(''));
      const added = nextEvent();
      expect(await zk.children(parent, added.watcher)).toEqual([]);
      await zk.create(`${parent}/one`, data(''));
      expect(await within(added.event)).toEqual({ type: 'children', path: parent });
      const removed = nextEvent();
      expect(await zk.children(parent, removed.watcher)).toEqual(['one']);
      await zk.delete(`${parent}/one`, anyVersion);
      expect(await within(removed.event)).toEqual({ type: 'children', path: parent });
    });

    it('keeps a digest-protected node from an anonymous client (NoAuth) and allows its owner', async () => {
      const owner = { user: 'job-a', password: randomBytes(8).toString('hex') };
      const authed = await target().connect({ auth: [digestAuth(owner)] });
      const anonymous = await target().connect();
      try {
        const path = `${root}/secured`;
        await authed.create(path, data('private'), 'persistent', digestAcl(owner));
        expect((await authed.get(path)).data.toString()).toBe('private');
        await expect(anonymous.get(path)).rejects.toMatchObject({ code: 'SK_ZK_NO_AUTH' });
        await expect(anonymous.set(path, data('x'), anyVersion)).rejects.toMatchObject({ code: 'SK_ZK_NO_AUTH' });
        await expect(anonymous.create(`${path}/child`, data(''))).rejects.toMatchObject({ code: 'SK_ZK_NO_AUTH' });
        const { acl } = await authed.getAcl(path);
        expect(acl).toEqual(digestAcl(owner));
        // A second identity with the right password gets in; a wrong password does not.
        const sameOwner = await target().connect({ auth: [digestAuth(owner)] });
        expect((await sameOwner.get(path)).data.toString()).toBe('private');
        await sameOwner.close();
        const impostor = await target().connect({ auth: [digestAuth({ user: 'job-a', password: 'wrong' })] });
        await expect(impostor.get(path)).rejects.toMatchObject({ code: 'SK_ZK_NO_AUTH' });
        await impostor.close();
      } finally {
        await authed.close();
        await anonymous.close();
      }
    });

    it('reads a reply that arrives in many pieces without losing the session', async () => {
      const path = `${root}/large`;
      const large = Buffer.alloc(1_000_000, 'z');
      await zk.create(path, large);
      for (let i = 0; i < 3; i += 1) expect((await zk.get(path)).data.equals(large)).toBe(true);
      expect(zk.state).toBe('connected');
      await zk.delete(path, anyVersion);
    });

    it('rejects getAcl of a missing or unreadable node with an error code (never crashes)', async () => {
      await expect(zk.getAcl(`${root}/no-such-node`)).rejects.toMatchObject({ code: 'SK_ZK_NO_NODE' });
      const owner = { user: 'job-b', password: randomBytes(8).toString('hex') };
      const authed = await target().connect({ auth: [digestAuth(owner)] });
      try {
        await authed.create(`${root}/locked`, data(''), 'persistent', digestAcl(owner));
        await expect(zk.getAcl(`${root}/locked`)).rejects.toMatchObject({ code: 'SK_ZK_NO_AUTH' });
        expect((await authed.getAcl(`${root}/locked`)).stat.aversion).toBe(1);
      } finally {
        await authed.close();
      }
    });

    it('fails calls on a closed client instead of hanging', async () => {
      const other = await target().connect();
      await other.close();
      await expect(within(other.get(root), 5000)).rejects.toMatchObject({ code: 'SK_ZK_SESSION_EXPIRED' });
      await expect(within(other.addAuth('digest', 'a:b'), 5000)).rejects.toBeDefined();
    });
  });
}
