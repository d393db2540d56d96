import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { operatorOptionSpec, parseOperatorOptions } from '../../../src/operator/options.js';
import type { Container, KubeObject, Workload } from '../../support/packaging/manifests.js';
import {
  containerOf,
  findObject,
  findWorkload,
  grants,
  hardeningViolations,
  leaderElectionRules,
  objectsOfKind,
  operatorRules,
  plainSecretEnv,
  readRepoFile,
  repoRoot,
  rulesOf,
  wildcards,
  workloads,
} from '../../support/packaging/manifests.js';
import { chartDir, helm, releaseNamespace as ns, runHelm, setArgs, template } from './helm.js';

/** The values combinations docs/install.md documents. */
const combinations: Record<string, string[]> = {
  'default values': [],
  'namespaced mode': ['rbac.namespaced=true', 'watchNamespaces={team-a,team-b}'],
  'an external ZooKeeper': ['zookeeper.external.connect=zk-0.zk.data:2181\\,zk-1.zk.data:2181\\,zk-2.zk.data:2181/apps'],
  'ServiceMonitor and PodDisruptionBudget on': [
    'metrics.serviceMonitor.enabled=true',
    'metrics.serviceMonitor.labels.release=kube-prometheus-stack',
    'operator.podDisruptionBudget.enabled=true',
  ],
  'a custom image': ['image.repository=registry.example.com/platform/streamkeeper', 'image.tag=0.1.0-patched', 'imagePullSecrets[0].name=registry-credentials'],
};

function operatorOf(objects: readonly KubeObject[]): { deployment: Workload; container: Container } {
  const deployment = findWorkload(objects, 'Deployment', 'streamkeeper-operator', ns);
  return { deployment, container: containerOf(deployment, 'operator') };
}

function parsedOptions(container: Container): ReturnType<typeof parseOperatorOptions> {
  const parsed = parseArgs({
    args: container.args?.slice(1) ?? [],
    options: { ...operatorOptionSpec, 'log-level': { type: 'string' }, 'log-format': { type: 'string' } },
    strict: true,
  });
  return parseOperatorOptions(parsed.values, { POD_NAME: 'operator-0', POD_NAMESPACE: ns });
}

beforeAll(() => {
  helm(); // installs helm on first use; later runs hit the cache
});

describe.each(Object.entries(combinations))('the chart with %s', (_name, values) => {
  let objects: KubeObject[] = [];
  beforeAll(() => {
    objects = template(values);
  });

  it('passes helm lint --strict', () => {
    const result = runHelm(['lint', '--strict', chartDir, '--namespace', ns, ...setArgs(values)]);
    expect({ status: result.status, output: result.stdout + result.stderr }).toMatchObject({ status: 0 });
  });

  it('labels every object with the recommended labels', () => {
    for (const object of objects) {
      expect({ object: `${object.kind}/${object.metadata.name}`, labels: object.metadata.labels }).toMatchObject({
        labels: { 'app.kubernetes.io/name': 'streamkeeper', 'app.kubernetes.io/instance': 'streamkeeper', 'app.kubernetes.io/managed-by': 'Helm' },
      });
    }
  });

  it('runs every container non-root and hardened', () => {
    for (const workload of workloads(objects)) {
      const pod = workload.spec.template.spec;
      for (const container of pod.containers) expect({ container: `${workload.metadata.name}/${container.name}`, problems: hardeningViolations(pod, container) }).toEqual({ container: `${workload.metadata.name}/${container.name}`, problems: [] });
    }
  });

  it('passes the operator flags it accepts', () => {
    expect(() => parsedOptions(operatorOf(objects).container)).not.toThrow();
  });

  it('has no wildcard in any RBAC rule and no secret in a plain environment variable', () => {
    expect(wildcards(objects)).toEqual([]);
    expect(plainSecretEnv(objects)).toEqual([]);
  });

  it('grants the operator exactly its rights, and leases only in its own namespace', () => {
    for (const role of [...objectsOfKind(objects, 'ClusterRole'), ...objectsOfKind(objects, 'Role')]) {
      const expected = role.metadata.name.endsWith('-leader-election') ? leaderElectionRules : operatorRules;
      expect({ role: `${role.kind}/${role.metadata.namespace ?? ''}/${role.metadata.name}`, grants: grants(rulesOf(role)) }).toEqual({
        role: `${role.kind}/${role.metadata.namespace ?? ''}/${role.metadata.name}`,
        grants: grants(expected),
      });
    }
    expect(findObject(objects, 'Role', 'streamkeeper-leader-election', ns)).toBeDefined();
  });
});

