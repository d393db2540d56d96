import { describe, expect, it } from '@jest/globals';
import { ManualClock, type Clock, type Timer } from '../../../src/machinery/clock.js';
import { ZooKeeperSession, type ZooKeeperSessionOptions } from '../../../src/coordination/session.js';
import { openAcl, type NodeData, type ZooKeeperConnector } from '../../../src/coordination/zookeeper/client.js';
import { digestAcl, digestAuth } from '../../../src/coordination/zookeeper/digest.js';
import { zkError, ZkRc } from '../../../src/coordination/zookeeper/errors.js';
import { InMemoryZooKeeper } from '../../../src/coordination/zookeeper/in-memory.js';
import { CountingObserver } from '../../contract/zookeeper/coordination-scenarios.js';
import { Deliveries, eventually } from '../../contract/zookeeper/waiting.js';

/** Sleeps return at once; the requested delays are recorded and time jumps by them. */
class RecordingClock implements Clock {
  private t = 0;
  readonly sleeps: number[] = [];
  now(): number {
    return this.t;
  }
  setTimer(delayMs: number, callback: () => void): Timer {
    this.sleeps.push(delayMs);
    this.t += delayMs;
    const handle = setImmediate(callback);
    return { cancel: () => { clearImmediate(handle); } };
  }
}

function options(server: InMemoryZooKeeper, extra: Partial<ZooKeeperSessionOptions> = {}): ZooKeeperSessionOptions {
  return { connector: server.connect, connectString: 'in-memory', backoff: { initialMs: 1, maxMs: 5 }, ...extra };
}

const text = (node: NodeData | null): string | null => (node === null ? null : node.data.toString());

