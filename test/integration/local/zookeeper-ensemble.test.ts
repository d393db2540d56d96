/**
 * A replicated ZooKeeper ensemble on loopback behaves as production ones do when a member dies:
 * the survivors elect a new leader, a client given every member keeps its session through them,
 * and the dead member rejoins as a follower when it restarts.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from '@jest/globals';
import { ZooKeeperSession } from '../../../src/coordination/session.js';
import { openAcl } from '../../../src/coordination/zookeeper/client.js';
import { NativeZooKeeperClient } from '../../../src/coordination/zookeeper/native-client.js';
import { ZooKeeperEnsemble } from '../../../src/local/zookeeper-ensemble.js';
import type { ZooKeeperServer } from '../../../src/local/zookeeper-server.js';
import { repoRoot } from '../../support/packaging/manifests.js';
import { pollUntil } from '../../support/poll-until.js';

let ensemble: ZooKeeperEnsemble | undefined;
const clientProcesses: ClientProcess[] = [];

afterAll(async () => {
  await Promise.all(clientProcesses.map((p) => p.stop()));
  await ensemble?.destroy();
}, 60_000);

interface Probe {
  readonly answered: boolean[];
  readonly sessions: string[];
}

/** Whether each client answers a request within 2 s (a stuck one never does). */
async function probe(clients: readonly NativeZooKeeperClient[]): Promise<Probe> {
  const answered = await Promise.all(
    clients.map((c) =>
      Promise.race([
        c.exists('/').then(
          () => true,
          () => false,
        ),
        new Promise<boolean>((resolve) => {
          setTimeout(() => {
            resolve(false);
          }, 2000).unref();
        }),
      ]),
    ),
  );
  return { answered, sessions: clients.map((c) => c.sessionId) };
}

/** Native clients in a process of their own (support/zookeeper-client-process.mjs). */
class ClientProcess {
  private constructor(
    private readonly child: ChildProcessByStdio<Writable, Readable, null>,
    private readonly lines: AsyncIterator<string>,
    readonly sessions: readonly string[],
  ) {}

