/**
 * Who may touch which znode. A job's subtree is readable and writable only by the operator's
 * digest identity and that job's own identity; the nodes above jobs belong to the operator alone.
 * Passwords live in Kubernetes Secrets and reach ZooKeeper only as `addAuth` credentials; an ACL
 * carries only the SHA-1 digest ZooKeeper derives from it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StreamkeeperError } from '../errors/index.js';
import type { Logger } from '../logging/logger.js';
import type { CoordinationLayout, JobRef } from './layout.js';
import type { ZooKeeperSession } from './session.js';
import { Perm, openAcl, type Acl, type CreateMode, type ZooKeeperClient } from './zookeeper/client.js';
import { digestAcl, digestAuth, generateCredential, type DigestCredential } from './zookeeper/digest.js';

export type { DigestCredential } from './zookeeper/digest.js';

export const operatorUser = 'streamkeeper-operator';

/** `job.<namespace>.<name>`: unambiguous because namespaces never contain a dot. */
export function jobUser(job: JobRef): string {
  return `job.${job.namespace}.${job.name}`;
}

export function isOpenAcl(acl: readonly Acl[]): boolean {
  return acl.length > 0 && acl.every((entry) => entry.scheme === 'world' && entry.id === 'anyone') && acl.some((entry) => entry.perms === openAcl[0]?.perms);
}

/** Same entries in any order. */
export function sameAcl(a: readonly Acl[], b: readonly Acl[]): boolean {
  const key = (entry: Acl): string => `${entry.scheme}|${entry.id}|${entry.perms}`;
  const left = a.map(key).sort();
  const right = b.map(key).sort();
  return left.length === right.length && left.every((k, i) => k === right[i]);
}

/**
 * Creates a node carrying `acl`. An open ACL is what every node gets anyway, so it is not set
 * again (one write saved); any other ACL is applied by the client before this resolves.
 */
export function createNode(zk: ZooKeeperClient, path: string, data: Buffer, mode: CreateMode, acl: readonly Acl[]): Promise<string> {
  return isOpenAcl(acl) ? zk.create(path, data, mode) : zk.create(path, data, mode, acl);
}

/**
 * What the job node holds: the ACL the operator put on the subtree. Pods read it here (they put
 * it on every node they create, since ZooKeeper checks ACLs per node and nothing is inherited),
 * and the operator compares it to tell whether the subtree needs re-locking. It holds digests of
 * credentials, never passwords.
 */
export interface JobNodeRecord {
  readonly acl: readonly Acl[];
}

export function encodeJobNode(acl: readonly Acl[]): Buffer {
  return Buffer.from(JSON.stringify({ acl } satisfies JobNodeRecord));
}

/** The recorded ACL, or undefined when the node holds none. */
export function decodeJobNode(data: Buffer): readonly Acl[] | undefined {
  try {
    const record = JSON.parse(data.toString('utf8')) as Partial<JobNodeRecord> | null;
    return Array.isArray(record?.acl) ? record.acl : undefined;
  } catch {
    return undefined;
  }
}

/** The ACL of a job's subtree, as the job's pods learn it from the job node. */
export async function readJobAcl(session: ZooKeeperSession, layout: CoordinationLayout, job: JobRef): Promise<Acl[]> {
  const path = layout.job(job);
  const acl = decodeJobNode((await session.get(path)).data);
  if (acl === undefined) throw new StreamkeeperError('SK_ZK_ERROR', `${path} does not record the job's ACL; the operator has not set the job up yet`, { field: path });
  return [...acl];
}

/** The ACLs the operator puts on the tree, digest-protected unless explicitly opened up. */
export class AclScheme {
  private constructor(private readonly operator: DigestCredential | undefined) {}

  static digest(operator: DigestCredential): AclScheme {
    return new AclScheme(operator);
  }

  /** Development only: every node open to everyone. Says so loudly. */
  static insecureOpen(logger: Logger): AclScheme {
    logger.warn('ZooKeeper ACLs are disabled (insecureOpenAcl): every client that can reach ZooKeeper can read and change every job\'s coordination data. Use this for local development only.');
    return new AclScheme(undefined);
  }

  get open(): boolean {
    return this.operator === undefined;
  }

  /** Credentials the operator's session authenticates with. */
  get operatorAuth(): readonly { scheme: 'digest'; credential: string }[] {
    return this.operator === undefined ? [] : [digestAuth(this.operator)];
  }

