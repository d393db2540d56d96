/**
 * Notices that a job's ZooKeeper data is gone — the operator removes the job's subtree once its
 * StreamingJob is deleted, while the pods may still run — so that the driver and executors stop
 * cleanly instead of failing on the missing nodes. The operator fences the subtree off before it
 * deletes it, so the pods' reads fail with SK_ZK_NO_AUTH first; `exists` tells a missing node
 * apart whatever its ACL was.
 */
import type { CoordinationLayout, JobRef } from '../coordination/layout.js';
import type { Subscription, ZooKeeperSession } from '../coordination/session.js';
import { isStreamkeeperError } from '../errors/index.js';

/** Checks, a retry delay apart, before a failure that may mean deletion is put down to something else. */
const settleChecks = 5;

/** How often the job's node is looked at besides the watch (see `watch`). */
export const defaultPollMs = 5000;

/** Whether `err` is what a pod meets when its job's subtree is being deleted under it. */
export function mayMeanJobDeleted(err: unknown): boolean {
  return isStreamkeeperError(err, 'SK_ZK_NO_NODE') || isStreamkeeperError(err, 'SK_ZK_NO_AUTH');
}

export class JobPresence {
  constructor(
    private readonly session: ZooKeeperSession,
    private readonly layout: CoordinationLayout,
    private readonly job: JobRef,
  ) {}

  /** Whether the job's node is gone now. */
  async isGone(): Promise<boolean> {
    return (await this.session.exists(this.layout.job(this.job))) === null;
  }

  /**
   * Whether `err` came from the job's deletion: it is a missing node or a refused access, and the
   * job's node is gone — or goes within a few retry delays, as the operator fences the subtree
   * just before it deletes it.
   */
  async explains(err: unknown): Promise<boolean> {
    if (!mayMeanJobDeleted(err)) return false;
    for (let check = 0; check < settleChecks && !this.session.isClosed; check++) {
      if (check > 0) await this.session.sleep(this.session.retryDelay(check + 1));
      if (await this.isGone().catch(() => false)) return true;
    }
    return false;
  }

  /**
   * Calls `onGone` once, when the job's node no longer exists. A watch on the node says so at
   * once — but ZooKeeper delivers a watch event only to sessions that may read the node, and the
   * operator fences the subtree to itself before deleting it — so the node is also looked at
   * every `pollMs`.
   */
  watch(onGone: () => void, pollMs = defaultPollMs): Subscription {
    const path = this.layout.job(this.job);
    const stop = new AbortController();
    // A function, so the compiler does not keep the loop condition's narrowing across awaits.
    const stopped = (): boolean => stop.signal.aborted;
    let wake: (() => void) | undefined;
    /** A watch is registered and has not fired: polls need not register another. */
    let armed = false;
    const unsubscribe = this.session.onRescan(() => {
      armed = false;
      wake?.();
    });
    const finish = (): void => {
      stop.abort();
      unsubscribe();
    };
    const loop = async (): Promise<void> => {
      for (let failures = 0; !stop.signal.aborted && !this.session.isClosed; ) {
        let waitMs = pollMs;
        try {
          const watch = !armed;
          const watched = { fired: false };
          const stat = await this.session.run((zk) =>
            watch
              ? zk.exists(path, (event) => {
                  watched.fired = true;
                  armed = false;
                  if (event.type !== 'lost') wake?.();
                })
              : zk.exists(path),
          );
          if (watch && !watched.fired) armed = true;
          failures = 0;
          if (stat === null) {
            if (stopped()) return;
            finish();
            onGone();
            return;
          }
        } catch {
          // ZooKeeper unreachable for longer than the session retries: look again soon.
          failures += 1;
          waitMs = Math.min(pollMs, this.session.retryDelay(failures + 2));
        }
        await new Promise<void>((resolve) => {
          const done = (): void => {
            clearTimeout(timer);
            stop.signal.removeEventListener('abort', done);
            wake = undefined;
            resolve();
          };
          const timer = setTimeout(done, waitMs);
          wake = done;
          stop.signal.addEventListener('abort', done, { once: true });
        });
      }
    };
    void loop();
    return { close: finish };
  }
}
