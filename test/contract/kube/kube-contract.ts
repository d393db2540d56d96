/**
 * The behaviour every KubeClient must show, as one suite run against the in-memory fake (unit
 * tests) and against a real kube-apiserver through the client-node adapter, so the fake cannot
 * drift from the server it stands in for.
 *
 * A target needs a client, an existing scratch namespace and a way to expire watch history. The
 * suite creates uniquely named objects (Secrets, ConfigMaps, Services, Pods, Events, Leases,
 * StreamingJobs in the namespace, and Nodes) and deletes them afterwards; it reads nothing it did
 * not create. On a real server it needs the StreamingJob CRD (with the status subresource)
 * installed, and the namespace's `default` ServiceAccount to exist (pods are refused until it
 * does). Every check runs against every target: none is skipped.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { isStreamkeeperError, type ErrorCode } from '../../../src/errors/index.js';
import { ignoreNotFound, type KubeClient, type WatchEvent } from '../../../src/kube/client.js';
import type { CustomObject, KubeObject, ObjectRef, Pod } from '../../../src/kube/objects.js';
import type { Kind } from '../../../src/kube/resources.js';

export interface KubeContractTarget {
  readonly client: KubeClient;
  /** An existing namespace the suite may create objects in. */
  readonly namespace: string;
  /**
   * Makes every resourceVersion handed out so far too old to watch from: the fake compacts its
   * history; a real server needs its etcd compacted (and its watch cache off, or the cache keeps
   * serving its own window of history).
   */
  readonly expireHistory: () => void | Promise<void>;
  readonly cleanup?: () => void | Promise<void>;
}

/** Generous guard for waiting on watch events; not a performance threshold. */
const eventWaitMs = 15_000;

async function expectCode(call: Promise<unknown>, code: ErrorCode): Promise<void> {
  try {
    await call;
  } catch (err) {
    if (isStreamkeeperError(err, code)) return;
    throw new Error(`expected ${code}, got ${String(err)}`);
  }
  throw new Error(`expected ${code}, but the call succeeded`);
}

/** Reads a watch until `done(events)` holds; stops the watch afterwards. */
async function readWatch<T extends KubeObject>(watch: AsyncIterable<WatchEvent<T>>, done: (events: WatchEvent<T>[]) => boolean): Promise<WatchEvent<T>[]> {
  const events: WatchEvent<T>[] = [];
  const iterator = watch[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`watch did not deliver the expected events within ${eventWaitMs} ms; got ${JSON.stringify(events.map(summary))}`));
    }, eventWaitMs);
  });
  try {
    while (!done(events)) {
      const next = await Promise.race([iterator.next(), timeout]);
      if (next.done === true) throw new Error(`watch ended early after ${JSON.stringify(events.map(summary))}`);
      if (next.value.type !== 'BOOKMARK') events.push(next.value);
    }
    return events;
  } finally {
    clearTimeout(timer);
    await iterator.return?.();
  }
}

function summary(event: WatchEvent<KubeObject>): string {
  return event.type === 'BOOKMARK' ? 'BOOKMARK' : `${event.type} ${event.object.metadata.name}`;
}

function named<T extends KubeObject>(events: WatchEvent<T>[], name: string): { type: string; rv: string }[] {
  return events.flatMap((event) => (event.type !== 'BOOKMARK' && event.object.metadata.name === name ? [{ type: event.type, rv: event.object.metadata.resourceVersion }] : []));
}

/** What the target can do beyond the KubeClient, known before it is set up. */
/** Formerly said which optional checks a target supports; every target now runs every check. */
export interface KubeContractCapabilities {
  readonly canExpireHistory: boolean;
}

