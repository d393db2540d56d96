/**
 * What the StreamingJob reconciler needs from ZooKeeper, as one narrow port: set a job up (its
 * credential, locked subtree and mirrored config), read how it is doing, move work off dead or
 * draining executors, and remove it. `ZooKeeperJobCoordination` (coordination-adapter.ts) binds it
 * to src/coordination; `InMemoryJobCoordination` backs the reconciler's unit tests, and one
 * contract suite holds both to the same behaviour.
 */
import { createHash } from 'node:crypto';
import type { JobConfigContent } from '../coordination/config-mirror.js';
import type { ProgressBlocker } from '../coordination/progress-report.js';
import type { DigestCredential } from '../coordination/zookeeper/digest.js';
import type { StreamkeeperError } from '../errors/index.js';

export type { AggregationConfig, JobConfigContent, WindowConfig } from '../coordination/config-mirror.js';
export type { DigestCredential } from '../coordination/zookeeper/digest.js';
export { credentialKeys, credentialSecretData, jobCredentialSecretName } from '../coordination/acl.js';
export { blockerReasons, type BlockerReason, type ProgressBlocker } from '../coordination/progress-report.js';

/** One incarnation of a job: a job deleted and created again under its name has a new uid. */
export interface CoordinatedJob {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

export interface DesiredJobConfig {
  /** `metadata.generation` of the job the content was derived from. */
  readonly generation: number;
  readonly content: JobConfigContent;
}

/**
 * Stores a freshly generated job credential where the job's pods read it (the operator creates
 * the per-job Secret). Called BEFORE the subtree is locked with the credential: if the operator
 * stops in between, the subtree is still unlocked on the next pass, which issues a new credential
 * and replaces the Secret — so a subtree is never locked with a credential nobody holds. The
 * operator never reads the Secret back (its RBAC does not allow it).
 */
export type CredentialIssuer = (credential: DigestCredential) => Promise<void>;

/**
 * A short name for a job credential that reveals nothing: a hash of its ZooKeeper digest id
 * (`user:base64(sha1(user:password))`, what the subtree's ACL holds anyway). Pods carry it, so the
 * operator can tell which credential a pod holds without ever reading the Secret.
 */
export function credentialFingerprint(digestId: string): string {
  return createHash('sha256').update(digestId).digest('hex').slice(0, 16);
}

export interface EnsureJobResult {
  /** Hash of the configuration ZooKeeper now holds (`sha256:…`). */
  readonly configHash: string;
  /** This call wrote a new configuration (the spec's config or params changed). */
  readonly configWritten: boolean;
  /** This call issued a new credential through the CredentialIssuer. */
  readonly credentialIssued: boolean;
  /**
   * `credentialFingerprint` of the credential the subtree admits now, which pods created from now
   * on get from the Secret; undefined with open ACLs.
   */
  readonly credential: string | undefined;
}

export type ExecutorRegistrationState = 'active' | 'draining';

export interface ExecutorRegistration {
  readonly state: ExecutorRegistrationState;
  /**
   * When the executor process registered (its own clock), if known. A registration older than
   * the pod of the same name is left from an earlier incarnation whose session has not timed
   * out yet.
   */
  readonly registeredAtMs: number | undefined;
}

/** How a job is doing, as ZooKeeper records it. Small: no per-task entries. */
export interface JobProgress {
  /** Registered executors (live ZooKeeper sessions) by pod name. */
  readonly executors: ReadonlyMap<string, ExecutorRegistration>;
  readonly driverRegistered: boolean;
  /**
   * The pod the registered driver runs in, if known: of a job's two driver pods (with a standby),
   * the active one.
   */
  readonly driverPod?: string | undefined;
  /** The pod of the registered standby driver (its `standby` node), if any. */
  readonly standbyPod?: string | undefined;
  /** When the registered standby driver started (its own clock), if known. */
  readonly standbyStartedAt?: string | undefined;
  /** When the registered driver started (its own clock), if known. */
  readonly driverStartedAt: string | undefined;
  /** Why the registered driver says the job cannot move data; undefined when it names no cause. */
  readonly blocked: ProgressBlocker | undefined;
  /** The last error the registered driver retried since its last commit (bounded), if any. */
  readonly lastError: string | undefined;
  readonly lastCommittedBatch: { readonly id: number; readonly committedAt: string } | undefined;
  /** Batches recorded as failed (a task exhausted its attempts), oldest first. */
  readonly failedBatches: readonly string[];
  /** Records not yet committed, summed over source partitions; undefined while nobody reports it. */
  readonly totalLag: number | undefined;
  /** A windowed aggregation's watermark as of the last committed batch (ISO time); undefined otherwise. */
  readonly watermark?: string | undefined;
  /** An aggregation's state as the driver last reported it; undefined before any report or without one. */
  readonly state?: AggregationState | undefined;
}

/** The size of a job's aggregation state and what restoring it last cost: numbers only, never keys. */
export interface AggregationState {
  /** State partitions that reported a size so far. */
  readonly partitionsReported: number;
  /** Keys summed over those partitions, each as of its last committed aggregate task. */
  readonly keys: number;
  /** Their estimated size in memory, summed likewise. */
  readonly bytes: number;
  readonly lastRestore?: { readonly partition: number; readonly kind: 'full' | 'incremental'; readonly records: number; readonly durationMs: number; readonly at: string };
}

export interface TaskPolicy {
  /** The job's `executors.maxTaskAttempts`. */
  readonly maxTaskAttempts: number;
}

export interface DrainResult {
  /** The executor holds no task: its pod may be deleted. */
  readonly drained: boolean;
  /** Tasks it still runs to completion. */
  readonly holding: number;
}

export interface RescheduleSummary {
  /** Tasks given to a new owner by this pass. */
  readonly moved: number;
  /** Tasks that need an owner but found no live executor. */
  readonly waiting: number;
  /** Tasks this pass found out of attempts. */
  readonly exhausted: number;
  /** Batches with an exhausted task. */
  readonly failedBatches: readonly string[];
}

export interface JobCoordination {
  /** `per-job`: every job gets a digest credential and an ACL; `open`: development only, no ACLs. */
  readonly credentials: 'per-job' | 'open';
  /**
   * Creates the job's subtree (issuing a credential through `issue` first when the subtree has
   * none) and mirrors the configuration when it changed. Idempotent. Throws SK_CONFIG_TOO_LARGE
   * (invalid spec) when the configuration cannot fit in a znode.
   */
  ensureJob(job: CoordinatedJob, config: DesiredJobConfig, issue: CredentialIssuer): Promise<EnsureJobResult>;
  /**
   * The job's credential is lost (its Secret is gone): the subtree is locked to the operator alone
   * and recorded as having no credential, so that the next `ensureJob` issues a new one (Secret
   * first, then the subtree unlocked for it). A crash anywhere in between leaves a state the next
   * pass finishes from. Resolves true when a credential was revoked, false when the job has none
   * (new, already revoked, or open ACLs).
   */
  revokeCredential(job: CoordinatedJob): Promise<boolean>;
  jobProgress(job: CoordinatedJob): Promise<JobProgress>;
  /** The pod of an executor terminated: its tasks move to live executors (a second signal is a no-op). */
  executorGone(job: CoordinatedJob, pod: string, policy: TaskPolicy): Promise<void>;
  /**
   * The driver pod `pod` terminated: its registration goes now rather than when its session times
   * out, so the standby or the replacement driver registers at once. Call before creating the
   * replacement. A registration naming another pod (a standby that took over) is left alone.
   */
  driverGone(job: CoordinatedJob, pod: string): Promise<void>;
  /** Asks an executor to hand back its tasks; call on every pass until `drained`. */
  drain(job: CoordinatedJob, pod: string, policy: TaskPolicy): Promise<DrainResult>;
  /** Level-based: moves every task whose owner is dead or draining, and retries failed ones. */
  rescheduleTasks(job: CoordinatedJob, policy: TaskPolicy): Promise<RescheduleSummary>;
  /** Removes the job's whole subtree (the finalizer). */
  deleteJob(job: CoordinatedJob): Promise<void>;
  /** Drops what is held in memory for a job that is gone (watches, caches). */
  forgetJob(job: CoordinatedJob): void;
  /**
   * Why ZooKeeper cannot be asked right now — the operator's own connection to it is lost — or
   * undefined while it is connected. Answered from memory, without asking ZooKeeper: a pass that
   * gets an error reports the job's coordination as unavailable at once instead of waiting on a
   * connection that may take long to come back. The error is transient and names the servers.
   */
  connectionLost(): StreamkeeperError | undefined;
  /**
   * Calls `listener` when the operator's connection to ZooKeeper is lost and when it is back, so
   * that every job's status can say so. The listener must only enqueue keys.
   */
  onConnectionChange(listener: () => void): () => void;
  /**
   * Calls `listener` whenever a watched job's executors register, leave or change state. The
   * listener must only enqueue the job's key.
   */
  onMembershipChange(listener: (job: { readonly namespace: string; readonly name: string }) => void): () => void;
  /** Stops every watch; the port is not used afterwards. */
  close(): Promise<void>;
}
