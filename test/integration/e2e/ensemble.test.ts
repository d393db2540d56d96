/**
 * A job on a three-server ZooKeeper ensemble, as production ZooKeeper runs, loses the
 * ensemble's leader and later a follower while it streams: the survivors elect a new leader, the
 * operator, driver and executors (all given every member in the connect string) move their
 * sessions to the survivors, no job is left stuck, and every word is still counted exactly once.
 * The driver's and executors' sessions survive the election (a 10 s session timeout, an election
 * of about a second): the registrations they hold keep their owners.
 */
import { describe, expect, it } from '@jest/globals';
import { fourLetterWord, type ZooKeeperServer } from '../../../src/local/zookeeper-server.js';
import type { E2eWorld } from './support/e2e-world.js';
import { e2eSuite, e2eTimeoutMs } from './support/suite.js';
import { eventually } from './support/waiting.js';
import type { WordcountJob } from './support/wordcount-job.js';

/** Figures measured along the way (not asserted: machines are noisy). */
function report(line: string): void {
  process.stderr.write(`e2e ensemble: ${line}\n`);
}

async function committedBatch(job: WordcountJob): Promise<number> {
  return Number((await job.committedOffsets())?.batch ?? -1);
}

/**
 * How long batches take to commit one after another while nothing fails: the baseline a stall
 * after a kill is read against (a kill lands anywhere within a batch, so a stall of up to one gap
 * is no stall at all).
 */
async function commitGapMs(job: WordcountJob, batches = 3): Promise<number> {
  const first = await committedBatch(job);
  const from = await eventually(async () => {
    const now = await committedBatch(job);
    if (now <= first) throw new Error(`still at batch ${now}`);
    return { batch: now, at: Date.now() };
  }, 'a batch committed');
  const to = await eventually(async () => {
    const now = await committedBatch(job);
    if (now < from.batch + batches) throw new Error(`at batch ${now}, waiting for ${from.batch + batches}`);
    return { batch: now, at: Date.now() };
  }, `${batches} batches committed`);
  return (to.at - from.at) / (to.batch - from.batch);
}

/** Client connections a member serves now (`srvr`), 0 when it does not answer. */
async function connections(member: ZooKeeperServer): Promise<number> {
  try {
    return Number(/^Connections: (\d+)$/m.exec(await fourLetterWord(member.port, 'srvr'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** The sessions that hold the job's driver and executor registrations, by znode. */
async function registrationOwners(world: E2eWorld, job: WordcountJob): Promise<Map<string, string>> {
  const zk = await world.zookeeper();
  const executors = world.layout.executors(job.ref);
  const paths = [world.layout.driver(job.ref), ...(await zk.children(executors)).map((pod) => `${executors}/${pod}`)];
  const owners = new Map<string, string>();
  for (const path of paths) {
    const stat = await zk.exists(path);
    if (stat !== null) owners.set(path, BigInt(`0x${stat.ephemeralOwner}`).toString(16));
  }
  return owners;
}

/**
 * SIGKILLs `member` and waits until a batch commits after the last one committed before; returns
 * how long commits stalled. The job's clients (operator, driver, executors, and this test's
 * reader, opened afresh after the kill) must by then be connected to the survivors, the driver and
 * executors in the sessions that registered them before the kill.
 */
async function killMember(world: E2eWorld, job: WordcountJob, member: ZooKeeperServer, role: string, gapMs: number): Promise<number> {
  const owners = await registrationOwners(world, job);
  expect(owners.size).toBe(3);
  const jobSessions = new Set(owners.values());
  const heldByMember = (await member.sessions()).filter((sid) => jobSessions.has(sid)).length;
  const before = await committedBatch(job);
  const killedAt = Date.now();
  await member.kill();
  await world.reopenZookeeper();
  await eventually(async () => {
    const now = await committedBatch(job);
    if (now <= before) throw new Error(`no batch committed after batch ${before} (last ${now}); members: ${(await world.ensemble.modes()).join(', ')}`);
  }, `a batch committed after the ${role} was killed`);
  const stallMs = Date.now() - killedAt;
  const leader = await eventually(() => world.ensemble.leader(), 'a leader among the survivors');
  expect(leader).not.toBe(member);
  const survivors = world.ensemble.members.filter((m) => m !== member);
  const served = await Promise.all(survivors.map(connections));
  // The operator, the driver and two executors hold sessions; this test's reader holds one too.
  expect(served.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(4);
  // Every registration is still held by the session that made it, now served by a survivor.
  await eventually(async () => {
    const onSurvivors = new Set((await Promise.all(survivors.map((m) => m.sessions()))).flat());
    expect(await registrationOwners(world, job)).toEqual(owners);
    for (const [path, sid] of owners) if (!onSurvivors.has(sid)) throw new Error(`session 0x${sid} of ${path} is connected to no survivor`);
  }, `the job's sessions connected to the survivors`);
  report(
    `${role} (myid ${member.member?.id ?? '?'}, port ${member.port}, serving ${heldByMember} of the job's 3 registration sessions) SIGKILLed: ` +
      `the next batch committed after ${(stallMs / 1000).toFixed(1)} s (batches committed every ${(gapMs / 1000).toFixed(1)} s before); ` +
      `leader now myid ${leader.member?.id ?? '?'}; survivors serve ${served.join(' + ')} connections; the 3 sessions kept their ids`,
  );
  return stallMs;
}

describe('a job on a three-server ZooKeeper ensemble', () => {
  const e2e = e2eSuite({ name: 'ensemble', servers: 'own-ensemble' });

  it('loses the leader, then a follower, while it streams: a new leader, sessions on the survivors, no job stuck, every word once', e2e.scenario(async (world) => {
    const ensemble = world.ensemble;
    expect(world.zkConnect.split(',')).toHaveLength(3);
    const job = await world.wordcountJob('ensemble', { executors: 2 });
    await job.apply();
    await job.waitForRunning(2);
    const pods = await job.recordPods();
    const input = job.startProducing(40, 300);
    await eventually(async () => {
      if ((await committedBatch(job)) < 1) throw new Error('no batch committed yet');
    }, 'a first batch committed');

    const leader = await eventually(() => ensemble.leader(), 'a leader in the ensemble');
    await killMember(world, job, leader, 'the leader', await commitGapMs(job));
    // Back as a follower, so that the ensemble keeps its majority when a follower goes next.
    await leader.restart();
    expect(await leader.mode()).toBe('follower');

    const [follower] = (await ensemble.followers()).filter((m) => m !== leader);
    if (follower === undefined) throw new Error('no follower besides the restarted leader');
    await killMember(world, job, follower, 'a follower', await commitGapMs(job));
    await follower.restart();

    await input.stop();
    await job.waitForAllInputCommitted();
    await job.verifyExactlyOnce();
    await job.waitForRunning(2);
    await pods.stop();
    report(`pods through both kills: ${[...pods.incarnations()].map(([name, uids]) => `${name} ×${uids.length}`).join(', ')}`);
  }), e2eTimeoutMs);
});
