/**
 * The coordination API the operator, driver and executors are built on. Import from here; the
 * modules behind it may move.
 */
export { AclScheme, credentialEnv, credentialFromSecretData, credentialKeys, credentialSecretData, jobCredentialSecretName, jobUser, newJobCredential, operatorUser, readCredential, readJobAcl, type DigestCredential } from './acl.js';
export { assignTasks, currentLoad, leastLoaded, planReschedule } from './assignment.js';
export {
  ConfigMirror,
  configHash,
  decideConfigWrite,
  maxConfigBytes,
  watchConfig,
  type ConfigPublishResult,
  type JobConfigContent,
  type JobConfigDocument,
} from './config-mirror.js';
export { CoordinationLayout, batchId, defaultRoot, jobKey, layoutVersion, parseTaskId, splitChroot, taskId, type JobRef } from './layout.js';
export { ExecutorMembership, ExecutorRegistrationHandle, activeExecutors, type DrainRequestOutcome, type ExecutorRegistration, type ExecutorSet, type LiveExecutor } from './membership.js';
export { noopObserver, sessionStates, type CoordinationObserver, type ExecutorGoneReason, type SessionState } from './observer.js';
export { Rescheduler, type DrainReport, type ExecutorGoneResult, type ReschedulePolicy, type RescheduleReport } from './rescheduler.js';
export { ZooKeeperSession, type Subscription, type ZooKeeperSessionOptions } from './session.js';
export { deleteJobSubtree, ensureChroot, ensureJobSubtree, relockJobSubtree } from './subtree.js';
export { TaskLedger, batchTasks, nextBatchId, type BatchRecord, type CompletionResult, type DriverProgress, type OffsetsRecord, type PartitionOffset, type StateProgress, type VersionedBatch, type VersionedTask } from './task-ledger.js';
export { batchOutcome, nextTaskState, type OffsetRange, type StateReport, type TaskClaim, type TaskRecord, type TaskState, type TaskWork } from './task-state.js';
export type { ZooKeeperConnector } from './zookeeper/client.js';
export { NativeZooKeeperClient } from './zookeeper/native-client.js';