  static async start(connectString: string, clients: number, zookeeperPackage?: string): Promise<ClientProcess> {
    const script = join(repoRoot, 'test', 'integration', 'local', 'support', 'zookeeper-client-process.mjs');
    const child = spawn(process.execPath, [script, connectString, String(clients), ...(zookeeperPackage === undefined ? [] : [zookeeperPackage])], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines: Interface = createInterface({ input: child.stdout });
    const iterator = lines[Symbol.asyncIterator]();
    const first = await iterator.next();
    if (first.done === true) throw new Error('a ZooKeeper client process ended before its clients connected');
    const { sessions } = JSON.parse(first.value) as { sessions: string[] };
    const started = new ClientProcess(child, iterator, sessions);
    clientProcesses.push(started);
    return started;
  }

  private async ask<T>(command: string): Promise<T> {
    this.child.stdin.write(`${command}\n`);
    const line = await this.lines.next();
    if (line.done === true) throw new Error(`a ZooKeeper client process ended (asked: ${command})`);
    return JSON.parse(line.value) as T;
  }

  probe(): Promise<Probe> {
    return this.ask<Probe>('probe');
  }

  /** Starts a long-lived child of its own, as this process does when it restarts a member. */
  async spawnChild(): Promise<void> {
    await this.ask('spawn');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

describe('a three-server ZooKeeper ensemble', () => {
  it('elects a new leader when its leader is SIGKILLed; the session moves to a survivor and the old leader rejoins as a follower', async () => {
    const members = await ZooKeeperEnsemble.start();
    ensemble = members;
    expect(members.connectString.split(',')).toHaveLength(3);
    expect((await members.modes()).sort()).toEqual(['follower', 'follower', 'leader']);
    const session = await ZooKeeperSession.open({ connector: (options) => NativeZooKeeperClient.connect(options), connectString: members.connectString, sessionTimeoutMs: 10_000 });
    try {
      await session.create('/replicated', Buffer.from('on every member'), 'persistent', openAcl);
      await session.registerEphemeral('/alive', Buffer.from('mine'));
      const sessionId = session.sessionId;
      const leader = await members.leader();
      await leader.kill();
      expect(await leader.mode()).toBe('not serving');

      // Reads and writes go on through the survivors, in the same session.
      expect((await session.get('/replicated')).data.toString()).toBe('on every member');
      await session.create('/after-the-election', Buffer.alloc(0), 'persistent', openAcl);
      expect(await session.exists('/alive')).not.toBeNull();
      expect(session.sessionId).toBe(sessionId);
      const next = await members.leader();
      expect(next).not.toBe(leader);

      await leader.restart();
      expect(await leader.mode()).toBe('follower');
      expect((await members.modes()).sort()).toEqual(['follower', 'follower', 'leader']);
    } finally {
      await session.close();
    }
  }, 180_000);

  // Every client loses its server when a leader dies (followers drop their clients during the
  // election) and must find a survivor by itself, however its last connect attempt ended. The
  // time it took is printed: about a third of the session timeout with the addon's own event-loop
  // glue, well under a second with the fix the product builds it with (docs/zookeeper.md).
  it('brings every client back, in its own session, after the leader is SIGKILLed', async () => {
    await ensemble?.destroy();
    const members = await ZooKeeperEnsemble.start();
    ensemble = members;
    const clients = await Promise.all(Array.from({ length: 6 }, () => NativeZooKeeperClient.connect({ connectString: members.connectString, sessionTimeoutMs: 10_000 })));
    try {
      const sessions = clients.map((c) => c.sessionId);
      const killedAt = Date.now();
      await (await members.leader()).kill();
      await pollUntil(() => members.leader(), 'a new leader', { timeoutMs: 30_000, pollMs: 200 });
      // A request completes only on a connected client: a stuck one never answers.
      await pollUntil(async () => {
        const answered = await Promise.all(clients.map((c) => Promise.race([c.exists('/').then(() => true, () => false), new Promise<boolean>((resolve) => {
          setTimeout(() => { resolve(false); }, 2000).unref();
        })])));
        expect(answered).toEqual(clients.map(() => true));
      }, 'every client answering after the leader\'s SIGKILL', { timeoutMs: 30_000, pollMs: 200 });
      process.stderr.write(`zookeeper ensemble: all ${clients.length} clients answered ${((Date.now() - killedAt) / 1000).toFixed(2)} s after the leader's SIGKILL\n`);
      expect(clients.map((c) => c.sessionId)).toEqual(sessions);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  }, 120_000);

  // After the killed leader's member rejoined, a second election (its new leader killed, then a
  // follower) left clients spinning in the addon's poll callback, never answering again in their
  // session: an epoll registration of a socket the C client had closed, kept alive by a child
  // process that inherited it, reported a dead connection under the number of the client's new
  // socket (docs/zookeeper.md). Clients of the product's addon (in this process, which restarts
  // the members, and in processes of their own) and of the addon as published (processes of their
  // own) go through three elections; the time until each group answered again in its own sessions
  // is printed, and the product's clients must do so within their session timeout every time.
  it('brings every client back, in its own session, after a leader kill, its rejoin, a second leader kill and a follower kill', async () => {
    await ensemble?.destroy();
    const { ensurePublishedZookeeperPackage } = (await import(pathToFileURL(join(repoRoot, 'tools', 'node', 'runtime.mjs')).href)) as { ensurePublishedZookeeperPackage: () => string };
    const published = ensurePublishedZookeeperPackage();
    const members = await ZooKeeperEnsemble.start();
    ensemble = members;
    const sessionTimeoutMs = 10_000;
    const inProcess = await Promise.all(Array.from({ length: 4 }, () => NativeZooKeeperClient.connect({ connectString: members.connectString, sessionTimeoutMs })));
    const ours = await Promise.all([0, 1].map(() => ClientProcess.start(members.connectString, 3)));
    const theirs = await Promise.all([0, 1].map(() => ClientProcess.start(members.connectString, 3, published)));
    const groups = [
      { name: "product's addon, 4 clients in this process", ours: true, probe: () => probe(inProcess), sessions: inProcess.map((c) => c.sessionId) },
      ...ours.map((p, i) => ({ name: `product's addon, 3 clients in process ${i + 1}`, ours: true, probe: () => p.probe(), sessions: p.sessions })),
      ...theirs.map((p, i) => ({ name: `addon as published, 3 clients in process ${i + 1}`, ours: false, probe: () => p.probe(), sessions: p.sessions })),
    ];
    const rounds: { round: string; kill: () => Promise<ZooKeeperServer> }[] = [
      { round: 'leader killed', kill: async () => members.leader() },
      { round: 'the new leader killed, after the first rejoined', kill: async () => members.leader() },
      { round: 'a follower killed, after the second rejoined', kill: async () => (await members.followers())[0] ?? members.leader() },
    ];
    const figures: string[][] = groups.map(() => []);
    const stalled = groups.map(() => false);
    try {
      for (const { round, kill } of rounds) {
        const member = await kill();
        const killedAt = Date.now();
        await member.kill();
        await pollUntil(() => members.leader(), `a leader after: ${round}`, { timeoutMs: 30_000, pollMs: 200 });
        // A client answers in its own session only while that session lives: within its timeout.
        const back = await Promise.all(
          groups.map(async (group, i) => {
            if (stalled[i] === true) return undefined;
            const deadline = killedAt + sessionTimeoutMs;
            for (;;) {
              const { answered, sessions } = await group.probe();
              if (answered.every(Boolean) && sessions.every((s, j) => s === group.sessions[j])) return (Date.now() - killedAt) / 1000;
              if (Date.now() > deadline) return undefined;
              await new Promise((resolve) => setTimeout(resolve, 200));
            }
          }),
        );
        back.forEach((seconds, i) => {
          figures[i]?.push(seconds === undefined ? (stalled[i] === true ? '-' : 'stuck') : `${seconds.toFixed(2)} s`);
          if (seconds === undefined) stalled[i] = true;
        });
        await member.restart();
        await pollUntil(
          async () => {
            expect(await member.mode()).toBe('follower');
          },
          `the killed member following again after: ${round}`,
          { timeoutMs: 60_000, pollMs: 200 },
        );
        await Promise.all([...ours, ...theirs].map((p) => p.spawnChild()));
      }
    } finally {
      process.stderr.write(
        `zookeeper ensemble, every client of a group answering in its own session after: ${rounds.map((r) => r.round).join(' | ')}\n` +
          groups.map((group, i) => `  ${group.name}: ${(figures[i] ?? []).join(' | ')}\n`).join(''),
      );
      await Promise.all([...ours, ...theirs].map((p) => p.stop()));
      await Promise.all(inProcess.map((c) => c.close()));
    }
    expect(groups.filter((group, i) => group.ours && stalled[i] === true).map((group) => group.name)).toEqual([]);
  }, 300_000);
});
