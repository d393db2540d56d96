/**
 * The two kinds of world the JobCoordination contract runs in: the in-memory port, and the
 * ZooKeeper adapter on any ZooKeeper (a connector and connect string: the in-memory server in
 * unit tests, a real one in integration tests), with real executor and driver sessions.
 */
import { randomBytes } from 'node:crypto';
import { AclScheme, readJobAcl } from '../../../src/coordination/acl.js';
import { CoordinationLayout, batchId, taskId } from '../../../src/coordination/layout.js';
import { ExecutorMembership } from '../../../src/coordination/membership.js';
import { decodeDriverRegistration, encodeDriverRegistration } from '../../../src/coordination/progress-report.js';
import { ZooKeeperSession, type EphemeralNode } from '../../../src/coordination/session.js';
import { TaskLedger } from '../../../src/coordination/task-ledger.js';
import type { ZooKeeperConnector } from '../../../src/coordination/zookeeper/client.js';
import type { InMemoryZooKeeper } from '../../../src/coordination/zookeeper/in-memory.js';
import { digestAuth, generateCredential, type DigestCredential } from '../../../src/coordination/zookeeper/digest.js';
import { isStreamkeeperError } from '../../../src/errors/index.js';
import { silentLogger } from '../../../src/logging/logger.js';
import { ZooKeeperJobCoordination } from '../../../src/operator/coordination-adapter.js';
import { InMemoryJobCoordination, inMemoryServers } from '../../../src/operator/in-memory-job-coordination.js';
import type { CoordinatedJob } from '../../../src/operator/job-coordination.js';
import { CuttableLink } from '../../support/cuttable-link.js';
import type { ExecutorProcess, PortTarget, PortWorld } from './job-coordination-contract.js';

export function inMemoryPortTarget(credentials: 'per-job' | 'open' = 'per-job'): PortTarget {
  return {
    credentials,
    open: () => {
      const port = new InMemoryJobCoordination(credentials);
      const world: PortWorld = {
        port,
        cuttableOperator: () =>
          Promise.resolve({
            port,
            servers: inMemoryServers,
            cut: () => {
              port.setConnectionLost(true);
              return Promise.resolve();
            },
            restore: () => {
              port.setConnectionLost(false);
              return Promise.resolve();
            },
          }),
        startExecutor: (job, _credential, pod) => {
          port.registerExecutor(job, pod);
          return Promise.resolve({
            crash: async () => {
              await Promise.resolve();
              port.removeExecutor(job, pod);
            },
          });
        },
        startDriver: async (job) => {
          await Promise.resolve();
          port.setDriverRegistered(job, true, new Date().toISOString());
        },
        reportBlocked: async (job, _credential, blocked, lastError) => {
          await Promise.resolve();
          port.reportBlocked(job, blocked, lastError);
        },
        assignTasks: async (job, _credential, owner, count) => {
          await Promise.resolve();
          port.setHolding(job, owner, (port.holding(job, owner) ?? 0) + count);
        },
        finishTasks: async (job, _credential, owner) => {
          await Promise.resolve();
          port.setHolding(job, owner, 0);
        },
        commitBatch: async (job, _credential, id) => {
          await Promise.resolve();
          port.commitBatch(job, id, new Date().toISOString());
        },
        holding: (job, owner) => Promise.resolve(port.holding(job, owner) ?? 0),
        admits: (job, credential) => Promise.resolve(port.admits(job, credential)),
        close: () => port.close(),
      };
      return Promise.resolve(world);
    },
  };
}

export interface ZooKeeperTarget {
  readonly connector: ZooKeeperConnector;
  readonly connectString: string;
  /** A way to ZooKeeper for the operator's session alone, which the test can cut and restore. */
  operatorLink(): Promise<OperatorLink>;
}

/** The operator's way to its ZooKeeper: cut, its session loses the connection (and keeps the session). */
export interface OperatorLink {
  readonly connectString: string;
  cut(session: ZooKeeperSession): void;
  restore(session: ZooKeeperSession): void;
  close(): Promise<void>;
}

/** On the in-memory ZooKeeper, the session's connection is dropped by the server itself. */
export function inMemoryOperatorLink(server: InMemoryZooKeeper): OperatorLink {
  return {
    connectString: 'in-memory',
    cut: (session) => {
      server.disconnect(session.sessionId ?? '');
    },
    restore: (session) => {
      server.reconnect(session.sessionId ?? '');
    },
    close: () => Promise.resolve(),
  };
}

/** On a real ZooKeeper, the operator connects through a loopback TCP link that is cut. */
export async function tcpOperatorLink(connectString: string): Promise<OperatorLink> {
  const link = await CuttableLink.open(connectString);
  return {
    connectString: link.address,
    cut: () => {
      link.cut();
    },
    restore: () => {
      link.restore();
    },
    close: () => link.close(),
  };
}

