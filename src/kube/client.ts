/**
 * The narrow Kubernetes client the operator and the local node agent program against. Two
 * implementations: `ClientNodeKubeClient` (the real API server, through @kubernetes/client-node)
 * and `FakeKubeClient` (in memory, for unit tests); test/contract/kube holds both to one suite.
 *
 * Conventions every implementation keeps:
 * - Objects are wire JSON (see objects.ts); results always carry apiVersion, kind and metadata.
 * - Writes are optimistic: `update`/`updateStatus` send `metadata.resourceVersion` as a
 *   precondition, `patch`/`patchStatus` take `{ resourceVersion }`; a stale one is
 *   SK_KUBE_CONFLICT. Re-read and decide again, never retry blindly.
 * - Patches are JSON merge patches (RFC 7386). Server-side apply was the alternative; its
 *   field-ownership rules cannot be reproduced faithfully in a small fake, and a fake that
 *   merges differently from the server would let bugs through. Merge patch is exact everywhere.
 * - For kinds with a status subresource (Pod, Node, StreamingJob) `update`/`patch` leave status
 *   alone and `updateStatus`/`patchStatus` touch only status.
 * - Errors are StreamkeeperErrors: 404 SK_KUBE_NOT_FOUND, 403 SK_KUBE_FORBIDDEN, 409
 *   SK_KUBE_CONFLICT (stale write) or SK_KUBE_ALREADY_EXISTS (create), 410 SK_KUBE_GONE, 422
 *   SK_KUBE_INVALID (field = first offending field), 400 SK_KUBE_BAD_REQUEST; anything else
 *   SK_KUBE_ERROR (transient, with retryAfterMs when the server sent Retry-After).
 */
import { isStreamkeeperError } from '../errors/index.js';
import type { KubeObject, ObjectRef, Stored } from './objects.js';
import type { Kind, KindObjects, StatusKind } from './resources.js';

export interface ListOptions {
  /** Omit for all namespaces (namespaced kinds) or for cluster-scoped kinds. */
  readonly namespace?: string;
  /** `app.kubernetes.io/instance=job-a,app.kubernetes.io/component in (driver,executor)` */
  readonly labelSelector?: string;
  /** `spec.nodeName=node-1`; the kind must support the field (see resources.ts). */
  readonly fieldSelector?: string;
}

export interface ObjectList<T extends KubeObject> {
  readonly items: Stored<T>[];
  /** Watch from here to see every change after this list. */
  readonly resourceVersion: string;
}

/** A JSON merge patch (RFC 7386): `null` removes a field, objects merge, arrays replace. */
export type MergePatch = Record<string, unknown>;

export interface PatchOptions {
  /** Apply only if the object is still at this resourceVersion (else SK_KUBE_CONFLICT). */
  readonly resourceVersion?: string;
}

export interface DeleteOptions {
  /** Preconditions: delete only this incarnation / this version (else SK_KUBE_CONFLICT). */
  readonly uid?: string;
  readonly resourceVersion?: string;
  /** Pods bound to a node: 0 removes at once; otherwise the kubelet (or node agent) finishes. */
  readonly gracePeriodSeconds?: number;
  readonly propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
}

export interface BindOptions {
  /** Bind only this incarnation of the pod (else SK_KUBE_CONFLICT). */
  readonly uid?: string;
}

export interface WatchOptions {
  readonly namespace?: string;
  /** From a list or an earlier event: only changes after it are delivered. */
  readonly resourceVersion: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /**
   * Asks the server to end the watch normally after this long, so a connection that died
   * silently is noticed and replaced. The fake ignores it.
   */
  readonly timeoutSeconds?: number;
  /** Ends the watch (the iteration finishes normally). */
  readonly signal?: AbortSignal;
}

export type WatchEvent<T extends KubeObject> =
  | { readonly type: 'ADDED' | 'MODIFIED' | 'DELETED'; readonly object: Stored<T> }
  /** Progress marker: nothing to apply, but watching again may start from `resourceVersion`. */
  | { readonly type: 'BOOKMARK'; readonly resourceVersion: string };

export interface KubeClient {
  get<K extends Kind>(kind: K, ref: ObjectRef): Promise<Stored<KindObjects[K]>>;
  list<K extends Kind>(kind: K, options?: ListOptions): Promise<ObjectList<KindObjects[K]>>;
  /** Namespace from `object.metadata.namespace`; a resourceVersion on the input is ignored. */
  create<K extends Kind>(kind: K, object: KindObjects[K]): Promise<Stored<KindObjects[K]>>;
  /** Replaces the object; `metadata.resourceVersion` is the precondition (required for StreamingJob). */
  update<K extends Kind>(kind: K, object: KindObjects[K]): Promise<Stored<KindObjects[K]>>;
  updateStatus<K extends StatusKind>(kind: K, object: KindObjects[K]): Promise<Stored<KindObjects[K]>>;
  patch<K extends Kind>(kind: K, ref: ObjectRef, patch: MergePatch, options?: PatchOptions): Promise<Stored<KindObjects[K]>>;
  patchStatus<K extends StatusKind>(kind: K, ref: ObjectRef, patch: MergePatch, options?: PatchOptions): Promise<Stored<KindObjects[K]>>;
  /**
   * Starts deletion. An object with finalizers (or a Pod bound to a node, unless
   * gracePeriodSeconds is 0) stays, with `metadata.deletionTimestamp` set, until they are done.
   */
  delete(kind: Kind, ref: ObjectRef, options?: DeleteOptions): Promise<void>;
  /**
   * Assigns an unscheduled Pod to a node, as a scheduler does (the pods/binding subresource): sets
   * `spec.nodeName` and the PodScheduled condition. A pod that is already assigned or being
   * deleted, or (with `uid`) another incarnation of the name, is SK_KUBE_CONFLICT.
   */
  bindPod(ref: ObjectRef, nodeName: string, options?: BindOptions): Promise<void>;
  /**
   * Changes after `resourceVersion`, in order. The iteration ends normally when the server
   * closes the watch (watch again from the last seen resourceVersion) and throws SK_KUBE_GONE
   * when that resourceVersion is too old (list again). Breaking out of the loop stops the watch.
   */
  watch<K extends Kind>(kind: K, options: WatchOptions): AsyncIterable<WatchEvent<KindObjects[K]>>;
}

/** Runs a call whose "not found" is an answer, not an error (typical for get and delete). */
export async function ignoreNotFound<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (err) {
    if (isStreamkeeperError(err, 'SK_KUBE_NOT_FOUND')) return undefined;
    throw err;
  }
}
