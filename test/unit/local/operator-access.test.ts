import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { accessKinds, installManifest, operatorAccessFromManifest, operatorNodeOptions } from '../../../src/local/operator-access.js';
import { objectPath } from '../../../src/local/kube-rest.js';
import { envFileContent, shellQuote } from '../../../src/local/local-state.js';

describe('the operator access taken from manifests/install.yaml', () => {
  const access = operatorAccessFromManifest(readFileSync(installManifest, 'utf8'));

  it('is the ServiceAccount the operator Deployment runs as', () => {
    expect(access.serviceAccount).toEqual({ namespace: 'streamkeeper-system', name: 'streamkeeper' });
  });

  it('holds only identity and RBAC objects, each of them from the manifest', () => {
    expect(access.objects.length).toBeGreaterThan(0);
    for (const object of access.objects) expect(accessKinds).toContain(object.kind);
    const kinds = new Set(access.objects.map((o) => o.kind));
    expect([...kinds].sort()).toEqual(['ClusterRole', 'ClusterRoleBinding', 'Namespace', 'Role', 'RoleBinding', 'ServiceAccount']);
  });

  it('refuses a manifest without an operator Deployment', () => {
    expect(() => operatorAccessFromManifest('apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a, namespace: b}\n', 'x.yaml')).toThrow('x.yaml has no operator Deployment');
  });
});

describe('where an applied object lives in the API', () => {
  it.each([
    [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } }, '/api/v1/namespaces/a'],
    [{ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sa', namespace: 'ns' } }, '/api/v1/namespaces/ns/serviceaccounts/sa'],
    [{ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'r' } }, '/apis/rbac.authorization.k8s.io/v1/clusterroles/r'],
    [{ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'b', namespace: 'ns' } }, '/apis/rbac.authorization.k8s.io/v1/namespaces/ns/rolebindings/b'],
    [{ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'x.y.z' } }, '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/x.y.z'],
  ])('%j → %s', (object, path) => {
    expect(objectPath(object)).toBe(path);
  });

  it('refuses kinds it does not know and namespaced objects without a namespace', () => {
    expect(() => objectPath({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'n' } })).toThrow('cannot apply apps/v1 Deployment');
    expect(() => objectPath({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sa' } })).toThrow('has no metadata.namespace');
  });
});

describe('the env file of a local cluster', () => {
  it('quotes values for a POSIX shell', () => {
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(envFileContent({ kubeconfig: '/a b/kubeconfig', kubectl: '/bin/kubectl', zkConnect: '127.0.0.1:1', kafkaBrokers: '127.0.0.1:2' })).toBe(
      [
        '# Written by `streamkeeper local up`. Load it with: . .streamkeeper/local/env',
        "export KUBECONFIG='/a b/kubeconfig'",
        "export KUBECTL='/bin/kubectl'",
        "export ZK_CONNECT='127.0.0.1:1'",
        "export KAFKA_BROKERS='127.0.0.1:2'",
        '',
      ].join('\n'),
    );
  });
});

describe('the operator\'s Node.js flags', () => {
  it('are the NODE_OPTIONS of the operator container in the install manifest', () => {
    expect(operatorNodeOptions()).toMatch(/--max-old-space-size=\d+/);
    expect(operatorNodeOptions('kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n        - env: [{name: NODE_OPTIONS, value: "--jitless"}]\n')).toBe('--jitless');
    expect(operatorNodeOptions('kind: ConfigMap\n')).toBe('');
  });
});
