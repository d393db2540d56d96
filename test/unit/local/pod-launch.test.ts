import { describe, expect, it } from '@jest/globals';
import type { ConfigMap, Pod, Secret } from '../../../src/kube/objects.js';
import { containerArguments, containerEnvironment, downwardField, expandReferences, isRunnableImage, parseImageReference, unsupportedFeatures, type Container, type PodSpec } from '../../../src/local/pod-launch.js';

describe('which images the node agent runs', () => {
  it.each([
    ['streamkeeper/streamkeeper', true],
    ['streamkeeper/streamkeeper:0.1.0', true],
    ['docker.io/streamkeeper/streamkeeper:latest', true],
    ['registry.example.com:5000/streamkeeper/streamkeeper:dev', true],
    ['localhost/streamkeeper/streamkeeper', true],
    ['streamkeeper/streamkeeper@sha256:0123456789abcdef', true],
    ['streamkeeper/streamkeeper:0.1.0@sha256:0123456789abcdef', true],
    ['busybox:1.36', false],
    ['docker.io/library/busybox', false],
    ['streamkeeper/operator:0.1.0', false],
    ['mirror.example.com/team/streamkeeper/streamkeeper:0.1.0', false],
    ['streamkeeper:0.1.0', false],
    ['', false],
  ])('%s → %s', (image, runnable) => {
    expect(isRunnableImage(image)).toBe(runnable);
  });

  it('splits a reference into registry, repository, tag and digest', () => {
    expect(parseImageReference('registry.example.com:5000/streamkeeper/streamkeeper:dev@sha256:ab')).toEqual({ registry: 'registry.example.com:5000', repository: 'streamkeeper/streamkeeper', tag: 'dev', digest: 'sha256:ab' });
    expect(parseImageReference('streamkeeper/streamkeeper')).toEqual({ registry: undefined, repository: 'streamkeeper/streamkeeper', tag: undefined, digest: undefined });
  });
});

describe('$(VAR) expansion, as the kubelet does it', () => {
  const vars: Record<string, string> = { A: 'alpha', EMPTY: '' };
  it.each([
    ['plain', 'plain'],
    ['$(A)', 'alpha'],
    ['x-$(A)-y', 'x-alpha-y'],
    ['$(EMPTY)!', '!'],
    ['$(MISSING)', '$(MISSING)'],
    ['$$(A)', '$(A)'],
    ['$$', '$'],
    ['cost: $5', 'cost: $5'],
    ['$(A', '$(A'],
    ['trailing $', 'trailing $'],
  ])('%s → %s', (input, output) => {
    expect(expandReferences(input, (name) => vars[name])).toBe(output);
  });
});

describe('the command line of a container', () => {
  const base: Container = { name: 'main', image: 'streamkeeper/streamkeeper:0.1.0' };

  it('passes args to the CLI, expanding variables', () => {
    expect(containerArguments({ ...base, args: ['driver', '--job', '$(NS)/$(NAME)'] }, { NS: 'team', NAME: 'orders' })).toEqual({ args: ['driver', '--job', 'team/orders'] });
  });

  it.each([[['/nodejs/bin/node', '/app/bin/streamkeeper.js']], [['node', '/app/bin/streamkeeper.js']], [['/app/bin/streamkeeper.js']]])('accepts the image entrypoint %j as the command', (command) => {
    expect(containerArguments({ ...base, command, args: ['version'] }, {})).toEqual({ args: ['version'] });
  });

  it('refuses any other command, saying what to do instead', () => {
    const result = containerArguments({ ...base, command: ['/bin/sh', '-c', 'echo hi'] }, {});
    expect(result).toEqual({ error: expect.stringContaining('give the subcommand in args') as unknown });
  });
});

describe('pod features the node agent cannot honour', () => {
  const container: Container = { name: 'main', image: 'streamkeeper/streamkeeper' };

  it('accepts emptyDir volumes and the admission-added ServiceAccount token volume', () => {
    const spec: PodSpec = {
      containers: [container],
      volumes: [{ name: 'tmp', emptyDir: {} }, { name: 'kube-api-access-abcde', projected: { sources: [] } }],
    };
    const mounted: Container = { ...container, volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }, { name: 'kube-api-access-abcde', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }] };
    expect(unsupportedFeatures(spec, mounted)).toBeUndefined();
  });

  it('names a Secret volume mount, an exec probe and init containers', () => {
    const spec: PodSpec = { containers: [container], initContainers: [{ name: 'init', image: 'busybox' }], volumes: [{ name: 'creds', secret: { secretName: 'c' } }] };
    const message = unsupportedFeatures(spec, { ...container, volumeMounts: [{ name: 'creds', mountPath: '/etc/creds' }], livenessProbe: { exec: { command: ['true'] } } });
    expect(message).toContain('init containers');
    expect(message).toContain('volume mount creds at /etc/creds');
    expect(message).toContain('liveness probe of type exec');
  });
});

