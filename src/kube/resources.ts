/**
 * The kinds streamkeeper touches and where each lives in the API (group, version, plural,
 * scope, subresources). Both the real adapter and the in-memory fake read this one table, so a
 * kind is added in one place.
 */
import type { ConfigMap, CustomObject, Deployment, Event, Lease, Node, Pod, Secret, Service } from './objects.js';

/** Object type per kind name. */
export interface KindObjects {
  Pod: Pod;
  Service: Service;
  Secret: Secret;
  ConfigMap: ConfigMap;
  Event: Event;
  Lease: Lease;
  Deployment: Deployment;
  Node: Node;
  StreamingJob: CustomObject;
}

export type Kind = keyof KindObjects;

/** Kinds whose `status` is written only through the status subresource. */
export type StatusKind = 'Pod' | 'Node' | 'StreamingJob';

export interface ResourceDescriptor {
  readonly kind: Kind;
  /** '' for the core group. */
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly namespaced: boolean;
  readonly statusSubresource: boolean;
  /** Whether the server counts spec changes in `metadata.generation` (custom resources do). */
  readonly tracksGeneration: boolean;
  /** Field selectors the server accepts for this kind, besides metadata.name/namespace. */
  readonly selectableFields: readonly string[];
}

export const streamingJobGroup = 'streamkeeper.io';
export const streamingJobVersion = 'v1alpha1';

export const resources: { readonly [K in Kind]: ResourceDescriptor & { readonly kind: K } } = {
  Pod: {
    kind: 'Pod',
    group: '',
    version: 'v1',
    plural: 'pods',
    namespaced: true,
    statusSubresource: true,
    tracksGeneration: false,
    selectableFields: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
  },
  Service: { kind: 'Service', group: '', version: 'v1', plural: 'services', namespaced: true, statusSubresource: false, tracksGeneration: false, selectableFields: [] },
  Secret: { kind: 'Secret', group: '', version: 'v1', plural: 'secrets', namespaced: true, statusSubresource: false, tracksGeneration: false, selectableFields: ['type'] },
  ConfigMap: { kind: 'ConfigMap', group: '', version: 'v1', plural: 'configmaps', namespaced: true, statusSubresource: false, tracksGeneration: false, selectableFields: [] },
  Event: {
    kind: 'Event',
    group: 'events.k8s.io',
    version: 'v1',
    plural: 'events',
    namespaced: true,
    statusSubresource: false,
    tracksGeneration: false,
    selectableFields: ['regarding.kind', 'regarding.name', 'regarding.namespace', 'regarding.uid', 'reason', 'type', 'reportingController'],
  },
  Lease: { kind: 'Lease', group: 'coordination.k8s.io', version: 'v1', plural: 'leases', namespaced: true, statusSubresource: false, tracksGeneration: false, selectableFields: [] },
  Deployment: { kind: 'Deployment', group: 'apps', version: 'v1', plural: 'deployments', namespaced: true, statusSubresource: true, tracksGeneration: true, selectableFields: [] },
  Node: { kind: 'Node', group: '', version: 'v1', plural: 'nodes', namespaced: false, statusSubresource: true, tracksGeneration: false, selectableFields: ['spec.unschedulable'] },
  StreamingJob: {
    kind: 'StreamingJob',
    group: streamingJobGroup,
    version: streamingJobVersion,
    plural: 'streamingjobs',
    namespaced: true,
    statusSubresource: true,
    tracksGeneration: true,
    selectableFields: [],
  },
};

export function apiVersionOf(descriptor: ResourceDescriptor): string {
  return descriptor.group === '' ? descriptor.version : `${descriptor.group}/${descriptor.version}`;
}

/**
 * The REST path of a collection (no name) or of one object, optionally a subresource:
 * `/api/v1/namespaces/ns/pods/p/status`, `/apis/coordination.k8s.io/v1/namespaces/ns/leases`.
 * A namespaced kind without a namespace addresses all namespaces (list and watch only).
 */
export function resourcePath(descriptor: ResourceDescriptor, target: { namespace?: string; name?: string; subresource?: 'status' | 'binding' } = {}): string {
  const root = descriptor.group === '' ? `/api/${descriptor.version}` : `/apis/${descriptor.group}/${descriptor.version}`;
  const scope = descriptor.namespaced && target.namespace !== undefined ? `/namespaces/${encodeURIComponent(target.namespace)}` : '';
  const object = target.name === undefined ? '' : `/${encodeURIComponent(target.name)}`;
  const sub = target.subresource === undefined ? '' : `/${target.subresource}`;
  return `${root}${scope}/${descriptor.plural}${object}${sub}`;
}
