/**
 * One contract for every JobCoordination: the in-memory port the reconciler's tests use, and
 * the ZooKeeper adapter (on the in-memory ZooKeeper in unit tests, on a real ZooKeeper in
 * integration tests). Each target supplies the job's side — executors, driver, tasks — in its
 * own terms; the expectations are the same.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { digestId } from '../../../src/coordination/zookeeper/digest.js';
import type { ProgressBlocker } from '../../../src/coordination/progress-report.js';
import { credentialFingerprint, type CoordinatedJob, type CredentialIssuer, type DesiredJobConfig, type DigestCredential, type JobCoordination } from '../../../src/operator/job-coordination.js';
import { pollUntil } from '../../support/poll-until.js';

export interface ExecutorProcess {
  /** The process dies: its session (and so its registration) ends. */
  crash(): Promise<void>;
}

export interface PortWorld {
  readonly port: JobCoordination;
  /** An operator's port whose connection to ZooKeeper the test can cut and restore. */
  cuttableOperator(): Promise<CuttableOperator>;
  /** An executor of `job` starts under `pod` and registers, with the credential the port issued. */
  startExecutor(job: CoordinatedJob, credential: DigestCredential | undefined, pod: string): Promise<ExecutorProcess>;
  startDriver(job: CoordinatedJob, credential: DigestCredential | undefined): Promise<void>;
  /** The running driver reports why the job cannot move data (undefined: the cause went). */
  reportBlocked(job: CoordinatedJob, credential: DigestCredential | undefined, blocked: ProgressBlocker | undefined, lastError?: string): Promise<void>;
  /** The driver plans a batch of `count` tasks, all assigned to `owner`. */
  assignTasks(job: CoordinatedJob, credential: DigestCredential | undefined, owner: string, count: number): Promise<void>;
  /** `owner` completes every task it holds. */
  finishTasks(job: CoordinatedJob, credential: DigestCredential | undefined, owner: string): Promise<void>;
  /** The driver commits batch `id`. */
  commitBatch(job: CoordinatedJob, credential: DigestCredential | undefined, id: number): Promise<void>;
  /** Unfinished tasks `owner` holds. */
  holding(job: CoordinatedJob, owner: string): Promise<number>;
  /** Whether a process holding `credential` can read the job's config and every task. */
  admits(job: CoordinatedJob, credential: DigestCredential | undefined): Promise<boolean>;
  close(): Promise<void>;
}

export interface CuttableOperator {
  readonly port: JobCoordination;
  /** The ZooKeeper servers this port connects to, as its errors name them. */
  readonly servers: string;
  /** Its connection to ZooKeeper is lost (a network fault; its session survives a short one). */
  cut(): Promise<void>;
  /** Its connection can come back. */
  restore(): Promise<void>;
}

export interface PortTarget {
  readonly credentials: 'per-job' | 'open';
  open(): Promise<PortWorld>;
}

const policy = { maxTaskAttempts: 4 };

export function config(generation = 1, values: Record<string, string> = { greeting: 'hello' }): DesiredJobConfig {
  return {
    generation,
    content: {
      config: values,
      processor: { name: 'wordcount', params: {} },
      batchInterval: '5s',
      maxRecordsPerPartition: 1000,
      maxTaskAttempts: 4,
      source: { bootstrapServers: ['127.0.0.1:9092'], topics: ['in'], startingOffsets: 'earliest' },
      sink: { bootstrapServers: ['127.0.0.1:9092'], topic: 'out', delivery: 'exactlyOnce' },
      failurePolicy: { onTaskExhausted: 'fail', poisonRecords: 'fail' },
    },
  };
}

/** Polls `check` until it passes (watches deliver asynchronously on a real server). */
function eventually(check: () => void | Promise<void>, timeoutMs = 10_000): Promise<void> {
  return pollUntil(check, 'the contract\'s expectation', { timeoutMs, pollMs: 20 });
}

