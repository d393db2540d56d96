import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { isStreamkeeperError, type ErrorCode } from '../../../src/errors/index.js';
import type { KubeClient } from '../../../src/kube/client.js';
import type { KubeRest } from '../../../src/local/kube-rest.js';
import { adminKubeClient, createNamespace, deleteNamespace, operatorKubeClient, operatorRest, uniqueSuffix } from '../../harness/kube.js';
import { adminKubeconfig, kubectl, operatorKubeconfig } from '../../harness/servers.js';

const operatorNamespace = 'streamkeeper-system';
const operatorUser = `system:serviceaccount:${operatorNamespace}:streamkeeper`;

async function expectCode(call: Promise<unknown>, code: ErrorCode): Promise<void> {
  try {
    await call;
  } catch (err) {
    if (isStreamkeeperError(err, code)) return;
    throw new Error(`expected ${code}, got ${String(err)}`);
  }
  throw new Error(`expected ${code}, but the call succeeded`);
}

function jobSpec(): Record<string, unknown> {
  return {
    image: 'streamkeeper/streamkeeper:0.1.0',
    source: { kafka: { bootstrapServers: ['kafka.example:9092'], topics: ['in'] } },
    sink: { kafka: { topic: 'out' } },
    processor: { builtin: 'passthrough' },
  };
}

