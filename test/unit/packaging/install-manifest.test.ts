import { parseArgs } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { operatorOptionSpec, parseOperatorOptions } from '../../../src/operator/options.js';
import type { KubeObject } from '../../support/packaging/manifests.js';
import {
  containerOf,
  findObject,
  findWorkload,
  grants,
  hardeningViolations,
  leaderElectionRules,
  objectsOfKind,
  operatorFlags,
  operatorRules,
  parseManifests,
  plainSecretEnv,
  readRepoFile,
  rulesOf,
  wildcards,
} from '../../support/packaging/manifests.js';

// manifests/install.yaml is the chart rendered with its defaults (a test in
// test/integration/packaging checks it is not stale), so this is also the chart's default install.
const ns = 'streamkeeper-system';
const objects = parseManifests(readRepoFile('manifests/install.yaml'));
const version = (JSON.parse(readRepoFile('package.json')) as { version: string }).version;
const deployment = findWorkload(objects, 'Deployment', 'streamkeeper-operator', ns);
const operatorPod = deployment.spec.template.spec;
const operator = containerOf(deployment, 'operator');
const zookeeper = findWorkload(objects, 'StatefulSet', 'streamkeeper-zookeeper', ns);

describe('manifests/install.yaml', () => {
  it('creates its namespace first, enforcing the restricted Pod Security Standard', () => {
    expect(objects[0]).toMatchObject({ kind: 'Namespace', metadata: { name: ns, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } });
  });

  it('installs the StreamingJob CRD exactly as crds/ holds it', () => {
    const crd = findObject(objects, 'CustomResourceDefinition', 'streamingjobs.streamkeeper.io');
    expect(crd).toEqual(parse(readRepoFile('crds/streamkeeper.io_streamingjobs.yaml')));
  });

  it('puts every namespaced object in the install namespace', () => {
    const namespaced = objects.filter((o) => !['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind));
    expect(namespaced.filter((o) => o.metadata.namespace !== ns).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
  });

  it('labels every object it owns with the recommended labels', () => {
    const owned = objects.filter((o) => o.kind !== 'Namespace' && o.kind !== 'CustomResourceDefinition');
    for (const object of owned) {
      expect({ object: `${object.kind}/${object.metadata.name}`, labels: object.metadata.labels }).toMatchObject({
        labels: { 'app.kubernetes.io/name': 'streamkeeper', 'app.kubernetes.io/instance': 'streamkeeper', 'app.kubernetes.io/part-of': 'streamkeeper', 'app.kubernetes.io/version': version },
      });
    }
  });

  describe('the operator Deployment', () => {
    it('runs the package version of the streamkeeper image', () => {
      expect(operator.image).toBe(`streamkeeper/streamkeeper:${version}`);
    });

    it('runs two replicas with leader election, spread over nodes and zones', () => {
      expect(deployment.spec.replicas).toBe(2);
      expect(operatorFlags(operator).get('leader-elect')).toBe('true');
      expect(JSON.stringify(operatorPod.affinity)).toContain('kubernetes.io/hostname');
      expect(JSON.stringify(operatorPod.topologySpreadConstraints)).toContain('topology.kubernetes.io/zone');
    });

    it('probes /healthz for liveness and /readyz for readiness', () => {
      expect(operator.livenessProbe?.httpGet?.path).toBe('/healthz');
      expect(operator.readinessProbe?.httpGet?.path).toBe('/readyz');
    });

    it('runs as user 65532 with a read-only root, no privilege escalation, no capabilities and the runtime seccomp profile', () => {
      expect(hardeningViolations(operatorPod, operator)).toEqual([]);
      expect(operatorPod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } });
      expect(operator.securityContext).toMatchObject({
        runAsUser: 65532,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
    });

    it('passes flags the operator command accepts, with the Lease in its own namespace', () => {
      const parsed = parseArgs({
        args: operator.args?.slice(1) ?? [],
        options: { ...operatorOptionSpec, 'log-level': { type: 'string' }, 'log-format': { type: 'string' } },
        strict: true,
      });
      expect(operator.args?.[0]).toBe('operator');
      const options = parseOperatorOptions(parsed.values, { POD_NAME: 'streamkeeper-operator-abc', POD_NAMESPACE: ns });
      expect(options).toMatchObject({
        namespaces: [],
        metricsPort: 8080,
        zkRoot: '/streamkeeper',
        zkCredentialsFile: '/etc/streamkeeper/zookeeper/credentials',
        insecureZkOpenAcl: false,
        leaderElect: true,
        leaderElectionNamespace: ns,
        identity: 'streamkeeper-operator-abc',
      });
      expect(operator.env?.map((e) => [e.name, e.valueFrom])).toEqual([
        ['POD_NAME', { fieldRef: { fieldPath: 'metadata.name' } }],
        ['POD_NAMESPACE', { fieldRef: { fieldPath: 'metadata.namespace' } }],
        ['NODE_OPTIONS', undefined],
      ]);
      // Heap limits and no JIT: under 150 MB at 1,000 jobs (bench/operator-scale.ts).
      expect(operator.env?.find((e) => e.name === 'NODE_OPTIONS')?.value).toBe('--max-semi-space-size=1 --max-old-space-size=80 --jitless');
    });

    it('connects to every server of the bundled ZooKeeper ensemble', () => {
      const servers = [0, 1, 2].map((i) => `streamkeeper-zookeeper-${i}.streamkeeper-zookeeper-headless.${ns}.svc:2181`);
      expect(operatorFlags(operator).get('zk-connect')).toBe(servers.join(','));
    });

    it('reads its ZooKeeper credential from a mounted Secret, never from the environment', () => {
      expect(operatorPod.volumes?.find((v) => v.secret !== undefined)?.secret?.secretName).toBe('streamkeeper-zk-credentials');
      expect(operator.volumeMounts?.map((m) => m.mountPath)).toContain('/etc/streamkeeper/zookeeper');
      expect(plainSecretEnv(objects)).toEqual([]);
    });
  });

  it('commits no Secret: the ZooKeeper credential is created at install time', () => {
    expect(objectsOfKind(objects, 'Secret')).toEqual([]);
  });

  describe('RBAC', () => {
    it('grants the operator exactly its rights across namespaces through one ClusterRole', () => {
      expect(objectsOfKind(objects, 'ClusterRole').map((r) => r.metadata.name)).toEqual(['streamkeeper-operator']);
      expect(grants(rulesOf(findObject(objects, 'ClusterRole', 'streamkeeper-operator')))).toEqual(grants(operatorRules));
      expect(findObject(objects, 'ClusterRoleBinding', 'streamkeeper-operator')).toMatchObject({
        roleRef: { kind: 'ClusterRole', name: 'streamkeeper-operator' },
        subjects: [{ kind: 'ServiceAccount', name: operatorPod.serviceAccountName, namespace: ns }],
      });
    });

    it('lets it read no Secret: create and delete only', () => {
      expect(grants(rulesOf(findObject(objects, 'ClusterRole', 'streamkeeper-operator'))).filter((g) => g.startsWith('/secrets:'))).toEqual([
        '/secrets:create',
        '/secrets:delete',
      ]);
    });

    it('grants leases only in its own namespace, for leader election', () => {
      expect(objectsOfKind(objects, 'Role').map((r) => `${r.metadata.namespace ?? ''}/${r.metadata.name}`)).toEqual([`${ns}/streamkeeper-leader-election`]);
      expect(grants(rulesOf(findObject(objects, 'Role', 'streamkeeper-leader-election', ns)))).toEqual(grants(leaderElectionRules));
    });

    it('has no wildcard in any rule', () => {
      expect(wildcards(objects)).toEqual([]);
    });

    it('gives job pods a ServiceAccount without a token or any binding', () => {
      const jobAccount = findObject(objects, 'ServiceAccount', 'streamkeeper-job', ns);
      expect(jobAccount.automountServiceAccountToken).toBe(false);
      const bindings = objects.filter((o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding');
      expect(bindings.filter((b) => JSON.stringify(b.subjects).includes('"streamkeeper-job"'))).toEqual([]);
    });
  });

  describe('the ZooKeeper ensemble', () => {
    const pod = zookeeper.spec.template.spec;
    const server = containerOf(zookeeper, 'zookeeper');

    it('runs three servers of the official image with persistent volumes', () => {
      expect(zookeeper.spec.replicas).toBe(3);
      expect(server.image).toMatch(/^zookeeper:\d+\.\d+\.\d+$/);
      expect(zookeeper.spec.volumeClaimTemplates).toHaveLength(1);
    });

    it('runs non-root and hardened, without an API token', () => {
      expect(hardeningViolations(pod, server)).toEqual([]);
      expect(pod.automountServiceAccountToken).toBe(false);
    });

    it('keeps servers apart and a quorum through voluntary disruptions', () => {
      expect(JSON.stringify(pod.affinity)).toContain('podAntiAffinity');
      expect(findObject(objects, 'PodDisruptionBudget', 'streamkeeper-zookeeper', ns)).toMatchObject({
        spec: { maxUnavailable: 1, selector: { matchLabels: zookeeper.spec.selector.matchLabels } },
      });
    });

    it('lists each server in zoo.cfg under the name the operator connects to', () => {
      const config = findObject(objects, 'ConfigMap', 'streamkeeper-zookeeper', ns) as KubeObject & { data: Record<string, string> };
      for (const i of [0, 1, 2]) {
        expect(config.data['zoo.cfg']).toContain(`server.${i + 1}=streamkeeper-zookeeper-${i}.streamkeeper-zookeeper-headless.${ns}.svc:2888:3888;2181`);
      }
    });
  });

  it('selects no pod of a StreamingJob with any of its selectors', () => {
    // Job pods carry name=streamkeeper, instance=<job>, component=driver|executor.
    const selectors = [
      ...[deployment, zookeeper].map((w) => w.spec.selector.matchLabels),
      ...objectsOfKind(objects, 'Service').map((s) => (s.spec as { selector: Record<string, string> }).selector),
    ];
    for (const selector of selectors) expect(['operator', 'zookeeper']).toContain(selector['app.kubernetes.io/component']);
  });
});
