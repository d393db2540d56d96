/**
 * An in-memory API server behind the KubeClient interface, for unit tests of everything that
 * talks to Kubernetes. It keeps the semantics controllers depend on — one monotonic
 * resourceVersion across kinds, 409 on a stale write, no-op writes that change nothing, status
 * subresources, finalizers and graceful pod deletion, selectors on list and watch, watch from a
 * resourceVersion, 410 Gone once history is compacted — and test controls to compact history,
 * drop or end watches, send bookmarks and inject failures. test/contract/kube runs the same
 * suite against this and a real API server.
 *
 * Not modelled (on purpose; do not rely on their absence): defaulting of pod/service fields,
 * managedFields, namespaces as objects, admission, garbage collection of owned objects,
 * clusterIP allocation.
 */
import { randomUUID } from 'node:crypto';
import { StreamkeeperError } from '../errors/index.js';
import { errorFromApiFailure, statusBody } from './api-errors.js';
import type { BindOptions, DeleteOptions, KubeClient, ListOptions, MergePatch, ObjectList, PatchOptions, WatchEvent, WatchOptions } from './client.js';
import { EventChannel } from './event-channel.js';
import { applyMergePatch, jsonEqual } from './merge-patch.js';
import { objectKey, type KubeObject, type ObjectMeta, type ObjectRef, type Stored } from './objects.js';
import { apiVersionOf, resources, type Kind, type KindObjects, type ResourceDescriptor, type StatusKind } from './resources.js';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector, type FieldRequirement, type LabelRequirement } from './selectors.js';

export type FakeVerb = 'get' | 'list' | 'create' | 'update' | 'updateStatus' | 'patch' | 'patchStatus' | 'delete' | 'bind' | 'watch';

/** One call the fake received, for assertions such as "status was written once". */
export interface FakeAction {
  readonly verb: FakeVerb;
  readonly kind: Kind;
  readonly namespace?: string;
  readonly name?: string;
}

export interface FaultSpec {
  readonly verbs?: readonly FakeVerb[];
  readonly kinds?: readonly Kind[];
  /** What the call throws; default a transient SK_KUBE_ERROR. */
  readonly error?: Error;
  /** The call never settles (a hung connection) instead of failing. */
  readonly hang?: boolean;
  /** How many matching calls fail; default 1. `Infinity` until `clearFaults()`. */
  readonly times?: number;
}

export interface FakeKubeOptions {
  /** Clock for timestamps (creationTimestamp, deletionTimestamp). */
  readonly now?: () => number;
  /** Watch history kept; watching from before it is 410 Gone. */
  readonly historyLimit?: number;
}

type AnyStored = Stored<KubeObject> & Record<string, unknown>;
type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface Change {
  readonly rv: number;
  readonly kind: Kind;
  readonly type: ChangeType;
  readonly object: AnyStored;
  readonly previous: AnyStored | undefined;
}

interface OpenWatch {
  readonly kind: Kind;
  readonly namespace: string | undefined;
  readonly labels: readonly LabelRequirement[];
  readonly fields: readonly FieldRequirement[];
  readonly channel: EventChannel<WatchEvent<KubeObject>>;
}

interface Fault extends FaultSpec {
  remaining: number;
}

const subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const dns1035Label = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const labelKey = /^(?:[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const labelValue = /^(?:[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;
const secretKey = /^[-._a-zA-Z0-9]+$/;

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function fail(httpStatus: number, reason: string, operation: string, message: string, causes: { field: string; message: string; reason: string }[] = []): StreamkeeperError {
  return errorFromApiFailure({ httpStatus, body: statusBody(httpStatus, reason, message, causes), operation });
}

function resourceName(descriptor: ResourceDescriptor): string {
  return descriptor.group === '' ? descriptor.plural : `${descriptor.plural}.${descriptor.group}`;
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

function metaOf(object: AnyStored | KubeObject): ObjectMeta {
  return object.metadata ?? {};
}

/** Everything except metadata and status: what a generation counts. */
function specPart(object: Record<string, unknown>): Record<string, unknown> {
  const { metadata: _metadata, status: _status, apiVersion: _apiVersion, kind: _kind, ...rest } = object;
  return rest;
}

export class FakeKubeClient implements KubeClient {
  /** Every call, in order. */
  readonly actions: FakeAction[] = [];

  private readonly now: () => number;
  private readonly historyLimit: number;
  private revision = 0;
  private compactedBefore = 0;
  private readonly objects = new Map<Kind, Map<string, AnyStored>>();
  private history: Change[] = [];
  private readonly watches = new Set<OpenWatch>();
  private faults: Fault[] = [];

  constructor(options: FakeKubeOptions = {}) {
    this.now = options.now ?? Date.now;
    this.historyLimit = options.historyLimit ?? 10_000;
    if (!Number.isInteger(this.historyLimit) || this.historyLimit < 1) {
      throw new RangeError('historyLimit must be a positive integer');
    }
  }

  // ------------------------------------------------------------------ test controls ----

  /** The latest resourceVersion handed out. */
  get resourceVersion(): string {
    return String(this.revision);
  }

  /**
   * Compacts history (as etcd does) and ends open watches of `kind` (all kinds if omitted) with
   * SK_KUBE_GONE: watching again from any earlier resourceVersion is Gone, so clients must list.
   */
  forceGone(kind?: Kind): void {
    this.history = [];
    this.compactedBefore = this.revision;
    this.endWatches(kind, (channel) => {
      channel.fail(fail(410, 'Expired', 'watch', 'too old resource version'));
    });
  }

  /** Ends open watches with a transient error, as a dropped connection does. */
  dropWatches(kind?: Kind): void {
    this.endWatches(kind, (channel) => {
      channel.fail(new StreamkeeperError('SK_KUBE_ERROR', 'watch: connection reset by peer'));
    });
  }

  /** Ends open watches normally, as the server does when a watch times out. */
  closeWatches(kind?: Kind): void {
    this.endWatches(kind, (channel) => {
      channel.end();
    });
  }

  /** Sends a BOOKMARK with the current resourceVersion to open watches. */
  bookmark(kind?: Kind): void {
    for (const watch of this.watches) {
      if (kind === undefined || watch.kind === kind) watch.channel.push({ type: 'BOOKMARK', resourceVersion: this.resourceVersion });
    }
  }

  openWatches(kind?: Kind): number {
    return [...this.watches].filter((watch) => kind === undefined || watch.kind === kind).length;
  }

  /** Makes matching calls fail (or hang) before they touch any state. */
  injectFault(spec: FaultSpec = {}): void {
    this.faults.push({ ...spec, remaining: spec.times ?? 1 });
  }

  clearFaults(): void {
    this.faults = [];
  }

  // ------------------------------------------------------------------ KubeClient ----

  async get<K extends Kind>(kind: K, ref: ObjectRef): Promise<Stored<KindObjects[K]>> {
    await this.enter('get', kind, ref);
    return clone(this.mustFind(kind, ref, 'get')) as Stored<KindObjects[K]>;
  }

  async list<K extends Kind>(kind: K, options: ListOptions = {}): Promise<ObjectList<KindObjects[K]>> {
    await this.enter('list', kind, options.namespace === undefined ? {} : { namespace: options.namespace });
    const descriptor = resources[kind];
    const labels = parseLabelSelector(options.labelSelector ?? '');
    const fields = parseFieldSelector(options.fieldSelector ?? '', ['metadata.name', 'metadata.namespace', ...descriptor.selectableFields]);
    const items = [...this.bucket(kind).values()]
      .filter((object) => this.selected(object, options.namespace, labels, fields))
      .sort((a, b) => objectKey(refOfStored(a)).localeCompare(objectKey(refOfStored(b))))
      .map((object) => clone(object) as Stored<KindObjects[K]>);
    return { items, resourceVersion: this.resourceVersion };
  }

  async create<K extends Kind>(kind: K, object: KindObjects[K]): Promise<Stored<KindObjects[K]>> {
    const descriptor = resources[kind];
    const input = this.normalise(descriptor, object, 'create');
    const meta = metaOf(input);
    await this.enter('create', kind, { ...(meta.namespace === undefined ? {} : { namespace: meta.namespace }), name: meta.name ?? '' });
    if ((meta.name === undefined || meta.name === '') && meta.generateName !== undefined && meta.generateName !== '') {
      meta.name = `${meta.generateName}${randomUUID().replaceAll('-', '').slice(0, 5)}`;
    }
    const operation = `create ${kind} ${objectKey({ ...(meta.namespace === undefined ? {} : { namespace: meta.namespace }), name: meta.name ?? '' })}`;
    this.validate(descriptor, input, undefined, operation);
    const ref = refOfStored(input);
    if (this.bucket(kind).has(objectKey(ref))) {
      throw fail(409, 'AlreadyExists', operation, `${resourceName(descriptor)} "${ref.name}" already exists`);
    }
    const revision = ++this.revision;
    meta.uid = randomUUID();
    meta.resourceVersion = String(revision);
    meta.creationTimestamp = rfc3339(this.now());
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    if (descriptor.tracksGeneration) meta.generation = 1;
    else delete meta.generation;
    this.prepareForCreate(kind, input);
    this.bucket(kind).set(objectKey(ref), input);
    this.record(kind, 'ADDED', input, undefined, revision);
    return clone(input) as Stored<KindObjects[K]>;
  }

  async update<K extends Kind>(kind: K, object: KindObjects[K]): Promise<Stored<KindObjects[K]>> {
    const descriptor = resources[kind];
    const input = this.normalise(descriptor, object, 'update');
    const ref = refOfStored(input);
    await this.enter('update', kind, ref);
    const operation = `update ${kind} ${objectKey(ref)}`;
    const current = this.mustFind(kind, ref, 'update');
    const precondition = metaOf(input).resourceVersion;
    if ((precondition === undefined || precondition === '') && kind === 'StreamingJob') {
      throw fail(422, 'Invalid', operation, `${resourceName(descriptor)} "${ref.name}" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update`, [
        { field: 'metadata.resourceVersion', message: 'must be specified for an update', reason: 'FieldValueInvalid' },
      ]);
    }
    this.checkVersion(descriptor, current, precondition, operation);
    const next = this.carrySystemFields(current, input);
    if (descriptor.statusSubresource) this.keepStatus(current, next);
    return this.commit(kind, current, next, operation) as Stored<KindObjects[K]>;
  }

  async updateStatus<K extends StatusKind>(kind: K, object: KindObjects[K]): Promise<Stored<KindObjects[K]>> {
    const descriptor = resources[kind];
    const input = this.normalise(descriptor, object, 'update');
    const ref = refOfStored(input);
    await this.enter('updateStatus', kind, ref);
    const operation = `update ${kind} ${objectKey(ref)} status`;
    const current = this.mustFind(kind, ref, 'update');
    this.checkVersion(descriptor, current, metaOf(input).resourceVersion, operation);
    const next = clone(current);
    if (input.status === undefined) delete next.status;
    else next.status = clone(input.status);
    return this.commit(kind, current, next, operation) as Stored<KindObjects[K]>;
  }

  async patch<K extends Kind>(kind: K, ref: ObjectRef, patch: MergePatch, options: PatchOptions = {}): Promise<Stored<KindObjects[K]>> {
    await this.enter('patch', kind, ref);
    const descriptor = resources[kind];
    const operation = `patch ${kind} ${objectKey(ref)}`;
    const current = this.mustFind(kind, ref, 'patch');
    this.checkVersion(descriptor, current, options.resourceVersion ?? patchedVersion(patch), operation);
    const merged = this.normalise(descriptor, applyMergePatch(current, patch) as KubeObject, 'patch');
    const next = this.carrySystemFields(current, merged);
    if (descriptor.statusSubresource) this.keepStatus(current, next);
    return this.commit(kind, current, next, operation) as Stored<KindObjects[K]>;
  }

  async patchStatus<K extends StatusKind>(kind: K, ref: ObjectRef, patch: MergePatch, options: PatchOptions = {}): Promise<Stored<KindObjects[K]>> {
    await this.enter('patchStatus', kind, ref);
    const descriptor = resources[kind];
    const operation = `patch ${kind} ${objectKey(ref)} status`;
    const current = this.mustFind(kind, ref, 'patch');
    this.checkVersion(descriptor, current, options.resourceVersion ?? patchedVersion(patch), operation);
    const merged = applyMergePatch(current, patch) as AnyStored;
    const next = clone(current);
    if (merged.status === undefined) delete next.status;
    else next.status = merged.status;
    return this.commit(kind, current, next, operation) as Stored<KindObjects[K]>;
  }

  async delete(kind: Kind, ref: ObjectRef, options: DeleteOptions = {}): Promise<void> {
    await this.enter('delete', kind, ref);
    const descriptor = resources[kind];
    const operation = `delete ${kind} ${objectKey(ref)}`;
    const current = this.mustFind(kind, ref, 'delete');
    const meta = current.metadata;
    if (options.uid !== undefined && options.uid !== meta.uid) {
      throw fail(409, 'Conflict', operation, `Precondition failed: UID in precondition: ${options.uid}, UID in object meta: ${meta.uid}`);
    }
    if (options.resourceVersion !== undefined && options.resourceVersion !== meta.resourceVersion) {
      throw fail(409, 'Conflict', operation, `Precondition failed: ResourceVersion in precondition: ${options.resourceVersion}, ResourceVersion in object meta: ${meta.resourceVersion}`);
    }
    const hasFinalizers = (meta.finalizers ?? []).length > 0;
    const next = clone(current);
    const nextMeta = next.metadata;
    if (meta.deletionTimestamp !== undefined) {
      // Already terminating: only a shorter pod grace period changes anything.
      const shorter = kind === 'Pod' && options.gracePeriodSeconds !== undefined && options.gracePeriodSeconds < (meta.deletionGracePeriodSeconds ?? 0);
      if (!shorter) return;
      nextMeta.deletionGracePeriodSeconds = options.gracePeriodSeconds;
      nextMeta.deletionTimestamp = rfc3339(this.now() + (options.gracePeriodSeconds ?? 0) * 1000);
      this.commit(kind, current, next, operation);
      return;
    }
    const grace = this.gracePeriod(kind, current, options);
    if (grace === 0 && !hasFinalizers) {
      this.remove(descriptor.kind, current);
      return;
    }
    nextMeta.deletionTimestamp = rfc3339(this.now() + grace * 1000);
    nextMeta.deletionGracePeriodSeconds = grace;
    this.commit(kind, current, next, operation);
  }

  async bindPod(ref: ObjectRef, nodeName: string, options: BindOptions = {}): Promise<void> {
    await this.enter('bind', 'Pod', ref);
    const operation = `bind Pod ${objectKey(ref)} to node ${nodeName}`;
    const current = this.mustFind('Pod', ref, 'bind');
    const conflict = (message: string): StreamkeeperError => fail(409, 'Conflict', operation, `Operation cannot be fulfilled on pods/binding "${ref.name}": ${message}`);
    if (options.uid !== undefined && options.uid !== current.metadata.uid) {
      throw conflict(`Precondition failed: UID in precondition: ${options.uid}, UID in object meta: ${current.metadata.uid}`);
    }
    if (current.metadata.deletionTimestamp !== undefined) throw conflict(`pod ${ref.name} is being deleted, cannot be assigned to a host`);
    const assigned = (current.spec as { nodeName?: string } | undefined)?.nodeName;
    if (assigned !== undefined && assigned !== '') throw conflict(`pod ${ref.name} is already assigned to node "${assigned}"`);
    // The binding is the one way to change spec.nodeName, so it skips the update validation.
    const next = clone(current);
    next.spec = { ...(next.spec as Record<string, unknown> | undefined), nodeName };
    const status = (next.status ?? {}) as { conditions?: Record<string, unknown>[] };
    const others = (status.conditions ?? []).filter((condition) => condition.type !== 'PodScheduled');
    next.status = { ...status, conditions: [...others, { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: rfc3339(this.now()) }] };
    const revision = ++this.revision;
    next.metadata.resourceVersion = String(revision);
    this.bucket('Pod').set(objectKey(refOfStored(next)), next);
    this.record('Pod', 'MODIFIED', next, current, revision);
  }

  watch<K extends Kind>(kind: K, options: WatchOptions): AsyncIterable<WatchEvent<KindObjects[K]>> {
    const descriptor = resources[kind];
    const channel: EventChannel<WatchEvent<KubeObject>> = new EventChannel(() => {
      this.watches.delete(watch);
    });
    let labels: LabelRequirement[] = [];
    let fields: FieldRequirement[] = [];
    let failure: Error | undefined;
    try {
      labels = parseLabelSelector(options.labelSelector ?? '');
      fields = parseFieldSelector(options.fieldSelector ?? '', ['metadata.name', 'metadata.namespace', ...descriptor.selectableFields]);
    } catch (err) {
      failure = err instanceof Error ? err : new Error(String(err));
    }
    const watch: OpenWatch = { kind, namespace: options.namespace, labels, fields, channel };
    // Registered synchronously: a test may end or compact watches right after opening one.
    const fault = this.takeFault('watch', kind, options.namespace === undefined ? {} : { namespace: options.namespace });
    try {
      if (fault?.hang === true) return channel as unknown as AsyncIterable<WatchEvent<KindObjects[K]>>;
      if (fault !== undefined) throw fault.error ?? new StreamkeeperError('SK_KUBE_ERROR', `watch ${kind}: injected failure`);
      if (failure !== undefined) throw failure;
      const from = options.resourceVersion;
      if (from === '' || from === '0') {
        // "Any version": the current state as synthetic ADDED events, then live changes.
        for (const object of this.bucket(kind).values()) {
          if (this.selected(object, watch.namespace, labels, fields)) channel.push({ type: 'ADDED', object: clone(object) });
        }
      } else {
        if (!/^\d+$/.test(from)) throw fail(400, 'BadRequest', `watch ${kind}`, `resourceVersion: Invalid value: "${from}": must be an integer`);
        const since = Number(from);
        if (since < this.compactedBefore) throw fail(410, 'Expired', `watch ${kind}`, `too old resource version: ${from} (${this.compactedBefore})`);
        for (const change of this.history) {
          if (change.rv > since && change.kind === kind) this.deliver(watch, change);
        }
      }
      this.watches.add(watch);
    } catch (err) {
      channel.fail(err);
    }
    options.signal?.addEventListener('abort', () => void channel.return(), { once: true });
    if (options.signal?.aborted === true) void channel.return();
    return channel as unknown as AsyncIterable<WatchEvent<KindObjects[K]>>;
  }

  // ------------------------------------------------------------------ internals ----

  private bucket(kind: Kind): Map<string, AnyStored> {
    let bucket = this.objects.get(kind);
    if (bucket === undefined) {
      bucket = new Map();
      this.objects.set(kind, bucket);
    }
    return bucket;
  }

  private async enter(verb: FakeVerb, kind: Kind, ref: Partial<ObjectRef>): Promise<void> {
    const fault = this.takeFault(verb, kind, ref);
    // Real calls are asynchronous; so are these, so callers cannot depend on ordering that
    // only an in-process fake would give them.
    await Promise.resolve();
    if (fault === undefined) return;
    if (fault.hang === true) await new Promise<never>(() => undefined);
    throw fault.error ?? new StreamkeeperError('SK_KUBE_ERROR', `${verb} ${kind}: injected failure`);
  }

  /** Records the call and takes the first fault that applies to it, if any. */
  private takeFault(verb: FakeVerb, kind: Kind, ref: Partial<ObjectRef>): Fault | undefined {
    this.actions.push({ verb, kind, ...(ref.namespace === undefined ? {} : { namespace: ref.namespace }), ...(ref.name === undefined ? {} : { name: ref.name }) });
    const fault = this.faults.find((candidate) => candidate.remaining > 0 && (candidate.verbs?.includes(verb) ?? true) && (candidate.kinds?.includes(kind) ?? true));
    if (fault !== undefined) fault.remaining--;
    return fault;
  }

  private mustFind(kind: Kind, ref: ObjectRef, verb: string): AnyStored {
    const descriptor = resources[kind];
    if (descriptor.namespaced && (ref.namespace === undefined || ref.namespace === '')) {
      throw new StreamkeeperError('SK_KUBE_BAD_REQUEST', `${verb} ${kind}: metadata.namespace is required`);
    }
    const key = objectKey(descriptor.namespaced ? ref : { name: ref.name });
    const found = this.bucket(kind).get(key);
    if (found === undefined) {
      throw fail(404, 'NotFound', `${verb} ${kind} ${objectKey(ref)}`, `${resourceName(descriptor)} "${ref.name}" not found`);
    }
    return found;
  }

  /** A copy of the input with apiVersion/kind filled in and the scope checked. */
  private normalise(descriptor: ResourceDescriptor, object: KubeObject, verb: string): AnyStored {
    const input = clone(object) as KubeObject & Record<string, unknown>;
    const apiVersion = apiVersionOf(descriptor);
    if (input.apiVersion !== undefined && input.apiVersion !== apiVersion) {
      throw fail(400, 'BadRequest', `${verb} ${descriptor.kind}`, `the API version in the data (${input.apiVersion}) does not match the expected API version (${apiVersion})`);
    }
    if (input.kind !== undefined && input.kind !== descriptor.kind) {
      throw fail(400, 'BadRequest', `${verb} ${descriptor.kind}`, `the kind in the data (${input.kind}) does not match the expected kind (${descriptor.kind})`);
    }
    input.apiVersion = apiVersion;
    input.kind = descriptor.kind;
    input.metadata ??= {};
    const meta = input.metadata;
    if (descriptor.namespaced && (meta.namespace === undefined || meta.namespace === '')) {
      throw new StreamkeeperError('SK_KUBE_BAD_REQUEST', `${verb} ${descriptor.kind}: metadata.namespace is required`);
    }
    if (!descriptor.namespaced) delete meta.namespace;
    if (verb === 'create') delete meta.resourceVersion;
    return input as AnyStored;
  }

  private validate(descriptor: ResourceDescriptor, object: AnyStored, current: AnyStored | undefined, operation: string): void {
    const causes: { field: string; message: string; reason: string }[] = [];
    const invalid = (field: string, message: string, reason = 'FieldValueInvalid'): void => {
      causes.push({ field, message, reason });
    };
    const meta = object.metadata;
    const name = meta.name as string | undefined;
    if (name === undefined || name === '') invalid('metadata.name', 'Required value: name or generateName is required', 'FieldValueRequired');
    else if (descriptor.kind === 'Service' ? !dns1035Label.test(name) || name.length > 63 : !subdomain.test(name) || name.length > 253) {
      invalid('metadata.name', `Invalid value: "${name}": must be a lowercase RFC ${descriptor.kind === 'Service' ? '1035 label' : '1123 subdomain'}`);
    }
    for (const [key, value] of Object.entries(meta.labels ?? {})) {
      if (!labelKey.test(key)) invalid('metadata.labels', `Invalid value: "${key}": name part must consist of alphanumeric characters, '-', '_' or '.'`);
      if (!labelValue.test(value) || value.length > 63) invalid('metadata.labels', `Invalid value: "${value}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', at most 63 characters`);
    }
    if (current?.metadata.deletionTimestamp !== undefined) {
      const before = new Set(current.metadata.finalizers ?? []);
      if ((meta.finalizers ?? []).some((finalizer) => !before.has(finalizer))) {
        invalid('metadata.finalizers', 'Forbidden: no new finalizers can be added if the object is being deleted', 'FieldValueForbidden');
      }
    }
    this.validateKind(descriptor.kind, object, current, invalid);
    if (causes.length > 0) {
      const summary = causes.map((cause) => `${cause.field}: ${cause.message}`).join(', ');
      throw fail(422, 'Invalid', operation, `${resourceName(descriptor)} "${name ?? ''}" is invalid: ${summary}`, causes);
    }
  }

  private validateKind(kind: Kind, object: AnyStored, current: AnyStored | undefined, invalid: (field: string, message: string, reason?: string) => void): void {
    switch (kind) {
      case 'Pod': {
        const spec = object.spec as { containers?: { name?: string; image?: string }[] } | undefined;
        const containers = spec?.containers ?? [];
        if (containers.length === 0) invalid('spec.containers', 'Required value', 'FieldValueRequired');
        containers.forEach((container, i) => {
          if (container.name === undefined || container.name === '') invalid(`spec.containers[${i}].name`, 'Required value', 'FieldValueRequired');
          if (container.image === undefined || container.image === '') invalid(`spec.containers[${i}].image`, 'Required value', 'FieldValueRequired');
        });
        if (current !== undefined && !jsonEqual(mutablePodSpec(current.spec), mutablePodSpec(object.spec))) {
          invalid('spec', 'Forbidden: pod updates may not change fields other than `spec.containers[*].image`, `spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to existing tolerations) or `spec.terminationGracePeriodSeconds`', 'FieldValueForbidden');
        }
        return;
      }
      case 'Secret': {
        for (const key of Object.keys((object.data ?? {}) as Record<string, unknown>)) {
          if (!secretKey.test(key)) invalid('data', `Invalid value: "${key}": a valid config key must consist of alphanumeric characters, '-', '_' or '.'`);
        }
        return;
      }
      case 'Event': {
        const event = object as Record<string, unknown>;
        for (const field of ['eventTime', 'reportingController', 'reportingInstance', 'action', 'reason']) {
          if (event[field] === undefined || event[field] === '') invalid(field, 'Required value', 'FieldValueRequired');
        }
        if (event.type !== 'Normal' && event.type !== 'Warning') invalid('type', 'Unsupported value: must be Normal or Warning', 'FieldValueNotSupported');
        if (typeof event.note === 'string' && Buffer.byteLength(event.note) > 1024) invalid('note', 'Too long: may not be more than 1024 bytes', 'FieldValueTooLong');
        return;
      }
      case 'Lease': {
        const spec = object.spec as { leaseDurationSeconds?: number; leaseTransitions?: number } | undefined;
        if (spec?.leaseDurationSeconds !== undefined && spec.leaseDurationSeconds <= 0) invalid('spec.leaseDurationSeconds', 'Invalid value: must be greater than 0');
        if (spec?.leaseTransitions !== undefined && spec.leaseTransitions < 0) invalid('spec.leaseTransitions', 'Invalid value: must be greater than or equal to 0');
        return;
      }
      default:
        return;
    }
  }

  private prepareForCreate(kind: Kind, object: AnyStored): void {
    if (kind === 'Pod') object.status = { phase: 'Pending' };
    if (kind === 'StreamingJob') delete object.status;
    if (kind === 'Secret') this.foldStringData(object);
  }

  private foldStringData(object: AnyStored): void {
    const stringData = object.stringData as Record<string, string> | undefined;
    if (stringData !== undefined) {
      const data = (object.data ?? {}) as Record<string, string>;
      for (const [key, value] of Object.entries(stringData)) data[key] = Buffer.from(value, 'utf8').toString('base64');
      object.data = data;
      delete object.stringData;
    }
    object.type ??= 'Opaque';
  }

  private checkVersion(descriptor: ResourceDescriptor, current: AnyStored, precondition: string | undefined, operation: string): void {
    if (precondition !== undefined && precondition !== '' && precondition !== current.metadata.resourceVersion) {
      throw fail(409, 'Conflict', operation, `Operation cannot be fulfilled on ${resourceName(descriptor)} "${current.metadata.name}": the object has been modified; please apply your changes to the latest version and try again`);
    }
  }

  /** The input with the fields only the server sets taken from the stored object. */
  private carrySystemFields(current: AnyStored, input: AnyStored): AnyStored {
    const next = clone(input);
    const meta = next.metadata as ObjectMeta;
    const was = current.metadata;
    meta.name = was.name;
    if (was.namespace === undefined) delete meta.namespace;
    else meta.namespace = was.namespace;
    meta.uid = was.uid;
    meta.creationTimestamp = was.creationTimestamp;
    meta.resourceVersion = was.resourceVersion;
    if (was.generation === undefined) delete meta.generation;
    else meta.generation = was.generation;
    if (was.deletionTimestamp === undefined) delete meta.deletionTimestamp;
    else meta.deletionTimestamp = was.deletionTimestamp;
    if (was.deletionGracePeriodSeconds === undefined) delete meta.deletionGracePeriodSeconds;
    else meta.deletionGracePeriodSeconds = was.deletionGracePeriodSeconds;
    if (next.kind === 'Secret') this.foldStringData(next);
    return next;
  }

  private keepStatus(current: AnyStored, next: AnyStored): void {
    if (current.status === undefined) delete next.status;
    else next.status = clone(current.status);
  }

  private gracePeriod(kind: Kind, object: AnyStored, options: DeleteOptions): number {
    if (kind !== 'Pod') return 0;
    const spec = object.spec as { nodeName?: string; terminationGracePeriodSeconds?: number } | undefined;
    const phase = (object.status as { phase?: string } | undefined)?.phase;
    // Unbound or finished pods have no kubelet to wait for.
    if (spec?.nodeName === undefined || spec.nodeName === '' || phase === 'Succeeded' || phase === 'Failed') return 0;
    return Math.max(0, options.gracePeriodSeconds ?? spec.terminationGracePeriodSeconds ?? 30);
  }

  /** Validates and stores a changed object; a write that changes nothing is a no-op. */
  private commit(kind: Kind, current: AnyStored, next: AnyStored, operation: string): AnyStored {
    const descriptor = resources[kind];
    this.validate(descriptor, next, current, operation);
    const meta = next.metadata as ObjectMeta;
    if (descriptor.tracksGeneration && !jsonEqual(specPart(current), specPart(next))) {
      meta.generation = (current.metadata.generation ?? 0) + 1;
    }
    if (jsonEqual(current, next)) return clone(current);
    const revision = ++this.revision;
    meta.resourceVersion = String(revision);
    this.bucket(kind).set(objectKey(refOfStored(next)), next);
    this.record(kind, 'MODIFIED', next, current, revision);
    if (meta.deletionTimestamp !== undefined && (meta.finalizers ?? []).length === 0 && (meta.deletionGracePeriodSeconds ?? 0) === 0) {
      this.remove(kind, next);
    }
    return clone(next);
  }

  private remove(kind: Kind, object: AnyStored): void {
    const revision = ++this.revision;
    const gone = clone(object);
    gone.metadata.resourceVersion = String(revision);
    this.bucket(kind).delete(objectKey(refOfStored(object)));
    this.record(kind, 'DELETED', gone, object, revision);
  }

  private record(kind: Kind, type: ChangeType, object: AnyStored, previous: AnyStored | undefined, rv: number): void {
    const change: Change = { rv, kind, type, object: clone(object), previous: previous === undefined ? undefined : clone(previous) };
    this.history.push(change);
    if (this.history.length > this.historyLimit) {
      const dropped = this.history.splice(0, this.history.length - this.historyLimit);
      this.compactedBefore = dropped[dropped.length - 1]?.rv ?? this.compactedBefore;
    }
    for (const watch of this.watches) {
      if (watch.kind === kind) this.deliver(watch, change);
    }
  }

  private selected(object: AnyStored, namespace: string | undefined, labels: readonly LabelRequirement[], fields: readonly FieldRequirement[]): boolean {
    // A namespace scopes only namespaced kinds; the server ignores it for Nodes.
    if (namespace !== undefined && object.metadata.namespace !== undefined && object.metadata.namespace !== namespace) return false;
    return matchesLabels(labels, object.metadata.labels) && matchesFields(fields, object);
  }

  /** What a watch with selectors sees of a change: objects entering or leaving the selection. */
  private deliver(watch: OpenWatch, change: Change): void {
    const now = this.selected(change.object, watch.namespace, watch.labels, watch.fields);
    const before = change.previous !== undefined && this.selected(change.previous, watch.namespace, watch.labels, watch.fields);
    let type: ChangeType | undefined;
    if (change.type === 'ADDED') type = now ? 'ADDED' : undefined;
    else if (change.type === 'DELETED') type = before || now ? 'DELETED' : undefined;
    else if (now) type = before ? 'MODIFIED' : 'ADDED';
    else type = before ? 'DELETED' : undefined;
    if (type !== undefined) watch.channel.push({ type, object: clone(change.object) });
  }

  private endWatches(kind: Kind | undefined, end: (channel: EventChannel<WatchEvent<KubeObject>>) => void): void {
    for (const watch of [...this.watches]) {
      if (kind === undefined || watch.kind === kind) {
        this.watches.delete(watch);
        end(watch.channel);
      }
    }
  }
}

function refOfStored(object: AnyStored | KubeObject): ObjectRef {
  const meta = metaOf(object);
  const name = meta.name ?? '';
  return meta.namespace === undefined || meta.namespace === '' ? { name } : { namespace: meta.namespace, name };
}

function patchedVersion(patch: MergePatch): string | undefined {
  const metadata = patch.metadata;
  if (typeof metadata !== 'object' || metadata === null) return undefined;
  const version = (metadata as { resourceVersion?: unknown }).resourceVersion;
  return typeof version === 'string' ? version : undefined;
}

/** A pod spec with the fields an update may change blanked out. */
function mutablePodSpec(spec: unknown): unknown {
  if (typeof spec !== 'object' || spec === null) return spec;
  const copy = clone(spec) as Record<string, unknown>;
  delete copy.activeDeadlineSeconds;
  delete copy.tolerations;
  delete copy.terminationGracePeriodSeconds;
  for (const list of ['containers', 'initContainers']) {
    const containers = copy[list];
    if (Array.isArray(containers)) {
      for (const container of containers as Record<string, unknown>[]) delete container.image;
    }
  }
  return copy;
}