describe('the chart', () => {
  it('generates the operator\'s ZooKeeper credential once, kept on uninstall and never copied elsewhere', () => {
    const objects = template([]);
    const secret = findObject(objects, 'Secret', 'streamkeeper-zk-credentials', ns) as KubeObject & { data: { credentials: string } };
    expect(secret.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
    const credential = Buffer.from(secret.data.credentials, 'base64').toString('utf8');
    expect(credential).toMatch(/^streamkeeper-operator:[A-Za-z0-9]{40}$/);
    const password = credential.split(':')[1] ?? '';
    const elsewhere = objects.filter((o) => o !== secret && JSON.stringify(o).includes(password));
    expect(elsewhere).toEqual([]);
  });

  it('confines the operator to the watched namespaces in namespaced mode', () => {
    const objects = template(combinations['namespaced mode'] ?? []);
    expect(objectsOfKind(objects, 'ClusterRole')).toEqual([]);
    expect(objectsOfKind(objects, 'ClusterRoleBinding')).toEqual([]);
    const roles = objectsOfKind(objects, 'Role').map((r) => `${r.metadata.namespace ?? ''}/${r.metadata.name}`).sort();
    expect(roles).toEqual([`${ns}/streamkeeper-leader-election`, 'team-a/streamkeeper-operator', 'team-b/streamkeeper-operator']);
    for (const namespace of ['team-a', 'team-b']) {
      expect(findObject(objects, 'RoleBinding', 'streamkeeper-operator', namespace)).toMatchObject({
        roleRef: { kind: 'Role', name: 'streamkeeper-operator' },
        subjects: [{ kind: 'ServiceAccount', name: 'streamkeeper', namespace: ns }],
      });
      expect(findObject(objects, 'ServiceAccount', 'streamkeeper-job', namespace).automountServiceAccountToken).toBe(false);
    }
    expect(parsedOptions(operatorOf(objects).container).namespaces).toEqual(['team-a', 'team-b']);
  });

  it('deploys no ensemble and connects to the external one when zookeeper.external.connect is set', () => {
    const objects = template(combinations['an external ZooKeeper'] ?? []);
    expect(objectsOfKind(objects, 'StatefulSet')).toEqual([]);
    expect(objects.filter((o) => o.metadata.labels?.['app.kubernetes.io/component'] === 'zookeeper')).toEqual([]);
    expect(parsedOptions(operatorOf(objects).container).zkConnect).toBe('zk-0.zk.data:2181,zk-1.zk.data:2181,zk-2.zk.data:2181/apps');
    expect(findObject(objects, 'Secret', 'streamkeeper-zk-credentials', ns)).toBeDefined();
  });

  it('scrapes the metrics Service with a ServiceMonitor and keeps an operator replica through drains', () => {
    const objects = template(combinations['ServiceMonitor and PodDisruptionBudget on'] ?? []);
    const service = findObject(objects, 'Service', 'streamkeeper-operator-metrics', ns) as KubeObject & { spec: { ports: { name: string }[] } };
    const monitor = findObject(objects, 'ServiceMonitor', 'streamkeeper-operator', ns) as KubeObject & {
      spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] };
    };
    expect(monitor.metadata.labels?.release).toBe('kube-prometheus-stack');
    expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
    expect(monitor.spec.endpoints).toMatchObject([{ port: 'metrics', path: '/metrics' }]);
    expect(service.spec.ports.map((p) => p.name)).toContain('metrics');
    const { deployment } = operatorOf(objects);
    expect(findObject(objects, 'PodDisruptionBudget', 'streamkeeper-operator', ns)).toMatchObject({
      spec: { minAvailable: 1, selector: { matchLabels: deployment.spec.selector.matchLabels } },
    });
  });

  it('runs the image it is given, pulled with the given Secret, or pinned by digest', () => {
    const objects = template(combinations['a custom image'] ?? []);
    const { deployment, container } = operatorOf(objects);
    expect(container.image).toBe('registry.example.com/platform/streamkeeper:0.1.0-patched');
    expect(deployment.spec.template.spec).toMatchObject({ imagePullSecrets: [{ name: 'registry-credentials' }] });
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(operatorOf(template([`image.digest=${digest}`])).container.image).toBe(`streamkeeper/streamkeeper@${digest}`);
  });

  it('uses an existing credential Secret, or none with the development-only open ACLs', () => {
    const existing = template(['zookeeper.auth.existingSecret=my-zk-credentials']);
    expect(objectsOfKind(existing, 'Secret')).toEqual([]);
    expect(operatorOf(existing).deployment.spec.template.spec.volumes?.find((v) => v.secret)?.secret?.secretName).toBe('my-zk-credentials');

    const open = template(['zookeeper.auth.insecureOpenAcl=true']);
    expect(objectsOfKind(open, 'Secret')).toEqual([]);
    expect(parsedOptions(operatorOf(open).container)).toMatchObject({ insecureZkOpenAcl: true, zkCredentialsFile: undefined });
  });

  it.each([
    [['operator.replicas=two'], "at '/operator/replicas': got string, want integer"],
    [['zookeeper.replicas=2'], "at '/zookeeper/replicas': value must be one of 1, 3, 5, 7"],
    [['operatr.replicas=2'], "additional properties 'operatr' not allowed"],
    [['watchNamespaces=team-a'], "at '/watchNamespaces': got string, want array"],
    [['zookeeper.root=streamkeeper'], "at '/zookeeper/root'"],
  ])('refuses %j naming the offending value', (values, message) => {
    for (const command of ['template', 'lint']) {
      const result = runHelm([command, ...(command === 'template' ? ['streamkeeper'] : []), chartDir, ...setArgs(values)]);
      expect(result.status).not.toBe(0);
      expect(result.stdout + result.stderr).toContain(message);
    }
    expect(runHelm(['template', 'streamkeeper', chartDir, ...setArgs(values)]).stderr).toContain("values don't meet the specifications of the schema");
  });

  it.each([
    [['rbac.namespaced=true'], 'rbac.namespaced=true needs watchNamespaces'],
    [['operator.leaderElection.enabled=false'], 'operator.leaderElection.enabled=false allows only operator.replicas=1'],
  ])('refuses %j with a message saying why', (values, message) => {
    const result = runHelm(['template', 'streamkeeper', chartDir, ...setArgs(values)]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(message);
  });
});

describe('manifests/install.yaml', () => {
  let scratch = '';
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'streamkeeper-install-yaml-'));
  });
  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  it('is what tools/render-manifests.mjs renders from the chart today (else run it and commit)', () => {
    const out = join(scratch, 'install.yaml');
    const result = spawnSync(process.execPath, [join(repoRoot, 'tools', 'render-manifests.mjs'), '--out', out], {
      encoding: 'utf8',
      env: { ...process.env, HELM: helm() },
    });
    expect({ status: result.status, stderr: result.stderr }).toMatchObject({ status: 0 });
    expect(readFileSync(out, 'utf8') === readRepoFile('manifests/install.yaml')).toBe(true);
  });
});