export function describeJobCoordinationContract(name: string, target: () => PortTarget): void {
  describe(`the JobCoordination contract: ${name}`, () => {
    let world: PortWorld;
    let credentials: 'per-job' | 'open';
    const issued: DigestCredential[] = [];
    const issue: CredentialIssuer = (credential) => {
      issued.push(credential);
      return Promise.resolve();
    };
    const newJob = (): CoordinatedJob => ({ namespace: 'team-a', name: `job-${randomBytes(3).toString('hex')}`, uid: randomBytes(8).toString('hex') });
    /** A set-up job and the credential its pods hold. */
    const setUp = async (): Promise<{ job: CoordinatedJob; credential: DigestCredential | undefined }> => {
      const job = newJob();
      const before = issued.length;
      await world.port.ensureJob(job, config(), issue);
      return { job, credential: issued.length > before ? issued[issued.length - 1] : undefined };
    };

    beforeEach(async () => {
      const t = target();
      credentials = t.credentials;
      world = await t.open();
      issued.length = 0;
    });

    afterEach(async () => {
      await world.close();
    });

    it('issues a credential once, before the subtree is set up, when ACLs are per job', async () => {
      const job = newJob();
      const first = await world.port.ensureJob(job, config(), issue);
      const second = await world.port.ensureJob(job, config(), issue);
      expect(world.port.credentials).toBe(credentials);
      expect(first.credentialIssued).toBe(credentials === 'per-job');
      expect(second.credentialIssued).toBe(false);
      expect(issued).toHaveLength(credentials === 'per-job' ? 1 : 0);
      if (credentials === 'per-job') expect(issued[0]?.user).toBe(`job.${job.namespace}.${job.name}`);
    });

    it('sets nothing up when the credential cannot be stored, and issues a new one next time', async () => {
      if (credentials === 'open') return;
      const job = newJob();
      await expect(world.port.ensureJob(job, config(), () => Promise.reject(new Error('secrets is forbidden')))).rejects.toThrow('forbidden');
      expect((await world.port.jobProgress(job)).executors.size).toBe(0);
      const result = await world.port.ensureJob(job, config(), issue);
      expect(result.credentialIssued).toBe(true);
    });

    it('names the credential the subtree admits by its fingerprint, the same on every pass (none with open ACLs)', async () => {
      const job = newJob();
      const first = await world.port.ensureJob(job, config(), issue);
      const again = await world.port.ensureJob(job, config(), issue);
      if (credentials === 'open') {
        expect(first.credential).toBeUndefined();
        return;
      }
      const credential = issued[0] as DigestCredential;
      expect(first.credential).toBe(credentialFingerprint(digestId(credential)));
      expect(first.credential).toMatch(/^[0-9a-f]{16}$/);
      expect(again.credential).toBe(first.credential);
      expect(first.credential).not.toContain(credential.password);
    });

    it('revokes a lost credential at once; the next ensureJob issues a new one that gets in, and the job keeps its data', async () => {
      if (credentials === 'open') return;
      const { job, credential: lost } = await setUp();
      await world.startExecutor(job, lost, 'job-executor-0');
      await world.assignTasks(job, lost, 'job-executor-0', 2);
      await world.commitBatch(job, lost, 7);
      expect(await world.admits(job, lost)).toBe(true);

      expect(await world.port.revokeCredential(job)).toBe(true);
      expect(await world.admits(job, lost)).toBe(false);
      expect(await world.port.revokeCredential(job)).toBe(false);

      const reissued = await world.port.ensureJob(job, config(), issue);
      const fresh = issued[issued.length - 1] as DigestCredential;
      expect(reissued.credentialIssued).toBe(true);
      expect(fresh.password).not.toBe(lost?.password);
      expect(reissued.credential).toBe(credentialFingerprint(digestId(fresh)));
      expect(await world.admits(job, fresh)).toBe(true);
      expect(await world.admits(job, lost)).toBe(false);
      expect((await world.port.jobProgress(job)).lastCommittedBatch?.id).toBe(7);
      expect(await world.holding(job, 'job-executor-0')).toBe(2);
      expect((await world.port.ensureJob(job, config(), issue)).credentialIssued).toBe(false);
    });

    it('has no credential to revoke for a job never set up, or with open ACLs', async () => {
      expect(await world.port.revokeCredential(newJob())).toBe(false);
      if (credentials === 'per-job') return;
      const { job } = await setUp();
      expect(await world.port.revokeCredential(job)).toBe(false);
      expect(await world.admits(job, undefined)).toBe(true);
    });

    it('mirrors the configuration only when it changed', async () => {
      const job = newJob();
      const first = await world.port.ensureJob(job, config(1), issue);
      const same = await world.port.ensureJob(job, config(2), issue);
      const changed = await world.port.ensureJob(job, config(3, { greeting: 'bonjour' }), issue);
      expect(first.configWritten).toBe(true);
      expect(same).toMatchObject({ configWritten: false, configHash: first.configHash });
      expect(changed.configWritten).toBe(true);
      expect(changed.configHash).not.toBe(first.configHash);
      expect(first.configHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    });

    it('removes a terminated driver\'s registration at once, and does nothing when there is none', async () => {
      const { job, credential } = await setUp();
      await world.startDriver(job, credential);
      expect(await world.port.jobProgress(job)).toMatchObject({ driverRegistered: true, driverPod: `${job.name}-driver` });
      await world.port.driverGone(job, `${job.name}-driver`);
      expect(await world.port.jobProgress(job)).toMatchObject({ driverRegistered: false, driverPod: undefined });
      await world.port.driverGone(job, `${job.name}-driver`);
      expect((await world.port.jobProgress(job)).driverRegistered).toBe(false);
    });

    it('leaves the registration alone when another driver pod holds it (a standby took over)', async () => {
      const { job, credential } = await setUp();
      await world.startDriver(job, credential);
      await world.port.driverGone(job, `${job.name}-driver-1`);
      expect(await world.port.jobProgress(job)).toMatchObject({ driverRegistered: true, driverPod: `${job.name}-driver` });
    });

    it('reports registered executors, the driver and the last committed batch', async () => {
      const { job, credential } = await setUp();
      expect(await world.port.jobProgress(job)).toMatchObject({ driverRegistered: false, lastCommittedBatch: undefined, failedBatches: [] });
      await world.startExecutor(job, credential, 'job-executor-0');
      await world.startDriver(job, credential);
      await world.commitBatch(job, credential, 41);
      const progress = await world.port.jobProgress(job);
      expect([...progress.executors.keys()]).toEqual(['job-executor-0']);
      expect(progress.executors.get('job-executor-0')?.state).toBe('active');
      expect(progress.driverRegistered).toBe(true);
      expect(progress.lastCommittedBatch?.id).toBe(41);
    });

    it('reports why the driver says the job cannot move data, and that the cause went', async () => {
      const { job, credential } = await setUp();
      await world.startDriver(job, credential);
      expect((await world.port.jobProgress(job)).blocked).toBeUndefined();
      const blocked: ProgressBlocker = { reason: 'SourceTopicMissing', message: 'source topic in does not exist on 127.0.0.1:9092 (spec.source.kafka.topics)', field: 'spec.source.kafka.topics', since: '2026-01-02T03:04:05.000Z' };
      await world.reportBlocked(job, credential, blocked);
      const progress = await world.port.jobProgress(job);
      expect(progress.blocked).toEqual(blocked);
      expect(progress.driverStartedAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
      await world.reportBlocked(job, credential, undefined, 'SK_TIMEOUT: fetching offsets of in took too long');
      expect(await world.port.jobProgress(job)).toMatchObject({ blocked: undefined, lastError: 'SK_TIMEOUT: fetching offsets of in took too long' });
      await world.reportBlocked(job, credential, blocked);
      await world.port.driverGone(job, `${job.name}-driver`);
      expect((await world.port.jobProgress(job)).blocked).toBeUndefined();
    });

    it('drains an executor: draining while it holds tasks, drained once it finished them', async () => {
      const { job, credential } = await setUp();
      await world.startExecutor(job, credential, 'job-executor-0');
      await world.startExecutor(job, credential, 'job-executor-1');
      await world.assignTasks(job, credential, 'job-executor-1', 2);
      const first = await world.port.drain(job, 'job-executor-1', policy);
      expect(first).toEqual({ drained: false, holding: 2 });
      expect((await world.port.jobProgress(job)).executors.get('job-executor-1')?.state).toBe('draining');
      await world.finishTasks(job, credential, 'job-executor-1');
      expect(await world.port.drain(job, 'job-executor-1', policy)).toEqual({ drained: true, holding: 0 });
    });

    it('reports an executor that never registered as drained', async () => {
      const { job } = await setUp();
      expect(await world.port.drain(job, 'job-executor-5', policy)).toEqual({ drained: true, holding: 0 });
    });

    it('moves a terminated executor\'s tasks to a live one when told its pod terminated', async () => {
      const { job, credential } = await setUp();
      await world.startExecutor(job, credential, 'job-executor-0');
      await world.startExecutor(job, credential, 'job-executor-1');
      await world.assignTasks(job, credential, 'job-executor-1', 3);
      await world.port.executorGone(job, 'job-executor-1', policy);
      expect(await world.holding(job, 'job-executor-0')).toBe(3);
      expect(await world.holding(job, 'job-executor-1')).toBe(0);
      expect([...(await world.port.jobProgress(job)).executors.keys()]).toEqual(['job-executor-0']);
      await world.port.executorGone(job, 'job-executor-1', policy);
      expect(await world.holding(job, 'job-executor-0')).toBe(3);
    });

    it('moves the tasks of an executor whose session ended on the next reschedule, and says so', async () => {
      const { job, credential } = await setUp();
      await world.startExecutor(job, credential, 'job-executor-0');
      const victim = await world.startExecutor(job, credential, 'job-executor-1');
      await world.assignTasks(job, credential, 'job-executor-1', 2);
      const notified: string[] = [];
      const off = world.port.onMembershipChange((changed) => notified.push(`${changed.namespace}/${changed.name}`));
      await victim.crash();
      await eventually(() => {
        expect(notified).toContain(`${job.namespace}/${job.name}`);
      });
      off();
      const summary = await world.port.rescheduleTasks(job, policy);
      expect(summary.moved).toBe(2);
      expect(summary.waiting).toBe(0);
      expect(await world.holding(job, 'job-executor-0')).toBe(2);
    });

    it('keeps tasks waiting while no executor is alive', async () => {
      const { job, credential } = await setUp();
      const only = await world.startExecutor(job, credential, 'job-executor-0');
      await world.assignTasks(job, credential, 'job-executor-0', 2);
      await only.crash();
      await eventually(async () => {
        expect((await world.port.jobProgress(job)).executors.size).toBe(0);
      });
      expect((await world.port.rescheduleTasks(job, policy)).waiting).toBe(2);
    });

    it('says at once, naming the servers, that the operator lost its connection to ZooKeeper, and that it is back', async () => {
      const { job } = await setUp();
      const operator = await world.cuttableOperator();
      const { port } = operator;
      let changes = 0;
      const off = port.onConnectionChange(() => {
        changes += 1;
      });
      expect(port.connectionLost()).toBeUndefined();

      await operator.cut();
      await eventually(() => {
        expect(port.connectionLost()).toMatchObject({ code: 'SK_ZK_CONNECTION_LOSS', kind: 'transient' });
      });
      expect(port.connectionLost()?.message).toContain(`ZooKeeper at ${operator.servers}`);
      expect(changes).toBe(1);

      await operator.restore();
      await eventually(() => {
        expect(port.connectionLost()).toBeUndefined();
      }, 30_000);
      expect(changes).toBe(2);
      expect((await port.jobProgress(job)).driverRegistered).toBe(false);
      off();
    }, 40_000);

    it('removes everything of a deleted job; setting it up again issues a new credential', async () => {
      const { job, credential } = await setUp();
      await world.startDriver(job, credential);
      await world.commitBatch(job, credential, 3);
      await world.port.deleteJob(job);
      await world.port.deleteJob(job);
      const again = await world.port.ensureJob(job, config(), issue);
      expect(again.credentialIssued).toBe(credentials === 'per-job');
      expect((await world.port.jobProgress(job)).lastCommittedBatch).toBeUndefined();
    });
  });
}
