/**
 * The Kubernetes objects streamkeeper reads and writes, typed as they travel on the wire: plain
 * JSON with RFC 3339 strings for timestamps. Get, list and watch all return this one shape (the
 * typed 1.x client-node APIs would turn timestamps into Dates on get but not on watch).
 */
import type {
  EventsV1Event,
  V1Deployment,
  V1ConfigMap,
  V1Lease,
  V1Node,
  V1ObjectMeta,
  V1OwnerReference,
  V1Pod,
  V1Secret,
  V1Service,
  V1Status,
} from '@kubernetes/client-node';

/** A client-node model type as JSON: every Date (and MicroTime) becomes its string form. */
export type Wire<T> = T extends Date
  ? string
  : T extends readonly (infer U)[]
    ? Wire<U>[]
    : T extends object
      ? { [P in keyof T]: Wire<T[P]> }
      : T;

export type ObjectMeta = Wire<V1ObjectMeta>;
export type OwnerReference = Wire<V1OwnerReference>;
export type Status = Wire<V1Status>;

/** The part every Kubernetes object has. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}

export type Pod = Wire<V1Pod>;
export type Service = Wire<V1Service>;
export type Secret = Wire<V1Secret>;
export type ConfigMap = Wire<V1ConfigMap>;
/** An events.k8s.io/v1 Event (what `kubectl events` and `kubectl describe` show). */
export type Event = Wire<EventsV1Event>;
export type Lease = Wire<V1Lease>;
/** Read only: the operator's own Deployment, to tell an uninstall from a restart. */
export type Deployment = Wire<V1Deployment>;
export type Node = Wire<V1Node>;

/**
 * A custom resource as the API server stores it. The owning API module validates `spec` and
 * narrows it; this layer only moves JSON.
 */
export interface CustomObject extends KubeObject {
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [field: string]: unknown;
}

/** Metadata fields the API server always sets on a stored object. */
export type StoredMeta = ObjectMeta & {
  name: string;
  uid: string;
  resourceVersion: string;
  creationTimestamp: string;
};

/** An object as read back from the API server: its metadata is always present. */
export type Stored<T extends KubeObject> = T & { apiVersion: string; kind: string; metadata: StoredMeta };

/** Names one object. `namespace` is omitted for cluster-scoped kinds (Node). */
export interface ObjectRef {
  readonly namespace?: string;
  readonly name: string;
}

/**
 * The queue key for an object: `namespace/name`, or `name` when cluster-scoped (the same key
 * client-go's MetaNamespaceKeyFunc produces, so logs and metrics read the same).
 */
export function objectKey(ref: ObjectRef): string {
  return ref.namespace === undefined || ref.namespace === '' ? ref.name : `${ref.namespace}/${ref.name}`;
}

/** The reference named by a key from `objectKey`. */
export function parseObjectKey(key: string): ObjectRef {
  const slash = key.indexOf('/');
  if (slash < 0) return { name: key };
  if (slash === 0 || slash === key.length - 1 || key.indexOf('/', slash + 1) >= 0) {
    throw new RangeError(`not an object key: "${key}" (expected namespace/name or name)`);
  }
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** The reference of a stored object. */
export function refOf(object: Stored<KubeObject>): ObjectRef {
  const { namespace, name } = object.metadata;
  return namespace === undefined || namespace === '' ? { name } : { namespace, name };
}
