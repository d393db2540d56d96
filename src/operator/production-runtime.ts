/**
 * The operator's real dependencies, from its flags: the API server through client-node, and
 * ZooKeeper through the native client with the operator's digest credential (or, for
 * development only, open ACLs).
 */
import { readFile } from 'node:fs/promises';
import { AclScheme } from '../coordination/acl.js';
import { CoordinationLayout } from '../coordination/layout.js';
import { ZooKeeperSession } from '../coordination/session.js';
import { ensureChroot } from '../coordination/subtree.js';
import type { ZooKeeperConnector } from '../coordination/zookeeper/client.js';
import type { DigestCredential } from '../coordination/zookeeper/digest.js';
import { NativeZooKeeperClient } from '../coordination/zookeeper/native-client.js';
import { StreamkeeperError, usageError } from '../errors/index.js';
import { ClientNodeKubeClient } from '../kube/adapter.js';
import { resolveKubeConfig } from '../kube/config.js';
import type { Logger } from '../logging/logger.js';
import { coordinationMetrics } from '../metrics/index.js';
import { ZooKeeperJobCoordination } from './coordination-adapter.js';
import type { CoordinationHandle, OperatorRuntime } from './operator.js';
import type { OperatorOptions } from './options.js';

/** Parses the operator's credential file: `user:password` (the password may contain colons). */
export function parseCredentialFile(text: string, path: string): DigestCredential {
  const line = text.trim();
  const colon = line.indexOf(':');
  if (colon <= 0 || colon === line.length - 1) {
    throw new StreamkeeperError('SK_ZK_CREDENTIALS_MISSING', `${path} must hold the operator's ZooKeeper credential as user:password`, { field: path });
  }
  return { user: line.slice(0, colon), password: line.slice(colon + 1) };
}

export async function operatorAcls(options: OperatorOptions, logger: Logger): Promise<AclScheme> {
  if (options.insecureZkOpenAcl) return AclScheme.insecureOpen(logger);
  const path = options.zkCredentialsFile;
  if (path === undefined || path === '') throw usageError('--zk-credentials-file (or STREAMKEEPER_ZK_CREDENTIALS_FILE) is required, unless --insecure-zk-open-acl is given for development');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new StreamkeeperError('SK_ZK_CREDENTIALS_MISSING', `cannot read the operator's ZooKeeper credential file ${path}: ${(err as Error).message}`, { field: path, cause: err });
  }
  return AclScheme.digest(parseCredentialFile(text, path));
}

/**
 * How long one of the operator's ZooKeeper calls waits for a lost connection before it fails. A
 * pass blocked on ZooKeeper writes no status, so a short outage would be over before any job
 * said so; a pass that fails fast reports CoordinationUnavailable and is retried.
 */
export const operatorConnectionWaitMs = 2_000;

/** Opens one ZooKeeper session (creating the chroot if there is one) and the port on it. */
export async function openZooKeeperCoordination(options: { readonly zkConnect: string; readonly zkRoot: string; readonly connector: ZooKeeperConnector; readonly acls: AclScheme; readonly logger: Logger }): Promise<CoordinationHandle> {
  const { acls, connector, logger } = options;
  await ensureChroot(connector, options.zkConnect, acls.ancestors(), acls.operatorAuth);
  const session = await ZooKeeperSession.open({ connector, connectString: options.zkConnect, auth: acls.operatorAuth, connectionWaitMs: operatorConnectionWaitMs, observer: coordinationMetrics, logger });
  const coordination = new ZooKeeperJobCoordination({ session, layout: new CoordinationLayout(options.zkRoot), acls, observer: coordinationMetrics, logger });
  return {
    coordination,
    close: async () => {
      await coordination.close();
      await session.close();
    },
  };
}

export async function productionRuntime(options: OperatorOptions, logger: Logger, env: NodeJS.ProcessEnv): Promise<OperatorRuntime> {
  const acls = await operatorAcls(options, logger);
  const kube = new ClientNodeKubeClient(resolveKubeConfig(options.kubeconfig, env));
  const connector: ZooKeeperConnector = (connect) => NativeZooKeeperClient.connect(connect, logger);
  return {
    kube,
    logger,
    openCoordination: () => openZooKeeperCoordination({ zkConnect: options.zkConnect, zkRoot: options.zkRoot, connector, acls, logger }),
  };
}
