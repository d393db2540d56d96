/**
 * The operator's memory of dead executors, per job: which ZooKeeper sessions of which pods were
 * seen dead. It lets the second signal of a death (node gone after pod terminated, or the other
 * way round) be recognised as an echo, keeps a registration that lingers until its session times
 * out from passing for a live executor, and measures once how long a death took to settle. It is
 * memory only, bounded per pod and in time; a restarted operator starts empty, which is safe: its
 * first pass moves every task whose owner is not registered.
 */
import { jobKey, type JobRef } from './layout.js';
import type { ExecutorSet } from './membership.js';

interface DeathRecord {
  /** The session whose executor died; null when its node was already gone when seen. */
  readonly session: string | null;
  readonly observedAt: number;
  measured: boolean;
}

/** Deaths remembered per pod: enough to recognise the second signal of recent incarnations. */
const deathsKeptPerPod = 8;
/**
 * How long a settled death is remembered. The second signal follows the first within a session
 * timeout (the node) or a kubelet status update (the pod); pod names of past executors must not
 * pile up for the operator's lifetime.
 */
export const deathMemoryMs = 15 * 60_000;

export class ExecutorDeaths {
  private readonly byJob = new Map<string, Map<string, DeathRecord[]>>();

  /**
   * Records that `pod`'s executor of `session` (null: session unknown, its node was gone) died at
   * `observedAt`. False when this death was recorded already: the call is its second signal.
   */
  record(job: JobRef, pod: string, session: string | null, observedAt: number): boolean {
    const records = this.recordsOf(job, pod);
    if (records.some((r) => session === null || r.session === session)) return false;
    records.push({ session, observedAt, measured: false });
    if (records.length > deathsKeptPerPod) records.shift();
    return true;
  }

  /** True when `pod`'s registration of `session` is one seen dead (it lingers until the session times out). */
  isDead(job: JobRef, pod: string, session: string): boolean {
    return this.byJob.get(jobKey(job))?.get(pod)?.some((r) => r.session === session) ?? false;
  }

  /** Live: registered in `executors`, and that registration's session is not one seen dead. */
  liveness(job: JobRef, executors: ExecutorSet): (pod: string) => boolean {
    return (pod) => {
      const executor = executors.get(pod);
      return executor !== undefined && !this.isDead(job, pod, executor.session);
    };
  }

  /**
   * Settles the job's deaths at `now`: a death whose pod holds no task any more (or is live again)
   * is settled, and its duration — death observed to nothing held — returned, once. Settled deaths
   * older than the memory are forgotten.
   */
  settle(job: JobRef, holdsTasks: (pod: string) => boolean, isLive: (pod: string) => boolean, now: number): number[] {
    const byPod = this.byJob.get(jobKey(job));
    if (byPod === undefined) return [];
    const durations: number[] = [];
    for (const [pod, records] of byPod) {
      const pending = records.filter((r) => !r.measured);
      if (pending.length > 0 && (isLive(pod) || !holdsTasks(pod))) {
        for (const record of pending) {
          record.measured = true;
          durations.push(now - record.observedAt);
        }
      }
      const kept = records.filter((r) => !r.measured || now - r.observedAt < deathMemoryMs);
      if (kept.length === 0) byPod.delete(pod);
      else byPod.set(pod, kept);
    }
    return durations;
  }

  /** Forgets a job (it was deleted). */
  forget(job: JobRef): void {
    this.byJob.delete(jobKey(job));
  }

  private recordsOf(job: JobRef, pod: string): DeathRecord[] {
    const key = jobKey(job);
    let byPod = this.byJob.get(key);
    if (byPod === undefined) {
      byPod = new Map();
      this.byJob.set(key, byPod);
    }
    let records = byPod.get(pod);
    if (records === undefined) {
      records = [];
      byPod.set(pod, records);
    }
    return records;
  }
}
