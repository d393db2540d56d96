import { describe, expect, it } from '@jest/globals';
import { applyDefaults, type StreamingJobSpec } from '../../../../src/api/v1alpha1/index.js';
import type { CoordinatedJob } from '../../../../src/operator/job-coordination.js';
import { podTemplateHashLabel } from '../../../../src/operator/reconciler/naming.js';
import { desiredPodTemplate, podFromTemplate, podTemplateHash, type PodSettings } from '../../../../src/operator/reconciler/pod-template.js';
import { sampleSpec } from '../support/reconciler-world.js';

const job: CoordinatedJob = { namespace: 'team-a', name: 'wordcount', uid: 'uid-1' };
const settings: PodSettings = { zkConnect: 'zk-0.zk:2181,zk-1.zk:2181/prod', zkRoot: '/streamkeeper', credentials: 'per-job' };

function template(spec: StreamingJobSpec = sampleSpec(), component: 'driver' | 'executor' = 'executor', s: PodSettings = settings) {
  return desiredPodTemplate(job, applyDefaults(spec), component, s);
}

function envOf(t: ReturnType<typeof template>) {
  return t.spec.containers[0]?.env ?? [];
}

describe('the pod template', () => {
  it('runs the streamkeeper image with arguments only, never a command', () => {
    for (const component of ['driver', 'executor'] as const) {
      const container = template(sampleSpec(), component).spec.containers[0];
      expect(container?.image).toBe('streamkeeper/streamkeeper:0.1.0');
      expect(container?.args).toEqual([component, '--log-format=json']);
      expect(container?.command).toBeUndefined();
      expect(container?.imagePullPolicy).toBe('IfNotPresent');
    }
  });

  it('meets the restricted Pod Security Standard by default', () => {
    const t = template();
    expect(t.spec.restartPolicy).toBe('Never');
    expect(t.spec.automountServiceAccountToken).toBe(false);
    expect(t.spec.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } });
    expect(t.spec.containers[0]?.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 65532,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(t.spec.containers[0]?.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
  });

  it('tells the runtime its job, pod and ZooKeeper, and takes the job credential from the job\'s Secret', () => {
    expect(envOf(template()).slice(0, 7)).toEqual([
      { name: 'STREAMKEEPER_JOB', value: 'team-a/wordcount' },
      { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } } },
      { name: 'ZK_CONNECT', value: 'zk-0.zk:2181,zk-1.zk:2181/prod' },
      { name: 'STREAMKEEPER_ZK_ROOT', value: '/streamkeeper' },
      { name: 'STREAMKEEPER_ZK_USER', valueFrom: { secretKeyRef: { name: 'wordcount-zookeeper', key: 'user' } } },
      { name: 'STREAMKEEPER_ZK_PASSWORD', valueFrom: { secretKeyRef: { name: 'wordcount-zookeeper', key: 'password' } } },
    ]);
  });

  it('says so when ZooKeeper runs with open ACLs, instead of referencing a credential', () => {
    const env = envOf(template(sampleSpec(), 'executor', { ...settings, credentials: 'open' }));
    expect(env).toContainEqual({ name: 'STREAMKEEPER_ZK_INSECURE_OPEN_ACL', value: 'true' });
    expect(env.some((v) => v.name === 'STREAMKEEPER_ZK_USER')).toBe(false);
  });

  it('passes Kafka credentials and CA bundles as Secret references, the sink inheriting the source\'s, with the TLS flag and SASL mechanism as plain values', () => {
    const spec = sampleSpec({
      source: {
        kafka: {
          bootstrapServers: ['kafka:9093'],
          topics: ['in'],
          tls: { caSecretRef: { name: 'kafka-ca' } },
          sasl: { mechanism: 'scram-sha-512', secretRef: { name: 'kafka-user', usernameKey: 'u' } },
        },
      },
    });
    const env = envOf(template(spec));
    expect(env).toEqual(
      expect.arrayContaining([
        { name: 'STREAMKEEPER_KAFKA_SOURCE_SASL_USERNAME', valueFrom: { secretKeyRef: { name: 'kafka-user', key: 'u' } } },
        { name: 'STREAMKEEPER_KAFKA_SOURCE_SASL_PASSWORD', valueFrom: { secretKeyRef: { name: 'kafka-user', key: 'password' } } },
        { name: 'STREAMKEEPER_KAFKA_SOURCE_TLS_CA', valueFrom: { secretKeyRef: { name: 'kafka-ca', key: 'ca.crt' } } },
        { name: 'STREAMKEEPER_KAFKA_SINK_SASL_USERNAME', valueFrom: { secretKeyRef: { name: 'kafka-user', key: 'u' } } },
        { name: 'STREAMKEEPER_KAFKA_SINK_TLS_CA', valueFrom: { secretKeyRef: { name: 'kafka-ca', key: 'ca.crt' } } },
        { name: 'STREAMKEEPER_KAFKA_SOURCE_SASL_MECHANISM', value: 'scram-sha-512' },
        { name: 'STREAMKEEPER_KAFKA_SOURCE_TLS', value: 'true' },
        { name: 'STREAMKEEPER_KAFKA_SINK_SASL_MECHANISM', value: 'scram-sha-512' },
        { name: 'STREAMKEEPER_KAFKA_SINK_TLS', value: 'true' },
      ]),
    );
    expect(env.some((v) => v.value !== undefined && /password/i.test(v.value))).toBe(false);
  });

  it('merges the spec\'s pod template overrides, without letting them replace what the operator sets', () => {
    const spec = sampleSpec({
      executors: {
        replicas: 2,
        resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: 2147483648 } },
        terminationGracePeriodSeconds: 45,
        podTemplate: {
          labels: { team: 'search' },
          annotations: { 'prometheus.io/scrape': 'true' },
          nodeSelector: { pool: 'streaming' },
          tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'streaming', effect: 'NoSchedule' }],
          priorityClassName: 'high',
          serviceAccountName: 'wordcount',
          imagePullSecrets: [{ name: 'registry' }],
          env: [
            { name: 'LOOKUP_TABLE', value: '/data/t.json' },
            { name: 'ZK_CONNECT', value: 'evil:2181' },
          ],
        },
      },
    });
    const t = template(spec);
    expect(t.labels).toMatchObject({ team: 'search', 'app.kubernetes.io/component': 'executor', 'app.kubernetes.io/instance': 'wordcount' });
    expect(t.annotations).toEqual({ 'prometheus.io/scrape': 'true' });
    expect(t.spec).toMatchObject({
      nodeSelector: { pool: 'streaming' },
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'streaming', effect: 'NoSchedule' }],
      priorityClassName: 'high',
      serviceAccountName: 'wordcount',
      imagePullSecrets: [{ name: 'registry' }],
      terminationGracePeriodSeconds: 45,
    });
    expect(t.spec.containers[0]?.resources).toEqual({ requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '2147483648' } });
    const env = envOf(t);
    expect(env.filter((v) => v.name === 'ZK_CONNECT')).toEqual([{ name: 'ZK_CONNECT', value: 'zk-0.zk:2181,zk-1.zk:2181/prod' }]);
    expect(env[env.length - 1]).toEqual({ name: 'LOOKUP_TABLE', value: '/data/t.json' });
  });

  it('gives the driver the Service subdomain and its own overrides', () => {
    const t = template(sampleSpec({ driver: { podTemplate: { labels: { role: 'planner' } } } }), 'driver');
    expect(t.spec.subdomain).toBe('wordcount-driver');
    expect(t.labels).toMatchObject({ role: 'planner', 'app.kubernetes.io/component': 'driver' });
  });
});