/** The adapter, on a fresh root for each world so worlds never see each other's jobs. */
export function zooKeeperPortTarget(zookeeper: () => ZooKeeperTarget, credentials: 'per-job' | 'open' = 'per-job'): PortTarget {
  return {
    credentials,
    open: async () => {
      const target = zookeeper();
      const { connector, connectString } = target;
      const links: OperatorLink[] = [];
      const layout = new CoordinationLayout(`/sk-${randomBytes(4).toString('hex')}`);
      const operatorCredential = generateCredential('streamkeeper-operator');
      const acls = credentials === 'open' ? AclScheme.insecureOpen(silentLogger()) : AclScheme.digest(operatorCredential);
      const sessions: ZooKeeperSession[] = [];
      const open = async (credential: DigestCredential | undefined, through = connectString): Promise<ZooKeeperSession> => {
        const session = await ZooKeeperSession.open({ connector, connectString: through, sessionTimeoutMs: 4000, auth: credential === undefined ? [] : [digestAuth(credential)], backoff: { initialMs: 10, maxMs: 250 } });
        sessions.push(session);
        return session;
      };
      const operatorAuth = credentials === 'open' ? undefined : operatorCredential;
      const operator = await open(operatorAuth);
      const port = new ZooKeeperJobCoordination({ session: operator, layout, acls });
      const ports: ZooKeeperJobCoordination[] = [];
      const drivers = new Map<string, ZooKeeperSession>();
      const registrations = new Map<string, EphemeralNode>();
      const driverOf = async (job: CoordinatedJob, credential: DigestCredential | undefined): Promise<ZooKeeperSession> => {
        const key = `${job.namespace}/${job.name}`;
        let session = drivers.get(key);
        if (session === undefined) {
          session = await open(credential);
          drivers.set(key, session);
        }
        return session;
      };
      let sequence = 0;
      const world: PortWorld = {
        port,
        cuttableOperator: async () => {
          // A second operator session of its own, through a link only it uses.
          const link = await target.operatorLink();
          links.push(link);
          const session = await open(operatorAuth, link.connectString);
          const cuttable = new ZooKeeperJobCoordination({ session, layout, acls });
          ports.push(cuttable);
          return {
            port: cuttable,
            servers: link.connectString,
            cut: () => {
              link.cut(session);
              return Promise.resolve();
            },
            restore: () => {
              link.restore(session);
              return Promise.resolve();
            },
          };
        },
        startExecutor: async (job, credential, pod): Promise<ExecutorProcess> => {
          const session = await open(credential);
          const acl = await readJobAcl(session, layout, job);
          await new ExecutorMembership(session, layout).register(job, pod, acl);
          return { crash: () => session.close() };
        },
        startDriver: async (job, credential) => {
          const session = await driverOf(job, credential);
          const startedAt = new Date().toISOString();
          const node = await session.registerEphemeral(layout.driver(job), encodeDriverRegistration({ pod: `${job.name}-driver`, startedAt }), await readJobAcl(session, layout, job));
          registrations.set(`${job.namespace}/${job.name}`, node);
        },
        reportBlocked: async (job, _credential, blocked, lastError) => {
          const node = registrations.get(`${job.namespace}/${job.name}`);
          if (node === undefined) throw new Error('no driver registered');
          const { blocked: _previous, lastError: _error, ...registration } = decodeDriverRegistration(node.data);
          await node.update(encodeDriverRegistration({ ...registration, ...(blocked === undefined ? {} : { blocked }), ...(lastError === undefined ? {} : { lastError }) }));
        },
        assignTasks: async (job, credential, owner, count) => {
          const session = await driverOf(job, credential);
          const acl = await readJobAcl(session, layout, job);
          const ledger = new TaskLedger(session, layout);
          const ranges = Array.from({ length: count }, (_, partition) => ({ topic: 'in', partition, from: '0', to: '10' }));
          const batch = await ledger.recordBatch(job, batchId(sequence++), ranges, acl);
          await ledger.createTasks(job, batch.record, new Map(ranges.map((_r, i) => [taskId(batch.record.id, i), owner])), acl);
        },
        finishTasks: async (job, credential, owner) => {
          const ledger = new TaskLedger(await open(credential), layout);
          for (const task of await ledger.readTasks(job)) {
            if (task.record.owner === owner && task.record.state === 'assigned') {
              await ledger.complete(job, task.record.id, { owner, attempt: task.record.attempt }, { outcome: 'succeeded' });
            }
          }
        },
        commitBatch: async (job, credential, id) => {
          const session = await driverOf(job, credential);
          const ledger = new TaskLedger(session, layout);
          const current = await ledger.readOffsets(job);
          await ledger.writeOffsets(job, { batch: batchId(id), partitions: [] }, current?.version ?? null, await readJobAcl(session, layout, job));
        },
        holding: async (job, owner) => (await new TaskLedger(operator, layout).readTasks(job)).filter((t) => t.record.owner === owner && t.record.state === 'assigned').length,
        admits: async (job, credential) => {
          const session = await open(credential);
          try {
            await session.get(layout.config(job));
            const tasks = await session.children(layout.tasks(job));
            await Promise.all(tasks.map((task) => session.get(`${layout.tasks(job)}/${task}`)));
            return true;
          } catch (err) {
            if (isStreamkeeperError(err, 'SK_ZK_NO_AUTH')) return false;
            throw err;
          }
        },
        close: async () => {
          await Promise.all([port, ...ports].map((p) => p.close()));
          await Promise.all(sessions.map((session) => session.close()));
          await Promise.all(links.map((link) => link.close()));
        },
      };
      return world;
    },
  };
}