describe('the environment of a container', () => {
  const pod: Pod = {
    metadata: { name: 'p', namespace: 'ns', uid: 'u-1', labels: { app: 'x' }, annotations: { note: 'n' } },
    spec: { nodeName: 'node-a', serviceAccountName: 'sa', containers: [] },
  };
  const secret = (data: Record<string, string>): Secret => ({ data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) });
  const inputs = (secrets: Record<string, Secret | null> = {}, configMaps: Record<string, ConfigMap | null> = {}) => ({
    pod,
    podIP: '127.0.0.1',
    hostIP: '127.0.0.2',
    secrets: new Map(Object.entries(secrets)),
    configMaps: new Map(Object.entries(configMaps)),
  });
  const container = (extra: Partial<Container>): Container => ({ name: 'main', image: 'streamkeeper/streamkeeper', ...extra });

  it.each([
    ['metadata.name', 'p'],
    ['metadata.namespace', 'ns'],
    ['metadata.uid', 'u-1'],
    ["metadata.labels['app']", 'x'],
    ["metadata.annotations['note']", 'n'],
    ["metadata.labels['absent']", ''],
    ['spec.nodeName', 'node-a'],
    ['spec.serviceAccountName', 'sa'],
    ['status.podIP', '127.0.0.1'],
    ['status.hostIP', '127.0.0.2'],
    ['spec.containers', undefined],
  ])('reads the downward-API field %s', (fieldPath, value) => {
    expect(downwardField(pod, fieldPath, '127.0.0.1', '127.0.0.2')).toBe(value);
  });

  it('applies envFrom first and env after it, so env wins', () => {
    const result = containerEnvironment(container({ envFrom: [{ configMapRef: { name: 'cm' } }], env: [{ name: 'MODE', value: 'from-env' }] }), inputs({}, { cm: { data: { MODE: 'from-configmap', OTHER: 'o' } } }));
    expect(result).toEqual({ env: { MODE: 'from-env', OTHER: 'o' } });
  });

  it('prefixes envFrom keys and skips keys that are not variable names', () => {
    const result = containerEnvironment(container({ envFrom: [{ prefix: 'S_', secretRef: { name: 's' } }] }), inputs({ s: secret({ user: 'u', 'bad key': 'x' }) }));
    expect(result).toEqual({ env: { S_user: 'u' } });
  });

  it('lets a value refer to earlier variables only', () => {
    const result = containerEnvironment(container({ env: [{ name: 'A', value: '1' }, { name: 'B', value: '$(A)-$(C)' }, { name: 'C', value: '3' }] }), inputs());
    expect(result).toEqual({ env: { A: '1', B: '1-$(C)', C: '3' } });
  });

  it('skips an optional reference that does not resolve and fails a required one, naming it', () => {
    const optional = containerEnvironment(container({ env: [{ name: 'T', valueFrom: { secretKeyRef: { name: 'gone', key: 'k', optional: true } } }], envFrom: [{ secretRef: { name: 'gone', optional: true } }] }), inputs({ gone: null }));
    expect(optional).toEqual({ env: {} });
    expect(containerEnvironment(container({ env: [{ name: 'T', valueFrom: { secretKeyRef: { name: 'gone', key: 'k' } } }] }), inputs({ gone: null }))).toEqual({ error: 'secret "gone" not found' });
    expect(containerEnvironment(container({ env: [{ name: 'T', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] }), inputs({ s: secret({ other: 'x' }) }))).toEqual({ error: "couldn't find key k in Secret ns/s" });
    expect(containerEnvironment(container({ env: [{ name: 'T', valueFrom: { configMapKeyRef: { name: 'cm', key: 'k' } } }] }), inputs({}, { cm: null }))).toEqual({ error: 'configmap "cm" not found' });
  });
});