describe('the pod template hash', () => {
  const base = podTemplateHash(template());
  const changes: [string, StreamingJobSpec, boolean][] = [
    ['the image', sampleSpec({ image: 'streamkeeper/streamkeeper:0.2.0' }), true],
    ['the resources', sampleSpec({ executors: { replicas: 2, resources: { limits: { cpu: '1' } } } }), true],
    ['a template label', sampleSpec({ executors: { replicas: 2, podTemplate: { labels: { team: 'x' } } } }), true],
    ['the replica count', sampleSpec({ executors: { replicas: 5 } }), false],
    ['the config', sampleSpec({ config: { 'window.size': '30' } }), false],
    ['the processor params', sampleSpec({ processor: { builtin: 'wordcount', params: { lowercase: 'false' } } }), false],
    ['the batch interval', sampleSpec({ batchInterval: '1s' }), false],
    ['the driver\'s resources (for executors)', sampleSpec({ driver: { resources: { limits: { cpu: '2' } } } }), false],
  ];
  it.each(changes)('changes with %s: %s', (_what, spec, changes) => {
    expect(podTemplateHash(template(spec)) !== base).toBe(changes);
  });

  it('is short, label-safe and stable', () => {
    expect(base).toMatch(/^[0-9a-f]{10}$/);
    expect(podTemplateHash(template())).toBe(base);
  });
});

describe('a pod from the template', () => {
  it('carries its name, the hash label and the job as its controller', () => {
    const t = template();
    const pod = podFromTemplate(job, t, 'abc', 'wordcount-executor-3');
    expect(pod.metadata).toMatchObject({
      name: 'wordcount-executor-3',
      namespace: 'team-a',
      labels: { [podTemplateHashLabel]: 'abc', 'app.kubernetes.io/managed-by': 'streamkeeper-operator' },
      ownerReferences: [{ apiVersion: 'streamkeeper.io/v1alpha1', kind: 'StreamingJob', name: 'wordcount', uid: 'uid-1', controller: true, blockOwnerDeletion: true }],
    });
    expect(pod.spec).toEqual(t.spec);
  });
});
