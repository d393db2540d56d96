/**
 * The operator's life-cycle of a job's subtree: create it locked down (and re-lock it when the
 * job's credential changes), and remove all of it when the job is deleted — children first,
 * tolerating nodes that appear or vanish while it runs.
 */
import { StreamkeeperError, isStreamkeeperError } from '../errors/index.js';
import { decodeJobNode, encodeJobNode, sameAcl } from './acl.js';
import type { CoordinationLayout, JobRef } from './layout.js';
import { splitChroot } from './layout.js';
import type { ZooKeeperSession } from './session.js';
import { anyVersion, createNode, isOpenAcl, type Acl, type ZooKeeperConnector } from './zookeeper/client.js';

export interface SubtreeAcls {
  /** For the nodes above the job (see `AclScheme.ancestors`). */
  readonly ancestors: readonly Acl[];
  /** For the job node and everything below it (see `AclScheme.job`). */
  readonly job: readonly Acl[];
}

const empty = Buffer.alloc(0);

/**
 * Creates `path` with `acl` if missing. An existing node whose ACL was never set (ACL version 0:
 * created open by someone else) is locked. ACLs are never read back: the native client cannot
 * read one safely (see zookeeper/native-client.ts).
 */
async function ensureNode(session: ZooKeeperSession, path: string, acl: readonly Acl[]): Promise<void> {
  const stat = await session.exists(path);
  if (stat === null) {
    try {
      await session.create(path, empty, 'persistent', acl);
    } catch (err) {
      if (!isStreamkeeperError(err, 'SK_ZK_NODE_EXISTS')) throw err;
    }
    return;
  }
  if (stat.aversion === 0 && !isOpenAcl(acl)) await ignoreConflict(session.setAcl(path, acl, 0));
}

async function ignoreConflict(write: Promise<unknown>): Promise<void> {
  try {
    await write;
  } catch (err) {
    // Someone else (another operator replica) got there first.
    if (!isStreamkeeperError(err, 'SK_ZK_BAD_VERSION') && !isStreamkeeperError(err, 'SK_ZK_NODE_EXISTS')) throw err;
  }
}

/**
 * Makes sure the job's skeleton exists with the right ACLs: the ancestors (operator only), the
 * job node (which records the subtree's ACL), `config`, `executors`, `batches` and `tasks`
 * (operator and job). When the recorded ACL differs (the job's credential was replaced) the whole
 * subtree is re-locked. Idempotent, and reads only when everything is in place.
 */
export async function ensureJobSubtree(session: ZooKeeperSession, layout: CoordinationLayout, job: JobRef, acls: SubtreeAcls): Promise<void> {
  for (const path of layout.ancestors(job)) await ensureNode(session, path, acls.ancestors);
  const jobPath = layout.job(job);
  const existing = await session.getIfExists(jobPath);
  if (existing === null) {
    await ignoreConflict(session.create(jobPath, encodeJobNode(acls.job), 'persistent', acls.job));
  } else if (!sameAcl(decodeJobNode(existing.data) ?? [], acls.job)) {
    await relockJobSubtree(session, layout, job, acls.job);
    await ignoreConflict(session.set(jobPath, encodeJobNode(acls.job), existing.stat.version));
  }
  const skeleton = layout.jobSkeleton(job).filter((path) => path !== jobPath);
  await Promise.all(skeleton.map((path) => ensureNode(session, path, acls.job)));
}

/**
 * Sets `acl` on every node of the job's subtree (after the job's credential was replaced; rare,
 * so every node is written rather than compared). Nodes that vanish meanwhile are skipped.
 */
export async function relockJobSubtree(session: ZooKeeperSession, layout: CoordinationLayout, job: JobRef, acl: readonly Acl[]): Promise<number> {
  const relock = async (path: string): Promise<number> => {
    try {
      await session.setAcl(path, acl, anyVersion);
      const children = await session.children(path);
      const below = await Promise.all(children.map((child) => relock(`${path}/${child}`)));
      return below.reduce((sum, n) => sum + n, 1);
    } catch (err) {
      if (isStreamkeeperError(err, 'SK_ZK_NO_NODE')) return 0;
      throw err;
    }
  };
  return relock(layout.job(job));
}

const maxDeleteRounds = 20;

/**
 * Deletes `path` and everything below it. Children go first; a child created meanwhile (NotEmpty)
 * starts another round; nodes deleted by someone else are fine. Returns how many nodes this call
 * deleted.
 */
export async function deleteTree(session: ZooKeeperSession, path: string): Promise<number> {
  let deleted = 0;
  for (let round = 0; round < maxDeleteRounds; round += 1) {
    let children: string[];
    try {
      children = await session.children(path);
    } catch (err) {
      if (isStreamkeeperError(err, 'SK_ZK_NO_NODE')) return deleted;
      throw err;
    }
    const below = await Promise.all(children.map((child) => deleteTree(session, `${path}/${child}`)));
    deleted += below.reduce((sum, n) => sum + n, 0);
    try {
      await session.delete(path, anyVersion);
      return deleted + 1;
    } catch (err) {
      if (isStreamkeeperError(err, 'SK_ZK_NO_NODE')) return deleted;
      if (!isStreamkeeperError(err, 'SK_ZK_NOT_EMPTY')) throw err;
    }
  }
  throw new StreamkeeperError('SK_ZK_NOT_EMPTY', `${path} kept getting new children while it was being deleted (${maxDeleteRounds} rounds)`, { field: path });
}

/**
 * Removes a job's whole subtree (the operator's finalizer, after the job's pods are gone), and
 * its namespace node when no other job is left there. The job's directories are fenced first
 * (`AclScheme.fence`) so a straggling pod cannot keep creating nodes faster than they go.
 */
export async function deleteJobSubtree(session: ZooKeeperSession, layout: CoordinationLayout, job: JobRef, fence: readonly Acl[]): Promise<number> {
  await Promise.all(
    layout.jobSkeleton(job).map(async (path) => {
      try {
        await session.setAcl(path, fence, anyVersion);
      } catch (err) {
        if (!isStreamkeeperError(err, 'SK_ZK_NO_NODE')) throw err;
      }
    }),
  );
  const deleted = await deleteTree(session, layout.job(job));
  try {
    await session.delete(layout.namespace(job.namespace), anyVersion);
  } catch (err) {
    // Another job of the namespace, or a concurrent delete: both fine.
    if (!isStreamkeeperError(err, 'SK_ZK_NOT_EMPTY') && !isStreamkeeperError(err, 'SK_ZK_NO_NODE')) throw err;
  }
  return deleted;
}

/**
 * A chroot must exist before clients that use it can create anything. Creates it (and its
 * parents) with `acl` through a short-lived client without the chroot. No-op without a chroot.
 */
export async function ensureChroot(connector: ZooKeeperConnector, connectString: string, acl: readonly Acl[], auth: readonly { scheme: string; credential: string }[] = []): Promise<void> {
  const { servers, chroot } = splitChroot(connectString);
  if (chroot === undefined) return;
  const zk = await connector({ connectString: servers, auth });
  try {
    let path = '';
    for (const segment of chroot.split('/').slice(1)) {
      path = `${path}/${segment}`;
      try {
        await createNode(zk, path, empty, 'persistent', acl);
      } catch (err) {
        if (!isStreamkeeperError(err, 'SK_ZK_NODE_EXISTS')) throw err;
      }
    }
  } finally {
    await zk.close();
  }
}
