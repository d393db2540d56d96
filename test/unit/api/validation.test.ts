import { describe, expect, it } from '@jest/globals';
import { isStreamkeeperError } from '../../../src/errors/index.js';
import {
  bootstrapServerProblem,
  isSecretLookingKey,
  parseSpec,
  validateSpec,
  validateStreamingJob,
} from '../../../src/api/v1alpha1/validation.js';

type Json = Record<string, unknown>;

function baseSpec(): Json {
  return {
    image: 'streamkeeper:dev',
    source: { kafka: { bootstrapServers: ['kafka-0.kafka:9092'], topics: ['in'] } },
    sink: { kafka: { topic: 'out' } },
    processor: { builtin: 'passthrough' },
  };
}

/** The base spec with each dotted path set to its value (undefined: removed). */
function specWith(changes: Record<string, unknown>): Json {
  const spec = baseSpec();
  for (const [path, value] of Object.entries(changes)) {
    const keys = path.split('.');
    const last = keys.pop() ?? '';
    let node: Json = spec;
    for (const key of keys) {
      node[key] ??= {};
      node = node[key] as Json;
    }
    if (value === undefined) Reflect.deleteProperty(node, last);
    else node[last] = value;
  }
  return spec;
}

interface Case {
  readonly name: string;
  readonly changes: Record<string, unknown>;
  /** Expected findings: field and a fragment of the message. */
  readonly findings: readonly (readonly [string, string])[];
}

function check(cases: readonly Case[]): void {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const findings = validateSpec(specWith(c.changes));
    expect(findings.map((f) => f.field)).toEqual(c.findings.map(([field]) => field));
    findings.forEach((finding, i) => {
      expect(finding.message).toContain(c.findings[i]?.[1]);
    });
  });
}