export function kubeContract(targetName: string, setup: () => Promise<KubeContractTarget>, _capabilities?: KubeContractCapabilities): void {
  describe(`KubeClient contract (${targetName})`, () => {
    let target: KubeContractTarget;
    let client: KubeClient;
    let ns: string;
    const run = randomBytes(3).toString('hex');
    let counter = 0;
    const created: { kind: Kind; ref: ObjectRef }[] = [];
    const unique = (prefix: string): string => `${prefix}-${run}-${++counter}`;
    const runLabel = { 'contract.streamkeeper.io/run': run };

    /** Remembers what to clean up. */
    function track(kind: Kind, ref: ObjectRef): ObjectRef {
      created.push({ kind, ref });
      return ref;
    }

    function podSpec(extra: Partial<NonNullable<Pod['spec']>> = {}): NonNullable<Pod['spec']> {
      return { containers: [{ name: 'main', image: 'streamkeeper:contract' }], automountServiceAccountToken: false, ...extra };
    }

    /** A spec the StreamingJob CRD accepts; `replicas` is what the checks change. */
    function jobSpec(replicas: number): Record<string, unknown> {
      return {
        image: 'streamkeeper/streamkeeper:contract',
        source: { kafka: { bootstrapServers: ['kafka.contract:9092'], topics: ['in'] } },
        sink: { kafka: { topic: 'out' } },
        processor: { builtin: 'passthrough' },
        executors: { replicas },
      };
    }

    function job(name: string, spec: Record<string, unknown> = jobSpec(1)): CustomObject {
      return { metadata: { namespace: ns, name, labels: runLabel }, spec };
    }

    beforeAll(async () => {
      target = await setup();
      client = target.client;
      ns = target.namespace;
    });

    afterAll(async () => {
      for (const { kind, ref } of created.reverse()) {
        const object = await ignoreNotFound(client.get(kind, ref)).catch(() => undefined);
        if (object === undefined) continue;
        if ((object.metadata.finalizers ?? []).length > 0) {
          await ignoreNotFound(client.patch(kind, ref, { metadata: { finalizers: null } })).catch(() => undefined);
        }
        await ignoreNotFound(client.delete(kind, ref, { gracePeriodSeconds: 0 })).catch(() => undefined);
      }
      await target.cleanup?.();
    });

    describe('reading and writing', () => {
      it('creates an object and reads it back with server-set metadata', async () => {
        const name = unique('secret');
        track('Secret', { namespace: ns, name });
        const created = await client.create('Secret', { metadata: { namespace: ns, name, labels: runLabel }, stringData: { password: 'hunter2' } });
        expect(created).toMatchObject({ apiVersion: 'v1', kind: 'Secret', metadata: { namespace: ns, name } });
        expect(created.metadata.uid).not.toBe('');
        expect(created.metadata.resourceVersion).toMatch(/^\d+$/);
        expect(created.metadata.creationTimestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
        expect(created.data).toEqual({ password: Buffer.from('hunter2').toString('base64') });
        expect(created.stringData).toBeUndefined();
        const read = await client.get('Secret', { namespace: ns, name });
        expect(read.metadata.uid).toBe(created.metadata.uid);
        expect(read.metadata.resourceVersion).toBe(created.metadata.resourceVersion);
      });

      it('names an object from generateName', async () => {
        const created = await client.create('Secret', { metadata: { namespace: ns, generateName: 'generated-', labels: runLabel } });
        track('Secret', { namespace: ns, name: created.metadata.name });
        expect(created.metadata.name).toMatch(/^generated-[a-z0-9]{5}$/);
      });

      it('ignores a resourceVersion on the object to create', async () => {
        const name = unique('secret');
        track('Secret', { namespace: ns, name });
        const created = await client.create('Secret', { metadata: { namespace: ns, name, resourceVersion: '12345' } });
        expect(created.metadata.name).toBe(name);
      });

      it('refuses to create an object that exists with SK_KUBE_ALREADY_EXISTS', async () => {
        const name = unique('secret');
        track('Secret', { namespace: ns, name });
        await client.create('Secret', { metadata: { namespace: ns, name } });
        await expectCode(client.create('Secret', { metadata: { namespace: ns, name } }), 'SK_KUBE_ALREADY_EXISTS');
      });

      it('reports a missing object as SK_KUBE_NOT_FOUND on get, update, patch and delete', async () => {
        const ref = { namespace: ns, name: unique('missing') };
        await expectCode(client.get('Secret', ref), 'SK_KUBE_NOT_FOUND');
        await expectCode(client.update('Secret', { metadata: { ...ref } }), 'SK_KUBE_NOT_FOUND');
        await expectCode(client.patch('Secret', ref, { metadata: { labels: { a: 'b' } } }), 'SK_KUBE_NOT_FOUND');
        await expectCode(client.delete('Secret', ref), 'SK_KUBE_NOT_FOUND');
        await expect(ignoreNotFound(client.get('Secret', ref))).resolves.toBeUndefined();
      });

      it('changes the resourceVersion on every write that changes something', async () => {
        const name = unique('secret');
        track('Secret', { namespace: ns, name });
        const v1 = await client.create('Secret', { metadata: { namespace: ns, name }, data: { a: 'YQ==' } });
        const v2 = await client.update('Secret', { ...v1, data: { a: 'Yg==' } });
        const v3 = await client.patch('Secret', { namespace: ns, name }, { metadata: { labels: { step: 'three' } } });
        expect(new Set([v1.metadata.resourceVersion, v2.metadata.resourceVersion, v3.metadata.resourceVersion]).size).toBe(3);
        expect(BigInt(v3.metadata.resourceVersion)).toBeGreaterThan(BigInt(v2.metadata.resourceVersion));
      });

      it('leaves the resourceVersion alone when a write changes nothing', async () => {
        const name = unique('secret');
        track('Secret', { namespace: ns, name });
        const created = await client.create('Secret', { metadata: { namespace: ns, name, labels: { a: 'b' } } });
        const same = await client.update('Secret', created);
        expect(same.metadata.resourceVersion).toBe(created.metadata.resourceVersion);
        const patched = await client.patch('Secret', { namespace: ns, name }, { metadata: { labels: { a: 'b' } } });
        expect(patched.metadata.resourceVersion).toBe(created.metadata.resourceVersion);
      });

      it('rejects an update from a stale read with SK_KUBE_CONFLICT', async () => {
        const name = unique('secret');
        track('Secret', { namespace: ns, name });
        const stale = await client.create('Secret', { metadata: { namespace: ns, name } });
        await client.update('Secret', { ...stale, metadata: { ...stale.metadata, labels: { writer: 'first' } } });
        await expectCode(client.update('Secret', { ...stale, metadata: { ...stale.metadata, labels: { writer: 'second' } } }), 'SK_KUBE_CONFLICT');
        await expectCode(client.patch('Secret', { namespace: ns, name }, { metadata: { labels: { writer: 'third' } } }, { resourceVersion: stale.metadata.resourceVersion }), 'SK_KUBE_CONFLICT');
        expect((await client.get('Secret', { namespace: ns, name })).metadata.labels).toEqual({ writer: 'first' });
      });

      it('applies JSON merge patches: objects merge, null removes, arrays replace', async () => {
        const name = unique('svc');
        track('Service', { namespace: ns, name });
        await client.create('Service', {
          metadata: { namespace: ns, name, labels: { keep: 'yes', drop: 'yes' } },
          spec: { clusterIP: 'None', selector: { app: 'x' }, ports: [{ name: 'a', port: 1000 }, { name: 'b', port: 2000 }] },
        });
        const current = await client.get('Service', { namespace: ns, name });
        const patched = await client.patch('Service', { namespace: ns, name }, { metadata: { labels: { drop: null, added: 'yes' } }, spec: { ports: [{ name: 'c', port: 3000 }] } }, { resourceVersion: current.metadata.resourceVersion });
        expect(patched.metadata.labels).toEqual({ keep: 'yes', added: 'yes' });
        expect(patched.spec?.ports?.map((port) => port.name)).toEqual(['c']);
        expect(patched.spec?.selector).toEqual({ app: 'x' });
      });

      it('rejects an invalid object with SK_KUBE_INVALID naming the field', async () => {
        try {
          await client.create('Secret', { metadata: { namespace: ns, name: 'Not_A_Valid_Name' } });
          throw new Error('the invalid name was accepted');
        } catch (err) {
          expect(isStreamkeeperError(err, 'SK_KUBE_INVALID')).toBe(true);
          expect(isStreamkeeperError(err) && err.field).toBe('metadata.name');
          expect(isStreamkeeperError(err) && err.kind).toBe('invalid-spec');
        }
        await expectCode(client.create('Secret', { metadata: { namespace: ns, name: unique('secret'), labels: { ok: 'not a valid value' } } }), 'SK_KUBE_INVALID');
      });

      it('deletes with preconditions, refusing a different incarnation with SK_KUBE_CONFLICT', async () => {
        const name = unique('secret');
        track('Secret', { namespace: ns, name });
        const created = await client.create('Secret', { metadata: { namespace: ns, name } });
        await expectCode(client.delete('Secret', { namespace: ns, name }, { uid: '00000000-0000-0000-0000-000000000000' }), 'SK_KUBE_CONFLICT');
        await client.delete('Secret', { namespace: ns, name }, { uid: created.metadata.uid, resourceVersion: created.metadata.resourceVersion });
        await expectCode(client.get('Secret', { namespace: ns, name }), 'SK_KUBE_NOT_FOUND');
      });
    });

    describe('listing', () => {
      it('lists a namespace with label selectors, equality- and set-based', async () => {
        const group = unique('group');
        const names = [unique('secret'), unique('secret'), unique('secret')];
        const tiers = ['gold', 'silver', 'bronze'];
        for (const [i, name] of names.entries()) {
          track('Secret', { namespace: ns, name });
          await client.create('Secret', { metadata: { namespace: ns, name, labels: { group, tier: tiers[i] ?? '' } } });
        }
        const all = await client.list('Secret', { namespace: ns, labelSelector: `group=${group}` });
        expect(all.items.map((item) => item.metadata.name).sort()).toEqual([...names].sort());
        expect(all.items.every((item) => item.kind === 'Secret' && item.apiVersion === 'v1')).toBe(true);
        expect(all.resourceVersion).toMatch(/^\d+$/);
        const some = await client.list('Secret', { namespace: ns, labelSelector: `group=${group},tier in (gold,bronze)` });
        expect(some.items.map((item) => item.metadata.labels?.tier).sort()).toEqual(['bronze', 'gold']);
        const notGold = await client.list('Secret', { namespace: ns, labelSelector: `group=${group},tier!=gold` });
        expect(notGold.items).toHaveLength(2);
        const none = await client.list('Secret', { namespace: ns, labelSelector: `group=${group},!tier` });
        expect(none.items).toHaveLength(0);
      });

      it('lists across namespaces when no namespace is given', async () => {
        const group = unique('group');
        const name = unique('secret');
        track('Secret', { namespace: ns, name });
        await client.create('Secret', { metadata: { namespace: ns, name, labels: { group } } });
        const everywhere = await client.list('Secret', { labelSelector: `group=${group}` });
        expect(everywhere.items.map((item) => `${item.metadata.namespace ?? ''}/${item.metadata.name}`)).toEqual([`${ns}/${name}`]);
      });

      it('lists pods by node with a field selector', async () => {
        const node = unique('node');
        const bound = unique('pod');
        const unbound = unique('pod');
        track('Pod', { namespace: ns, name: bound });
        track('Pod', { namespace: ns, name: unbound });
        await client.create('Pod', { metadata: { namespace: ns, name: bound, labels: runLabel }, spec: podSpec({ nodeName: node }) });
        await client.create('Pod', { metadata: { namespace: ns, name: unbound, labels: runLabel }, spec: podSpec() });
        const onNode = await client.list('Pod', { namespace: ns, fieldSelector: `spec.nodeName=${node}` });
        expect(onNode.items.map((pod) => pod.metadata.name)).toEqual([bound]);
      });

      it('rejects a malformed selector with SK_KUBE_BAD_REQUEST', async () => {
        await expectCode(client.list('Secret', { namespace: ns, labelSelector: 'a in (b' }), 'SK_KUBE_BAD_REQUEST');
        await expectCode(client.list('Secret', { namespace: ns, fieldSelector: 'spec.nothing=1' }), 'SK_KUBE_BAD_REQUEST');
      });
    });

    describe('custom resources (StreamingJob) and the status subresource', () => {
      it('drops status on create and starts at generation 1', async () => {
        const name = unique('job');
        track('StreamingJob', { namespace: ns, name });
        const created = await client.create('StreamingJob', { ...job(name), status: { phase: 'Running' } });
        expect(created).toMatchObject({ apiVersion: 'streamkeeper.io/v1alpha1', kind: 'StreamingJob', metadata: { generation: 1 }, spec: { executors: { replicas: 1 } } });
        // The status sent is dropped; what remains is the CRD's default (observedGeneration 0,
        // which tells GitOps tools the operator has not seen the job yet), if the server applies it.
        expect(created.status ?? {}).not.toHaveProperty('phase');
      });

      it('counts spec changes in generation, not metadata or status changes', async () => {
        const name = unique('job');
        const ref = track('StreamingJob', { namespace: ns, name });
        const created = await client.create('StreamingJob', job(name));
        const relabelled = await client.patch('StreamingJob', ref, { metadata: { labels: { extra: 'label' } } });
        expect(relabelled.metadata.generation).toBe(1);
        const withStatus = await client.patchStatus('StreamingJob', ref, { status: { phase: 'Pending' } });
        expect(withStatus.metadata.generation).toBe(1);
        const rescaled = await client.update('StreamingJob', { ...withStatus, spec: jobSpec(3) });
        expect(rescaled.metadata.generation).toBe(2);
        expect(rescaled.metadata.uid).toBe(created.metadata.uid);
      });

      it('ignores status in a main-resource update and everything but status in a status update', async () => {
        const name = unique('job');
        const ref = track('StreamingJob', { namespace: ns, name });
        const created = await client.create('StreamingJob', job(name));
        const updated = await client.update('StreamingJob', { ...created, status: { phase: 'Running' } });
        expect(updated.status ?? {}).not.toHaveProperty('phase');
        // Spec and generation stay. (The real server may still write the object, and move its
        // resourceVersion, because the CRD defaults a status field on read; nothing else changes.)
        expect(updated.metadata.generation).toBe(created.metadata.generation);
        expect(updated.spec).toEqual(created.spec);
        const statusWritten = await client.updateStatus('StreamingJob', { ...updated, spec: jobSpec(9), status: { phase: 'Running', observedGeneration: 1 } });
        expect(statusWritten.status).toEqual({ phase: 'Running', observedGeneration: 1 });
        expect(statusWritten.spec).toEqual(updated.spec);
        expect((await client.get('StreamingJob', ref)).status).toEqual({ phase: 'Running', observedGeneration: 1 });
      });

      it('rejects a status write from a stale read with SK_KUBE_CONFLICT', async () => {
        const name = unique('job');
        const ref = track('StreamingJob', { namespace: ns, name });
        const created = await client.create('StreamingJob', job(name));
        await client.updateStatus('StreamingJob', { ...created, status: { phase: 'Pending' } });
        await expectCode(client.updateStatus('StreamingJob', { ...created, status: { phase: 'Running' } }), 'SK_KUBE_CONFLICT');
        await expectCode(client.patchStatus('StreamingJob', ref, { status: { phase: 'Failed' } }, { resourceVersion: created.metadata.resourceVersion }), 'SK_KUBE_CONFLICT');
      });

      it('requires a resourceVersion to replace a custom resource', async () => {
        const name = unique('job');
        track('StreamingJob', { namespace: ns, name });
        await client.create('StreamingJob', job(name));
        await expectCode(client.update('StreamingJob', job(name, jobSpec(2))), 'SK_KUBE_INVALID');
      });
    });

    describe('deletion', () => {
      it('keeps an object with finalizers until they are removed', async () => {
        const name = unique('job');
        const ref = track('StreamingJob', { namespace: ns, name });
        const created = await client.create('StreamingJob', { ...job(name), metadata: { namespace: ns, name, finalizers: ['streamkeeper.io/cleanup'] } });
        const watch = client.watch('StreamingJob', { namespace: ns, resourceVersion: created.metadata.resourceVersion });
        await client.delete('StreamingJob', ref);
        const terminating = await client.get('StreamingJob', ref);
        expect(terminating.metadata.deletionTimestamp).toBeDefined();
        expect(terminating.metadata.finalizers).toEqual(['streamkeeper.io/cleanup']);
        await expectCode(client.patch('StreamingJob', ref, { metadata: { finalizers: ['streamkeeper.io/cleanup', 'other.io/late'] } }), 'SK_KUBE_INVALID');
        await client.patch('StreamingJob', ref, { metadata: { finalizers: null } });
        await expectCode(client.get('StreamingJob', ref), 'SK_KUBE_NOT_FOUND');
        const events = await readWatch(watch, (seen) => named(seen, name).some((event) => event.type === 'DELETED'));
        const types = named(events, name).map((event) => event.type);
        expect(types[0]).toBe('MODIFIED');
        expect(types[types.length - 1]).toBe('DELETED');
      });

      it('removes an unscheduled pod at once', async () => {
        const name = unique('pod');
        const ref = track('Pod', { namespace: ns, name });
        await client.create('Pod', { metadata: { namespace: ns, name }, spec: podSpec() });
        await client.delete('Pod', ref);
        await expectCode(client.get('Pod', ref), 'SK_KUBE_NOT_FOUND');
      });

      it('leaves a pod bound to a node terminating until its grace period is cut to 0', async () => {
        const name = unique('pod');
        const ref = track('Pod', { namespace: ns, name });
        await client.create('Pod', { metadata: { namespace: ns, name }, spec: podSpec({ nodeName: unique('node'), terminationGracePeriodSeconds: 7 }) });
        await client.delete('Pod', ref);
        const terminating = await client.get('Pod', ref);
        expect(terminating.metadata.deletionTimestamp).toBeDefined();
        expect(terminating.metadata.deletionGracePeriodSeconds).toBe(7);
        await client.delete('Pod', ref, { gracePeriodSeconds: 0 });
        await expectCode(client.get('Pod', ref), 'SK_KUBE_NOT_FOUND');
      });
    });

    describe('pods, nodes, leases and events', () => {
      it('binds an unscheduled pod to a node once, as a scheduler does', async () => {
        const name = unique('pod');
        const ref = track('Pod', { namespace: ns, name });
        const created = await client.create('Pod', { metadata: { namespace: ns, name }, spec: podSpec() });
        const node = unique('node');
        await client.bindPod(ref, node, { uid: created.metadata.uid });
        const bound = await client.get('Pod', ref);
        expect(bound.spec?.nodeName).toBe(node);
        expect(bound.status?.conditions?.find((c) => c.type === 'PodScheduled')?.status).toBe('True');
        expect(BigInt(bound.metadata.resourceVersion)).toBeGreaterThan(BigInt(created.metadata.resourceVersion));
        await expectCode(client.bindPod(ref, unique('node')), 'SK_KUBE_CONFLICT');
      });

      it('refuses to bind another incarnation of the pod, or a missing one', async () => {
        const name = unique('pod');
        const ref = track('Pod', { namespace: ns, name });
        await client.create('Pod', { metadata: { namespace: ns, name }, spec: podSpec() });
        await expectCode(client.bindPod(ref, unique('node'), { uid: '00000000-0000-0000-0000-000000000000' }), 'SK_KUBE_CONFLICT');
        expect((await client.get('Pod', ref)).spec?.nodeName).toBeUndefined();
        await expectCode(client.bindPod({ namespace: ns, name: unique('missing') }, unique('node')), 'SK_KUBE_NOT_FOUND');
      });

      it('stores ConfigMaps', async () => {
        const name = unique('config');
        const ref = track('ConfigMap', { namespace: ns, name });
        const created = await client.create('ConfigMap', { metadata: { namespace: ns, name }, data: { 'app.properties': 'a=1' } });
        expect(created).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap', data: { 'app.properties': 'a=1' } });
        expect((await client.get('ConfigMap', ref)).data).toEqual({ 'app.properties': 'a=1' });
      });

      it('starts a pod Pending and lets the status subresource move it', async () => {
        const name = unique('pod');
        const ref = track('Pod', { namespace: ns, name });
        const created = await client.create('Pod', { metadata: { namespace: ns, name }, spec: podSpec({ nodeName: unique('node') }), status: { phase: 'Running' } });
        expect(created.status?.phase).toBe('Pending');
        const running = await client.patchStatus('Pod', ref, { status: { phase: 'Running', podIP: '127.0.0.1' } }, { resourceVersion: created.metadata.resourceVersion });
        expect(running.status?.phase).toBe('Running');
        const relabelled = await client.update('Pod', { ...running, metadata: { ...running.metadata, labels: { ready: 'yes' } }, status: { phase: 'Failed' } });
        expect(relabelled.status?.phase).toBe('Running');
        expect(relabelled.metadata.labels).toEqual({ ready: 'yes' });
        const succeeded = await client.updateStatus('Pod', { ...relabelled, status: { ...relabelled.status, phase: 'Succeeded' } });
        expect(succeeded.status?.phase).toBe('Succeeded');
      });

      it('rejects changing an immutable pod field', async () => {
        const name = unique('pod');
        track('Pod', { namespace: ns, name });
        const created = await client.create('Pod', { metadata: { namespace: ns, name }, spec: podSpec() });
        const spec = created.spec ?? podSpec();
        await expectCode(client.update('Pod', { ...created, spec: { ...spec, containers: spec.containers.map((container) => ({ ...container, command: ['changed'] })) } }), 'SK_KUBE_INVALID');
        const reimaged = await client.update('Pod', { ...created, spec: { ...spec, containers: spec.containers.map((container) => ({ ...container, image: 'streamkeeper:v2' })) } });
        expect(reimaged.spec?.containers[0]?.image).toBe('streamkeeper:v2');
      });

      it('registers a cluster-scoped node and updates its status', async () => {
        const name = unique('node');
        const ref = track('Node', { name });
        const created = await client.create('Node', { metadata: { name, labels: runLabel } });
        expect(created.metadata.namespace).toBeUndefined();
        const ready = await client.patchStatus('Node', ref, { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'NodeAgentReady', message: 'ready', lastHeartbeatTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'), lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') }] } });
        expect(ready.status?.conditions?.[0]?.type).toBe('Ready');
        const listed = await client.list('Node', { labelSelector: `contract.streamkeeper.io/run=${run}` });
        expect(listed.items.map((node) => node.metadata.name)).toContain(name);
        await client.delete('Node', ref);
        await expectCode(client.get('Node', ref), 'SK_KUBE_NOT_FOUND');
      });

      it('takes a lease with a conditional update, and refuses a second taker', async () => {
        const name = unique('lease');
        const ref = track('Lease', { namespace: ns, name });
        const now = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
        const lease = await client.create('Lease', { metadata: { namespace: ns, name }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15, renewTime: now, acquireTime: now, leaseTransitions: 0 } });
        expect(lease.spec?.renewTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
        await client.update('Lease', { ...lease, spec: { ...lease.spec, holderIdentity: 'b', leaseTransitions: 1 } });
        await expectCode(client.update('Lease', { ...lease, spec: { ...lease.spec, holderIdentity: 'c', leaseTransitions: 1 } }), 'SK_KUBE_CONFLICT');
        expect((await client.get('Lease', ref)).spec?.holderIdentity).toBe('b');
      });

      it('records events.k8s.io/v1 Events and validates their required fields', async () => {
        const name = unique('event');
        track('Event', { namespace: ns, name });
        const eventTime = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
        const event = {
          metadata: { namespace: ns, name },
          eventTime,
          type: 'Normal',
          reason: 'ContractCheck',
          action: 'Checking',
          note: 'the contract suite records an event',
          reportingController: 'streamkeeper.io/operator',
          reportingInstance: 'contract',
          regarding: { apiVersion: 'streamkeeper.io/v1alpha1', kind: 'StreamingJob', namespace: ns, name: 'some-job' },
        };
        const created = await client.create('Event', event);
        expect(created).toMatchObject({ apiVersion: 'events.k8s.io/v1', kind: 'Event', reason: 'ContractCheck', type: 'Normal' });
        const listed = await client.list('Event', { namespace: ns });
        expect(listed.items.map((item) => item.metadata.name)).toContain(name);
        const { reportingController: _dropped, ...incomplete } = event;
        await expectCode(client.create('Event', { ...incomplete, metadata: { namespace: ns, name: unique('event') } }), 'SK_KUBE_INVALID');
      });
    });

    describe('watching', () => {
      it('delivers every change after a resourceVersion, in order', async () => {
        const name = unique('secret');
        const ref = track('Secret', { namespace: ns, name });
        const before = await client.list('Secret', { namespace: ns });
        const created = await client.create('Secret', { metadata: { namespace: ns, name } });
        const updated = await client.patch('Secret', ref, { metadata: { labels: { changed: 'yes' } } });
        await client.delete('Secret', ref);
        const events = await readWatch(client.watch('Secret', { namespace: ns, resourceVersion: before.resourceVersion }), (seen) => named(seen, name).length >= 3);
        const mine = named(events, name);
        expect(mine.map((event) => event.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
        expect(mine[0]?.rv).toBe(created.metadata.resourceVersion);
        expect(mine[1]?.rv).toBe(updated.metadata.resourceVersion);
        const deleted = events.find((event) => event.type === 'DELETED' && event.object.metadata.name === name);
        expect(deleted?.type === 'DELETED' && deleted.object.metadata.labels).toEqual({ changed: 'yes' });
        expect(deleted?.type === 'DELETED' && deleted.object.kind).toBe('Secret');
      });

      it('shows objects entering and leaving a label selector as ADDED and DELETED', async () => {
        const name = unique('secret');
        const ref = track('Secret', { namespace: ns, name });
        const selector = `watched=${run}`;
        const start = await client.list('Secret', { namespace: ns, labelSelector: selector });
        const watch = client.watch('Secret', { namespace: ns, resourceVersion: start.resourceVersion, labelSelector: selector });
        await client.create('Secret', { metadata: { namespace: ns, name, labels: { watched: run } } });
        await client.patch('Secret', ref, { metadata: { labels: { watched: 'elsewhere' } } });
        await client.patch('Secret', ref, { metadata: { labels: { watched: 'still-elsewhere' } } });
        await client.patch('Secret', ref, { metadata: { labels: { watched: run } } });
        const events = await readWatch(watch, (seen) => named(seen, name).length >= 3);
        expect(named(events, name).map((event) => event.type)).toEqual(['ADDED', 'DELETED', 'ADDED']);
      });

      it('watches all namespaces when no namespace is given', async () => {
        const name = unique('secret');
        track('Secret', { namespace: ns, name });
        const selector = `everywhere=${run}`;
        const start = await client.list('Secret', { labelSelector: selector });
        const watch = client.watch('Secret', { resourceVersion: start.resourceVersion, labelSelector: selector });
        await client.create('Secret', { metadata: { namespace: ns, name, labels: { everywhere: run } } });
        const events = await readWatch(watch, (seen) => named(seen, name).length >= 1);
        expect(events[0]?.type === 'ADDED' && events[0].object.metadata.namespace).toBe(ns);
      });

      it('ends a watch from an expired resourceVersion with SK_KUBE_GONE', async () => {
        await target.expireHistory();
        const watch = client.watch('Secret', { namespace: ns, resourceVersion: '1' });
        await expect(readWatch(watch, () => false)).rejects.toMatchObject({ code: 'SK_KUBE_GONE' });
      });

      it('stops when the consumer breaks out or the signal aborts', async () => {
        const start = await client.list('Secret', { namespace: ns });
        const name = unique('secret');
        track('Secret', { namespace: ns, name });
        await client.create('Secret', { metadata: { namespace: ns, name } });
        for await (const event of client.watch('Secret', { namespace: ns, resourceVersion: start.resourceVersion })) {
          expect(event.type).not.toBe('DELETED');
          break;
        }
        const abort = new AbortController();
        const seen: string[] = [];
        const consumed = (async () => {
          for await (const event of client.watch('Secret', { namespace: ns, resourceVersion: start.resourceVersion, signal: abort.signal })) {
            seen.push(event.type);
            abort.abort();
          }
        })();
        await expect(consumed).resolves.toBeUndefined();
        expect(seen.length).toBeGreaterThanOrEqual(1);
      });
    });
  });
}