  /** The nodes above jobs (`<root>`, `<root>/v1`, `…/jobs`, `…/jobs/<ns>`): the operator only. */
  ancestors(): Acl[] {
    return this.operator === undefined ? [...openAcl] : digestAcl(this.operator);
  }

  /**
   * Put on a job's directories before its subtree is deleted, so that no straggler of the job can
   * keep adding children while the operator removes them.
   */
  fence(): Acl[] {
    if (this.operator === undefined) return [{ perms: Perm.read | Perm.delete | Perm.admin, scheme: 'world', id: 'anyone' }];
    return digestAcl(this.operator);
  }

  /** Every node of a job's subtree: the operator and the job, full access each; nobody else. */
  job(credential: DigestCredential | undefined): Acl[] {
    if (this.operator === undefined) return [...openAcl];
    if (credential === undefined) throw new StreamkeeperError('SK_ZK_CREDENTIALS_MISSING', 'a job\'s ZooKeeper credential is needed to protect its subtree');
    return digestAcl(this.operator, credential);
  }
}

// ---- job credentials: generated by the operator, kept in a Secret owned by the job ----

/** Keys of the job credential Secret; pods get them as files of a mounted volume. */
export const credentialKeys = { user: 'user', password: 'password' } as const;

export function jobCredentialSecretName(jobName: string): string {
  return `${jobName}-zookeeper`;
}

export function newJobCredential(job: JobRef): DigestCredential {
  return generateCredential(jobUser(job));
}

/** The Secret's `stringData`. */
export function credentialSecretData(credential: DigestCredential): Record<string, string> {
  return { [credentialKeys.user]: credential.user, [credentialKeys.password]: credential.password };
}

/** Reads a credential back from a Secret's decoded data (the operator on later passes). */
export function credentialFromSecretData(data: Readonly<Record<string, string | undefined>>, secretName: string): DigestCredential {
  const user = data[credentialKeys.user];
  const password = data[credentialKeys.password];
  if (user === undefined || user === '' || password === undefined || password === '') {
    throw new StreamkeeperError('SK_ZK_CREDENTIALS_MISSING', `Secret ${secretName} must hold "${credentialKeys.user}" and "${credentialKeys.password}"`, { field: secretName });
  }
  return { user, password };
}

/** How a process finds its own credential: a mounted Secret directory, or two variables. */
export const credentialEnv = {
  dir: 'STREAMKEEPER_ZK_CREDENTIALS_DIR',
  user: 'STREAMKEEPER_ZK_USER',
  password: 'STREAMKEEPER_ZK_PASSWORD',
  insecureOpenAcl: 'STREAMKEEPER_ZK_INSECURE_OPEN_ACL',
} as const;

/**
 * The credential of this process (operator, driver or executor), or undefined when open ACLs
 * were asked for explicitly. Anything else missing is an error: a pod must never fall back to
 * anonymous access silently.
 */
export function readCredential(env: NodeJS.ProcessEnv = process.env, readFile: (path: string) => string = (path) => readFileSync(path, 'utf8')): DigestCredential | undefined {
  const dir = env[credentialEnv.dir];
  if (dir !== undefined && dir !== '') {
    const read = (key: string): string => {
      const path = join(dir, key);
      try {
        return readFile(path).replace(/\r?\n$/, '');
      } catch (err) {
        throw new StreamkeeperError('SK_ZK_CREDENTIALS_MISSING', `cannot read the ZooKeeper credential file ${path}: ${(err as Error).message}`, { cause: err });
      }
    };
    return credentialFromSecretData({ user: read(credentialKeys.user), password: read(credentialKeys.password) }, dir);
  }
  const user = env[credentialEnv.user];
  const password = env[credentialEnv.password];
  if (user !== undefined && user !== '' && password !== undefined && password !== '') return { user, password };
  if (env[credentialEnv.insecureOpenAcl] === 'true') return undefined;
  throw new StreamkeeperError(
    'SK_ZK_CREDENTIALS_MISSING',
    `no ZooKeeper credential: set ${credentialEnv.dir} to a mounted credential Secret, or ${credentialEnv.user} and ${credentialEnv.password} (or ${credentialEnv.insecureOpenAcl}=true for development only)`,
  );
}