describe('the control plane the harness provides', () => {
  let admin: KubeClient;
  let namespace: string;

  beforeAll(async () => {
    admin = adminKubeClient();
    namespace = await createNamespace('control-plane');
  });

  afterAll(async () => {
    await deleteNamespace(namespace);
  });

  it('answers kubectl with the admin kubeconfig', () => {
    const result = spawnSync(kubectl(), ['--kubeconfig', adminKubeconfig(), 'get', 'namespaces', '-o', 'name'], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`namespace/${namespace}`);
    expect(result.stdout).toContain(`namespace/${operatorNamespace}`);
  });

  it('serves the StreamingJob API, with the CRD defaults applied', async () => {
    const created = await admin.create('StreamingJob', { metadata: { namespace, name: 'defaults' }, spec: jobSpec() });
    expect(created.spec?.batchInterval).toBe('5s');
    expect(typeof (created.spec?.executors as { replicas?: unknown } | undefined)?.replicas).toBe('number');
  });

  it('collects what a StreamingJob owns once the job is deleted (garbage collector)', async () => {
    const job = await admin.create('StreamingJob', { metadata: { namespace, name: 'owner' }, spec: jobSpec() });
    const ownerReferences = [{ apiVersion: 'streamkeeper.io/v1alpha1', kind: 'StreamingJob', name: 'owner', uid: job.metadata.uid, controller: true, blockOwnerDeletion: true }];
    await admin.create('ConfigMap', { metadata: { namespace, name: 'owned', ownerReferences }, data: { a: 'b' } });
    await admin.delete('StreamingJob', { namespace, name: 'owner' });
    const deadline = Date.now() + 60_000;
    for (;;) {
      const owned = await admin.get('ConfigMap', { namespace, name: 'owned' }).catch((err: unknown) => err);
      if (isStreamkeeperError(owned, 'SK_KUBE_NOT_FOUND')) break;
      if (Date.now() > deadline) throw new Error('the garbage collector did not delete the owned ConfigMap within 60 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
});

describe("the operator's access: exactly the RBAC of manifests/install.yaml", () => {
  let operator: KubeClient;
  let rest: KubeRest;
  let admin: KubeClient;
  let namespace: string;

  beforeAll(async () => {
    operator = operatorKubeClient();
    rest = operatorRest();
    admin = adminKubeClient();
    namespace = await createNamespace('rbac');
  });

  afterAll(async () => {
    await deleteNamespace(namespace);
  });

  it("authenticates as the operator's ServiceAccount", async () => {
    const review = (await rest.call('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } })) as { status?: { userInfo?: { username?: string; groups?: string[] } } };
    expect(review.status?.userInfo?.username).toBe(operatorUser);
    expect(review.status?.userInfo?.groups).not.toContain('system:masters');
    const whoami = spawnSync(kubectl(), ['--kubeconfig', operatorKubeconfig(), 'auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], { encoding: 'utf8' });
    expect(whoami.stdout).toBe(operatorUser);
  });

  it('creates, lists and deletes pods in a job namespace', async () => {
    const name = `executor-${uniqueSuffix()}`;
    await operator.create('Pod', { metadata: { namespace, name }, spec: { containers: [{ name: 'main', image: 'streamkeeper/streamkeeper:0.1.0' }] } });
    expect((await operator.list('Pod', { namespace })).items.map((pod) => pod.metadata.name)).toContain(name);
    await operator.delete('Pod', { namespace, name }, { gracePeriodSeconds: 0 });
  });

  it('lists, patches and writes the status of StreamingJobs, but does not create or delete them', async () => {
    await admin.create('StreamingJob', { metadata: { namespace, name: 'managed' }, spec: jobSpec() });
    expect((await operator.list('StreamingJob', { namespace })).items.map((job) => job.metadata.name)).toEqual(['managed']);
    await operator.patch('StreamingJob', { namespace, name: 'managed' }, { metadata: { finalizers: ['streamkeeper.io/cleanup'] } });
    await operator.patchStatus('StreamingJob', { namespace, name: 'managed' }, { status: { phase: 'Pending' } });
    await operator.patch('StreamingJob', { namespace, name: 'managed' }, { metadata: { finalizers: null } });
    await expectCode(operator.create('StreamingJob', { metadata: { namespace, name: 'by-operator' }, spec: jobSpec() }), 'SK_KUBE_FORBIDDEN');
    await expectCode(operator.delete('StreamingJob', { namespace, name: 'managed' }), 'SK_KUBE_FORBIDDEN');
  });

  it('creates Secrets but can never read them back', async () => {
    const name = `job-credentials-${uniqueSuffix()}`;
    await operator.create('Secret', { metadata: { namespace, name }, stringData: { credentials: 'job:password' } });
    await expectCode(operator.get('Secret', { namespace, name }), 'SK_KUBE_FORBIDDEN');
    await expectCode(operator.list('Secret', { namespace }), 'SK_KUBE_FORBIDDEN');
    await expectCode(operator.list('Secret', {}), 'SK_KUBE_FORBIDDEN');
    await operator.delete('Secret', { namespace, name });
  });

  it('takes its leader-election Lease only in its own namespace', async () => {
    const lease = await operator.create('Lease', { metadata: { namespace: operatorNamespace, name: `election-${uniqueSuffix()}` }, spec: { holderIdentity: 'test', leaseDurationSeconds: 15 } });
    await operator.update('Lease', { ...lease, spec: { ...lease.spec, holderIdentity: 'test-2' } });
    await expectCode(operator.create('Lease', { metadata: { namespace, name: 'elsewhere' }, spec: { holderIdentity: 'test' } }), 'SK_KUBE_FORBIDDEN');
    await expectCode(operator.delete('Lease', { namespace, name: 'elsewhere' }), 'SK_KUBE_FORBIDDEN');
    // An uninstalled operator deletes its own Lease on the way out, so delete is granted there.
    await operator.delete('Lease', { namespace: operatorNamespace, name: lease.metadata.name });
  });

  interface Access {
    readonly allowed: boolean;
    readonly verb: string;
    readonly resource: string;
    readonly group?: string;
    readonly subresource?: string;
  }
  const access: readonly Access[] = [
    { allowed: true, verb: 'watch', resource: 'pods' },
    { allowed: true, verb: 'delete', resource: 'pods' },
    { allowed: true, verb: 'create', resource: 'services' },
    { allowed: true, verb: 'watch', resource: 'streamingjobs', group: 'streamkeeper.io' },
    { allowed: true, verb: 'update', resource: 'streamingjobs', group: 'streamkeeper.io', subresource: 'finalizers' },
    { allowed: true, verb: 'create', resource: 'events', group: 'events.k8s.io' },
    { allowed: false, verb: 'update', resource: 'pods' },
    { allowed: false, verb: 'create', resource: 'pods', subresource: 'exec' },
    { allowed: false, verb: 'get', resource: 'pods', subresource: 'log' },
    { allowed: false, verb: 'watch', resource: 'secrets' },
    { allowed: false, verb: 'update', resource: 'secrets' },
    { allowed: false, verb: 'get', resource: 'configmaps' },
    { allowed: false, verb: 'create', resource: 'configmaps' },
    { allowed: false, verb: 'create', resource: 'namespaces' },
    { allowed: false, verb: 'list', resource: 'nodes' },
    { allowed: false, verb: 'create', resource: 'serviceaccounts', subresource: 'token' },
    { allowed: false, verb: 'create', resource: 'deployments', group: 'apps' },
    { allowed: false, verb: 'escalate', resource: 'roles', group: 'rbac.authorization.k8s.io' },
    { allowed: false, verb: 'bind', resource: 'clusterroles', group: 'rbac.authorization.k8s.io' },
    { allowed: false, verb: 'create', resource: 'rolebindings', group: 'rbac.authorization.k8s.io' },
    { allowed: false, verb: 'update', resource: 'customresourcedefinitions', group: 'apiextensions.k8s.io' },
    { allowed: false, verb: 'impersonate', resource: 'users' },
  ];

  it.each(access.map((row) => [`${row.allowed ? 'may' : 'may not'} ${row.verb} ${row.resource}${row.subresource === undefined ? '' : `/${row.subresource}`}${row.group === undefined ? '' : `.${row.group}`} in a job namespace`, row] as const))('%s', async (_title, row) => {
    expect(await rest.canI({ verb: row.verb, resource: row.resource, namespace, ...(row.group === undefined ? {} : { group: row.group }), ...(row.subresource === undefined ? {} : { subresource: row.subresource }) })).toBe(row.allowed);
  });

  it('has no rights on Leases outside its own namespace and none cluster-wide beyond its ClusterRole', async () => {
    expect(await rest.canI({ verb: 'get', resource: 'leases', group: 'coordination.k8s.io', namespace: operatorNamespace })).toBe(true);
    expect(await rest.canI({ verb: 'get', resource: 'leases', group: 'coordination.k8s.io', namespace })).toBe(false);
    expect(await rest.canI({ verb: 'get', resource: 'leases', group: 'coordination.k8s.io', namespace: 'kube-system' })).toBe(false);
    expect(await rest.canI({ verb: '*', resource: '*', group: '*' })).toBe(false);
  });
});