describe('ZooKeeperSession', () => {
  it('retries the first connection with capped exponential backoff and jitter', async () => {
    const server = new InMemoryZooKeeper();
    let failures = 3;
    const connector: ZooKeeperConnector = (o) => (failures-- > 0 ? Promise.reject(zkError(ZkRc.connectionLoss, 'connect', 'in-memory')) : server.connect(o));
    const clock = new RecordingClock();
    const session = await ZooKeeperSession.open({ connector, connectString: 'in-memory', clock, random: () => 0.5, backoff: { initialMs: 100, maxMs: 300, multiplier: 2 } });
    expect(clock.sleeps).toEqual([75, 150, 225]);
    expect(session.state).toBe('connected');
    await session.close();
  });

  it('gives up opening after operationTimeoutMs with a transient error', async () => {
    const connector: ZooKeeperConnector = () => Promise.reject(zkError(ZkRc.connectionLoss, 'connect', 'in-memory'));
    await expect(ZooKeeperSession.open({ connector, connectString: 'nowhere:2181', clock: new RecordingClock(), operationTimeoutMs: 1000 })).rejects.toMatchObject({
      code: 'SK_ZK_CONNECTION_LOSS',
      kind: 'transient',
      message: expect.stringContaining('nowhere:2181') as unknown,
    });
  });

  it('holds operations through a connection loss and completes them once reconnected', async () => {
    const server = new InMemoryZooKeeper();
    const observer = new CountingObserver();
    const session = await ZooKeeperSession.open(options(server, { observer }));
    await session.create('/held', Buffer.from('v'), 'persistent', openAcl);
    const id = session.sessionId ?? '';
    server.disconnect(id);
    expect(session.state).toBe('connecting');
    let done = false;
    const read = session.get('/held').then((node) => {
      done = true;
      return node;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(done).toBe(false);
    server.reconnect(id);
    expect((await read).data.toString()).toBe('v');
    expect(session.sessionId).toBe(id);
    expect(observer.reconnects).toBe(1);
    expect(observer.expiries).toBe(0);
    expect(observer.states).toEqual(['connecting', 'connected', 'connecting', 'connected']);
    await session.close();
  });

  it('fails an operation with a transient error when the connection stays lost past operationTimeoutMs', async () => {
    const server = new InMemoryZooKeeper();
    const clock = new ManualClock();
    const session = await ZooKeeperSession.open(options(server, { clock, operationTimeoutMs: 30_000 }));
    server.disconnect(session.sessionId ?? '');
    const read = session.get('/');
    await new Promise((resolve) => setImmediate(resolve));
    const failed = expect(read).rejects.toMatchObject({ code: 'SK_ZK_CONNECTION_LOSS', kind: 'transient' });
    await clock.advance(30_000);
    await failed;
    await session.close();
  });

  it('fails an operation after connectionWaitMs of a lost connection, naming the servers, well before operationTimeoutMs', async () => {
    const server = new InMemoryZooKeeper();
    const clock = new ManualClock();
    const session = await ZooKeeperSession.open(options(server, { clock, operationTimeoutMs: 30_000, connectionWaitMs: 2000 }));
    server.disconnect(session.sessionId ?? '');
    let settled = false;
    const read = session.get('/').finally(() => {
      settled = true;
    });
    const failed = expect(read).rejects.toMatchObject({ code: 'SK_ZK_CONNECTION_LOSS', kind: 'transient', message: 'no connection to ZooKeeper at in-memory for 2000 ms' });
    await clock.advance(1999);
    expect(settled).toBe(false);
    await clock.advance(1);
    await failed;
    await session.close();
  });

  it('refuses a connectionWaitMs that is not positive', async () => {
    const server = new InMemoryZooKeeper();
    await expect(ZooKeeperSession.open(options(server, { connectionWaitMs: 0 }))).rejects.toThrow('connectionWaitMs must be greater than 0');
  });

  it('replaces an expired session: credentials added again, ephemerals re-created with their latest data, rescan emitted', async () => {
    const server = new InMemoryZooKeeper();
    const observer = new CountingObserver();
    const job = { user: 'job', password: 'a' };
    const extra = { user: 'extra', password: 'b' };
    const session = await ZooKeeperSession.open(options(server, { observer, auth: [digestAuth(job)] }));
    await session.addAuth('digest', 'extra:b');
    await session.create('/private', Buffer.from('only extra'), 'persistent', digestAcl(extra));
    const ephemeral = await session.registerEphemeral('/member', Buffer.from('active'), digestAcl(job));
    await ephemeral.update(Buffer.from('draining'));
    const rescans = new Deliveries<true>();
    session.onRescan(() => {
      rescans.listener(true);
    });
    const before = session.sessionId ?? '';

    server.expire(before);
    await rescans.until(() => true, 'rescan after expiry');

    expect(session.sessionId).not.toBe(before);
    expect(server.liveSessions()).toEqual([session.sessionId]);
    const member = await session.get('/member');
    expect(member.data.toString()).toBe('draining');
    expect(member.stat.ephemeralOwner).toBe(session.sessionId);
    expect((await session.getAcl('/member')).acl).toEqual(digestAcl(job));
    expect((await session.get('/private')).data.toString()).toBe('only extra');
    expect(observer.expiries).toBe(1);
    expect(observer.reconnects).toBe(1);
    expect(observer.states.slice(-2)).toEqual(['expired', 'connected']);
    await session.close();
  });

  it('delivers a node\'s value and every change: absent, created, changed, deleted, created again', async () => {
    const server = new InMemoryZooKeeper();
    const session = await ZooKeeperSession.open(options(server));
    const writer = await server.connect();
    const seen = new Deliveries<string | null>();
    const subscription = session.watchData('/watched', (node) => {
      seen.listener(text(node));
    });
    await seen.until((v) => v === null, 'absent');
    await writer.create('/watched', Buffer.from('one'));
    await seen.until((v) => v === 'one', 'created');
    await writer.set('/watched', Buffer.from('two'), -1);
    await seen.until((v) => v === 'two', 'changed');
    await writer.delete('/watched', -1);
    await seen.until((v) => v === null, 'deleted', 3);
    await writer.create('/watched', Buffer.from('three'));
    await seen.until((v) => v === 'three', 'created again');
    expect(seen.values).toEqual([null, 'one', 'two', null, 'three']);
    subscription.close();
    await writer.set('/watched', Buffer.from('four'), -1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen.values).toHaveLength(5);
    await session.close();
  });

  it('re-arms a data watch after expiry and delivers what changed while the session was gone', async () => {
    const server = new InMemoryZooKeeper();
    const session = await ZooKeeperSession.open(options(server));
    const writer = await server.connect();
    await writer.create('/config', Buffer.from('v1'));
    const seen = new Deliveries<string | null>();
    session.watchData('/config', (node) => {
      seen.listener(text(node));
    });
    await seen.until((v) => v === 'v1', 'first value');
    server.expire(session.sessionId ?? '');
    await writer.set('/config', Buffer.from('v2'), -1);
    await seen.until((v) => v === 'v2', 'change made during expiry');
    await writer.set('/config', Buffer.from('v3'), -1);
    await seen.until((v) => v === 'v3', 'change on the new session');
    expect(seen.values).toEqual(['v1', 'v2', 'v3']);
    await session.close();
  });

  it('delivers children and every change of them, across an expiry', async () => {
    const server = new InMemoryZooKeeper();
    const session = await ZooKeeperSession.open(options(server));
    const writer = await server.connect();
    const seen = new Deliveries<readonly string[] | null>();
    session.watchChildren('/dir', seen.listener);
    await seen.until((v) => v === null, 'no parent yet');
    await writer.create('/dir', Buffer.from(''));
    await writer.create('/dir/b', Buffer.from(''));
    await seen.until((v) => v?.join() === 'b', 'one child');
    server.expire(session.sessionId ?? '');
    await writer.create('/dir/a', Buffer.from(''));
    await seen.until((v) => v?.join() === 'a,b', 'child added while the session was gone');
    await writer.delete('/dir/b', -1);
    await seen.until((v) => v?.join() === 'a', 'child removed');
    await session.close();
  });

  it('delivers children with their data, once every child has been read', async () => {
    const server = new InMemoryZooKeeper();
    const session = await ZooKeeperSession.open(options(server));
    const writer = await server.connect();
    await writer.create('/members', Buffer.from(''));
    await writer.create('/members/a', Buffer.from('1'));
    await writer.create('/members/b', Buffer.from('2'));
    const seen = new Deliveries<Record<string, string>>();
    session.watchChildrenData('/members', (children) => {
      seen.listener(Object.fromEntries([...children].map(([name, node]) => [name, node.data.toString()])));
    });
    expect(await seen.until(() => true, 'first delivery')).toEqual({ a: '1', b: '2' });
    await writer.set('/members/a', Buffer.from('1b'), -1);
    await seen.until((v) => v.a === '1b', 'data change');
    await writer.delete('/members/b', -1);
    await seen.until((v) => v.b === undefined, 'child gone');
    await writer.create('/members/c', Buffer.from('3'));
    expect(await seen.until((v) => v.c === '3', 'child added')).toEqual({ a: '1b', c: '3' });
    await session.close();
  });

  it('waits for the ephemeral of an earlier session to go before registering its own', async () => {
    const server = new InMemoryZooKeeper();
    const earlier = await server.connect();
    await earlier.create('/executor-0', Buffer.from('old'), 'ephemeral');
    const session = await ZooKeeperSession.open(options(server));
    let registered = false;
    const registering = session.registerEphemeral('/executor-0', Buffer.from('new')).then(() => {
      registered = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(registered).toBe(false);
    await earlier.close();
    await registering;
    const node = await session.get('/executor-0');
    expect([node.data.toString(), node.stat.ephemeralOwner]).toEqual(['new', session.sessionId]);
    await session.close();
  });

  it('stops re-creating an ephemeral once it is removed', async () => {
    const server = new InMemoryZooKeeper();
    const session = await ZooKeeperSession.open(options(server));
    const node = await session.registerEphemeral('/leaving', Buffer.from(''));
    await node.remove();
    const rescans = new Deliveries<true>();
    session.onRescan(() => {
      rescans.listener(true);
    });
    server.expire(session.sessionId ?? '');
    await rescans.until(() => true, 'rescan');
    expect(await session.exists('/leaving')).toBeNull();
    await session.close();
  });

  it('fails operations once closed and ends its ephemerals', async () => {
    const server = new InMemoryZooKeeper();
    const observer = new CountingObserver();
    const session = await ZooKeeperSession.open(options(server, { observer }));
    await session.registerEphemeral('/gone-with-me', Buffer.from(''));
    await session.close();
    expect(session.state).toBe('closed');
    expect(observer.states.at(-1)).toBe('closed');
    await expect(session.get('/')).rejects.toMatchObject({ code: 'SK_ZK_SESSION_EXPIRED' });
    const other = await server.connect();
    await eventually(() => other.exists('/gone-with-me'), (s) => s === null, 'ephemeral removed');
  });
});