describe('validateSpec', () => {
  it('accepts a minimal spec', () => {
    expect(validateSpec(baseSpec())).toEqual([]);
  });

  it('refuses what is not an object', () => {
    expect(validateSpec('spec')).toEqual([{ field: 'spec', message: 'must be an object' }]);
    expect(validateSpec(null)).toEqual([{ field: 'spec', message: 'must be an object' }]);
  });

  describe('checks the schema, in case an older CRD admitted the object', () => {
    check([
      { name: 'a missing image', changes: { image: undefined }, findings: [['spec.image', 'is required']] },
      { name: 'a missing processor', changes: { processor: undefined }, findings: [['spec.processor', 'is required']] },
      { name: 'too many executors', changes: { 'executors.replicas': 300 }, findings: [['spec.executors.replicas', 'must be at most 256']] },
      { name: 'a fractional replica count', changes: { 'executors.replicas': 1.5 }, findings: [['spec.executors.replicas', 'must be an integer']] },
      { name: 'an unknown pull policy', changes: { imagePullPolicy: 'Sometimes' }, findings: [['spec.imagePullPolicy', 'must be one of: Always, IfNotPresent, Never']] },
      { name: 'no topics', changes: { 'source.kafka.topics': [] }, findings: [['spec.source.kafka.topics', 'must have at least 1 item']] },
      { name: 'a topic with a space', changes: { 'source.kafka.topics': ['bad topic'] }, findings: [['spec.source.kafka.topics[0]', 'must be a Kafka topic name']] },
      { name: 'a broker without port', changes: { 'source.kafka.bootstrapServers': ['kafka'] }, findings: [['spec.source.kafka.bootstrapServers[0]', 'must be host:port']] },
      { name: 'a batch interval that is no duration', changes: { batchInterval: '5x' }, findings: [['spec.batchInterval', 'must be a duration such as 250ms']] },
      { name: 'a quantity that is no quantity', changes: { 'executors.resources': { limits: { cpu: 'lots' } } }, findings: [['spec.executors.resources.limits.cpu', 'Kubernetes quantity']] },
      { name: 'a non-string config value', changes: { config: { 'batch.size': 10 } }, findings: [['spec.config', 'map of strings']] },
      { name: 'an unknown SASL mechanism', changes: { 'source.kafka.sasl': { mechanism: 'gssapi', secretRef: { name: 'creds' } } }, findings: [['spec.source.kafka.sasl.mechanism', 'must be one of: plain, scram-sha-256, scram-sha-512']] },
      { name: 'a module path that is not absolute', changes: { processor: { module: 'processors/p.js' } }, findings: [['spec.processor.module', 'must be an absolute path']] },
      { name: 'an unknown field', changes: { replicas: 3 }, findings: [['spec.replicas', 'unknown field']] },
      {
        name: 'a misspelt field next to a missing one',
        changes: { 'source.kafka.topics': undefined, 'source.kafka.topic': 'in' },
        findings: [['spec.source.kafka.topics', 'is required'], ['spec.source.kafka.topic', 'unknown field']],
      },
      { name: 'a list where an object belongs, without going further', changes: { source: [] }, findings: [['spec.source', 'must be an object']] },
    ]);
  });

  describe('checks every rule the CRD checks with CEL', () => {
    check([
      { name: 'both builtin and module', changes: { 'processor.module': '/app/p.js' }, findings: [['spec.processor', 'exactly one of builtin or module']] },
      { name: 'neither builtin nor module', changes: { processor: { params: {} } }, findings: [['spec.processor', 'exactly one of builtin or module']] },
      { name: 'deadLetter without a topic', changes: { failurePolicy: { poisonRecords: 'deadLetter' } }, findings: [['spec.failurePolicy.deadLetterTopic', 'is required when poisonRecords is deadLetter']] },
      { name: 'a dead-letter topic without deadLetter', changes: { failurePolicy: { poisonRecords: 'skip', deadLetterTopic: 'dlq' } }, findings: [['spec.failurePolicy.deadLetterTopic', 'only allowed when poisonRecords or aggregation.window.lateRecords is deadLetter']] },
      { name: 'a dead-letter topic that is the sink topic', changes: { failurePolicy: { poisonRecords: 'deadLetter', deadLetterTopic: 'out' } }, findings: [['spec.failurePolicy.deadLetterTopic', 'must differ from the sink topic']] },
      { name: 'a dead-letter topic that is a source topic', changes: { failurePolicy: { poisonRecords: 'deadLetter', deadLetterTopic: 'in' } }, findings: [['spec.failurePolicy.deadLetterTopic', 'must not be one of the source topics']] },
      { name: 'a sink topic that is a source topic', changes: { 'sink.kafka.topic': 'in' }, findings: [['spec.sink.kafka.topic', 'must not be one of the source topics']] },
      { name: 'a batch interval under 100ms', changes: { batchInterval: '99ms' }, findings: [['spec.batchInterval', 'at least 100ms']] },
      { name: 'a batch interval of 0.05s', changes: { batchInterval: '0.05s' }, findings: [['spec.batchInterval', 'at least 100ms']] },
      { name: 'a secret in config', changes: { config: { 'log.level': 'info', 'db.password': 'hunter2' } }, findings: [['spec.config[db.password]', 'must not carry secrets']] },
      {
        name: 'an operator label in a pod template',
        changes: { 'executors.podTemplate': { labels: { 'app.kubernetes.io/instance': 'other' } } },
        findings: [['spec.executors.podTemplate.labels[app.kubernetes.io/instance]', 'set by the operator']],
      },
      {
        name: 'a reserved environment variable',
        changes: { 'driver.podTemplate': { env: [{ name: 'STREAMKEEPER_ROLE', value: 'x' }] } },
        findings: [['spec.driver.podTemplate.env[0].name', 'names starting with STREAMKEEPER_']],
      },
      {
        name: 'an environment variable with value and valueFrom',
        changes: { 'executors.podTemplate': { env: [{ name: 'A', value: '1', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] } },
        findings: [['spec.executors.podTemplate.env[0]', 'at most one of value or valueFrom']],
      },
      {
        name: 'a duplicate environment variable',
        changes: { 'executors.podTemplate': { env: [{ name: 'A', value: '1' }, { name: 'A', value: '2' }] } },
        findings: [['spec.executors.podTemplate.env[1].name', 'duplicate variable A']],
      },
      { name: 'a duplicate topic', changes: { 'source.kafka.topics': ['in', 'other', 'in'] }, findings: [['spec.source.kafka.topics[2]', 'duplicate topic in']] },
      { name: 'a duplicate broker', changes: { 'source.kafka.bootstrapServers': ['a:9092', 'a:9092'] }, findings: [['spec.source.kafka.bootstrapServers[1]', 'duplicate broker']] },
      {
        name: 'a duplicate image pull Secret',
        changes: { 'driver.podTemplate': { imagePullSecrets: [{ name: 'reg' }, { name: 'reg' }] } },
        findings: [['spec.driver.podTemplate.imagePullSecrets[1].name', 'duplicate Secret reg']],
      },
    ]);
  });

  describe('checks what no schema can express', () => {
    check([
      { name: 'a port out of range', changes: { 'source.kafka.bootstrapServers': ['kafka:70000'] }, findings: [['spec.source.kafka.bootstrapServers[0]', 'not between 1 and 65535']] },
      { name: 'a broken sink broker', changes: { 'sink.kafka.bootstrapServers': ['300.1.1.1:9092'] }, findings: [['spec.sink.kafka.bootstrapServers[0]', 'not an IPv4 address']] },
      { name: 'a topic named ..', changes: { 'source.kafka.topics': ['..'] }, findings: [['spec.source.kafka.topics[0]', 'not a valid Kafka topic name']] },
      { name: 'a filter without a condition', changes: { processor: { builtin: 'filter', params: { field: 'level' } } }, findings: [['spec.processor.params', 'exactly one of equals or regex']] },
      { name: 'a filter regex that does not compile', changes: { processor: { builtin: 'filter', params: { regex: '(' } } }, findings: [['spec.processor.params[regex]', 'does not compile']] },
      { name: 'an unknown param of a builtin', changes: { processor: { builtin: 'passthrough', params: { mode: 'fast' } } }, findings: [['spec.processor.params[mode]', 'passthrough takes no params']] },
      { name: 'a map without fields', changes: { processor: { builtin: 'map' } }, findings: [['spec.processor.params[fields]', 'map needs fields']] },
      { name: 'a module path with ..', changes: { processor: { module: '/app/../etc/p.js' } }, findings: [['spec.processor.module', 'normalised absolute path']] },
      {
        name: 'an invalid label key and value',
        changes: { 'executors.podTemplate': { labels: { 'bad key': 'ok', team: 'not ok!' } } },
        findings: [['spec.executors.podTemplate.labels[bad key]', 'not a valid label key'], ['spec.executors.podTemplate.labels[team]', 'not a valid label value']],
      },
      {
        name: 'an invalid node selector and annotation key',
        changes: { 'driver.podTemplate': { nodeSelector: { '-zone': 'a' }, annotations: { 'a/b/c': 'x' } } },
        findings: [['spec.driver.podTemplate.nodeSelector[-zone]', 'not a valid label key'], ['spec.driver.podTemplate.annotations[a/b/c]', 'not a valid annotation key']],
      },
      {
        name: 'requests above limits',
        changes: { 'executors.resources': { requests: { cpu: '2', memory: '1Gi' }, limits: { cpu: '1500m', memory: '1024Mi' } } },
        findings: [['spec.executors.resources.requests.cpu', 'must not exceed limits.cpu (1500m)']],
      },
      { name: 'a negative quantity', changes: { 'driver.resources': { requests: { memory: '-1Gi' } } }, findings: [['spec.driver.resources.requests.memory', 'must not be negative']] },
    ]);
  });

  it('accepts everything the schema allows when it is consistent', () => {
    const spec = specWith({
      batchInterval: '1m30s',
      'source.kafka': {
        bootstrapServers: ['kafka-0.kafka:9093', '10.0.0.7:9093', '[fd00::7]:9093'],
        topics: ['a', 'b.c', 'd_e-f'],
        startingOffsets: 'earliest',
        maxRecordsPerPartition: 1_000_000,
        tls: { caSecretRef: { name: 'kafka-ca', key: 'ca.pem' } },
        sasl: { mechanism: 'scram-sha-256', secretRef: { name: 'creds' } },
      },
      'sink.kafka': { topic: 'out', bootstrapServers: ['other:9092'], delivery: 'atLeastOnce', tls: { enabled: false } },
      processor: { builtin: 'map', params: { fields: 'id, country=user.address.country' } },
      driver: { resources: { requests: { cpu: 0.5, memory: '256Mi' }, limits: { memory: 268435456 } } },
      executors: {
        replicas: 0,
        maxTaskAttempts: 100,
        terminationGracePeriodSeconds: 0,
        podTemplate: {
          labels: { team: 'data', 'example.com/tier': 'gold' },
          annotations: { 'prometheus.io/scrape': 'true' },
          nodeSelector: { 'kubernetes.io/os': 'linux' },
          tolerations: [{ key: 'dedicated', operator: 'Exists' }],
          affinity: { nodeAffinity: {} },
          priorityClassName: 'streaming',
          serviceAccountName: 'wordcount',
          env: [{ name: 'TZ', value: 'UTC' }, { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
          imagePullSecrets: [{ name: 'registry' }],
        },
      },
      failurePolicy: { onTaskExhausted: 'degrade', poisonRecords: 'deadLetter', deadLetterTopic: 'dlq' },
      config: { 'log.level': 'debug', 'window.size': '10' },
    });
    // cpu: 0.5 is not an integer: the schema (int-or-string) refuses it, as the API server does.
    expect(validateSpec(spec)).toEqual([{ field: 'spec.driver.resources.requests.cpu', message: 'must be a Kubernetes quantity such as 500m, 2 or 512Mi' }]);
    (((spec.driver as Json).resources as Json).requests as Json).cpu = '500m';
    expect(validateSpec(spec)).toEqual([]);
  });
});

describe('bootstrapServerProblem', () => {
  it.each([
    ['kafka:9092', undefined],
    ['kafka-0.kafka.svc.cluster.local:9093', undefined],
    ['127.0.0.1:9092', undefined],
    ['[::1]:9092', undefined],
    ['kafka', 'must be host:port'],
    ['kafka:0', 'not between 1 and 65535'],
    ['kafka:65536', 'not between 1 and 65535'],
    ['1.2.3:9092', 'not an IPv4 address'],
    ['[1:2:3]:9092', 'not an IPv6 address'],
    ['a..b:9092', 'not a DNS name'],
    [`${'a'.repeat(64)}.b:9092`, 'not a DNS name'],
    ['-a:9092', 'not a DNS name'],
  ])('%s', (address, problem) => {
    const found = bootstrapServerProblem(address);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toContain(problem);
  });
});

describe('isSecretLookingKey', () => {
  it.each(['db.password', 'PASSWD', 'apiKey', 'API_KEY', 'api-key', 'sasl.jaas.config', 'auth-token', 'clientSecret', 'ssl.keystore.key', 'privateKey', 'aws.credentials'])(
    'refuses %s',
    (key) => {
      expect(isSecretLookingKey(key)).toBe(true);
    },
  );

  it.each(['log.level', 'window.size', 'ssl.endpoint.identification.algorithm', 'keyField', 'batch.max.bytes'])('allows %s', (key) => {
    expect(isSecretLookingKey(key)).toBe(false);
  });

  it('errs on the safe side for keys that merely contain a secret word', () => {
    expect(isSecretLookingKey('tokenizer')).toBe(true);
  });
});

describe('validateStreamingJob', () => {
  const job = (name: string, spec: unknown = baseSpec()): Json => ({ apiVersion: 'streamkeeper.io/v1alpha1', kind: 'StreamingJob', metadata: { name }, spec });

  it('accepts a valid job', () => {
    expect(validateStreamingJob(job('wordcount'))).toEqual([]);
  });

  it('refuses a name that cannot be a label value', () => {
    expect(validateStreamingJob(job('j'.repeat(64)))).toEqual([{ field: 'metadata.name', message: expect.stringContaining('at most 63 characters') }]);
    expect(validateStreamingJob(job('j'.repeat(63)))).toEqual([]);
  });

  it('requires a spec and reports its findings', () => {
    expect(validateStreamingJob({ metadata: { name: 'x' } })).toEqual([{ field: 'spec', message: 'is required' }]);
    expect(validateStreamingJob(job('x', { ...baseSpec(), batchInterval: '1ms' }))).toEqual([{ field: 'spec.batchInterval', message: 'must be at least 100ms' }]);
  });
});

describe('parseSpec', () => {
  it('returns the defaulted spec when it is valid', () => {
    const parsed = parseSpec(baseSpec());
    expect(parsed.ok && parsed.spec.executors.replicas).toBe(2);
  });

  it('turns every finding into an SK_INVALID_SPEC error naming the field', () => {
    const parsed = parseSpec(specWith({ batchInterval: '10ms', 'sink.kafka.topic': 'in' }));
    if (parsed.ok) throw new Error('expected the spec to be refused');
    expect(parsed.errors.every((e) => isStreamkeeperError(e, 'SK_INVALID_SPEC'))).toBe(true);
    expect(parsed.errors.map((e) => e.toString())).toEqual([
      'SK_INVALID_SPEC: spec.sink.kafka.topic: the sink topic must not be one of the source topics (the job would read its own output)',
      'SK_INVALID_SPEC: spec.batchInterval: must be at least 100ms',
    ]);
  });
});
