/**
 * The StreamingJob schema: the one source for the TypeScript types, the CRD's openAPIV3Schema,
 * the defaults and the admission rules. Change the API here and regenerate the CRD.
 */
import { Type } from '@sinclair/typebox';
import { reservedEnvPrefix, reservedLabelKeys, secretLookingKeyPattern } from './constants.js';
import { FreeFormObject, ObjectMetaSchema, Quantity, StringEnum, StringMap, celRules, withDefault } from './kube-schema.js';

export const imagePullPolicies = ['Always', 'IfNotPresent', 'Never'] as const;
export const startingOffsetsValues = ['earliest', 'latest'] as const;
export const saslMechanisms = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
export const deliveryGuarantees = ['exactlyOnce', 'atLeastOnce'] as const;
export const builtinProcessors = ['passthrough', 'filter', 'map', 'wordcount'] as const;
export const aggregateFunctions = ['count', 'sum', 'min', 'max', 'avg'] as const;
export const taskExhaustedPolicies = ['fail', 'degrade'] as const;
export const poisonRecordPolicies = ['fail', 'skip', 'deadLetter'] as const;
/** Session windows (a gap) are not offered yet: docs/runtime.md says why. */
export const windowTypes = ['tumbling', 'hopping'] as const;
export const windowEmitModes = ['update', 'final'] as const;
export const lateRecordPolicies = ['drop', 'deadLetter'] as const;
/** A record falls in size / advance hopping windows: this bounds the state and output one record makes. */
export const maxWindowsPerRecord = 100;
export const jobPhases = ['Pending', 'Running', 'Degraded', 'Suspended', 'Failed'] as const;
export const conditionStatuses = ['True', 'False', 'Unknown'] as const;

/** Patterns of the schema's strings, in the common subset of RE2 and JavaScript regular expressions. */
export const patterns = {
  /** Kafka's own rule for topic names (`.` and `..` are refused separately). */
  topic: '^[a-zA-Z0-9._-]{1,249}$',
  /** The host a DNS name, an IPv4 address or a bracketed IPv6 address. */
  bootstrapServer: '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?):[0-9]{1,5}$',
  /** Go duration syntax with the units a batch interval needs; no backslash, so CEL can quote it as is. */
  duration: '^([0-9]+([.][0-9]+)?(ms|s|m|h))+$',
  dnsSubdomain: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
  secretKey: '^[-._a-zA-Z0-9]+$',
  modulePath: '^/([A-Za-z0-9._@+-]+/)*[A-Za-z0-9._@+-]+\\.m?js$',
  envName: '^[A-Za-z_][A-Za-z0-9_.-]*$',
  image: '^\\S+$',
  /** metav1.Condition's rules for `type` and `reason`. */
  conditionType: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
  conditionReason: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
} as const;

/** What each pattern means, for error messages and the field reference: "must be <this>". */
export const patternDescriptions: Readonly<Record<keyof typeof patterns, string>> = {
  topic: 'a Kafka topic name: 1 to 249 of a-z, A-Z, 0-9, ".", "_" and "-"',
  bootstrapServer: 'host:port (e.g. kafka-0.kafka:9092)',
  duration: 'a duration such as 250ms, 5s or 1m30s',
  dnsSubdomain: 'a DNS subdomain name (lower-case letters, digits, "-" and ".")',
  secretKey: 'a Secret key (letters, digits, ".", "_" and "-")',
  modulePath: 'an absolute path to a .js or .mjs file',
  envName: 'an environment variable name (letters, digits, "_", "." and "-", not starting with a digit)',
  image: 'an image reference without spaces',
  conditionType: 'a condition type such as Ready or example.com/Synced',
  conditionReason: 'a CamelCase reason',
};

/** What a string matching `pattern` is, when it is one of the schema's named patterns. */
export function describePattern(pattern: string): string | undefined {
  const name = (Object.keys(patterns) as (keyof typeof patterns)[]).find((key) => patterns[key] === pattern);
  return name === undefined ? undefined : patternDescriptions[name];
}

/** The shortest batch interval: below it, coordination overhead dominates the batch. */
export const minBatchInterval = '100ms';

/** Bounds on lists and maps: they keep objects small and CEL's cost estimate within budget. */
export const schemaLimits = {
  bootstrapServers: 16,
  topics: 64,
  params: 32,
  paramValueLength: 4096,
  config: 128,
  configValueLength: 4096,
  labels: 32,
  annotations: 32,
  nodeSelector: 16,
  tolerations: 32,
  env: 64,
  imagePullSecrets: 16,
  conditions: 16,
  aggregates: 32,
} as const;

/** Partition groups of a job without spec.source.kafka.partitionGroups: tasks per batch, at most. */
export const defaultPartitionGroups = 16;

/** State partitions of a job without spec.aggregation.statePartitions (and of the builtin wordcount). */
export const defaultStatePartitions = 8;
/** Memory an executor's aggregation state may take when spec.aggregation.stateMemory is unset. */
export const defaultStateMemory = '256Mi';
/** Warm standby copies of each state partition when spec.aggregation.standbyReplicas is unset. */
export const defaultStandbyReplicas = 1;
/** The smallest state budget: below it, per-key overhead leaves next to no room for keys. */
export const minStateMemoryBytes = 16 * 1024 * 1024;

/**
 * A CEL expression that holds when every listed path under `self` is set, or trivially otherwise:
 * required fields are reported missing by the schema, so a rule never adds a "no such key" error.
 */
function whenPresent(paths: readonly string[], expression: string): string {
  const guards = new Set<string>();
  for (const path of paths) {
    const segments = path.split('.');
    for (let i = 1; i <= segments.length; i++) guards.add(`has(self.${segments.slice(0, i).join('.')})`);
  }
  return `!(${[...guards].join(' && ')}) || (${expression})`;
}

const celStringList = (values: readonly string[]): string => `[${values.map((v) => `'${v}'`).join(', ')}]`;

/** CEL for the builtin wordcount without spec.aggregation, which runs the implied running totals. */
const impliesWordcountTotals = (s: string): string => `(!has(${s}.aggregation) && has(${s}.processor.builtin) && ${s}.processor.builtin == 'wordcount')`;

/** CEL for the state partitions `s` runs with: spec.aggregation's, the builtin wordcount's implied ones, or 0 (stateless). */
const celStatePartitions = (s: string): string =>
  `(has(${s}.aggregation) && has(${s}.aggregation.statePartitions) ? ${s}.aggregation.statePartitions : (${impliesWordcountTotals(s)} ? ${defaultStatePartitions} : 0))`;

function Topic(description: string) {
  return Type.String({ description, minLength: 1, maxLength: 249, pattern: patterns.topic });
}

function BootstrapServers(description: string) {
  return Type.Array(
    Type.String({ description: 'A broker address as host:port.', maxLength: 261, pattern: patterns.bootstrapServer }),
    { description, minItems: 1, maxItems: schemaLimits.bootstrapServers, 'x-kubernetes-list-type': 'set' },
  );
}

function SecretName(description: string) {
  return Type.String({ description, minLength: 1, maxLength: 253, pattern: patterns.dnsSubdomain });
}

function SecretKey(description: string) {
  return Type.String({ description, minLength: 1, maxLength: 253, pattern: patterns.secretKey });
}

function KafkaTls() {
  return Type.Object(
    {
      enabled: withDefault(Type.Boolean({ description: 'Connect to the brokers over TLS.' }), true),
      caSecretRef: Type.Optional(
        Type.Object(
          {
            name: SecretName('Name of the Secret, in the job\'s namespace, that holds the CA bundle.'),
            key: withDefault(SecretKey('Key in the Secret whose value is the PEM-encoded CA bundle.'), 'ca.crt'),
          },
          { description: 'CA bundle that signs the brokers\' certificates. Without it, the image\'s system CAs are trusted.' },
        ),
      ),
    },
    { description: 'TLS towards the brokers. Setting this block enables TLS unless enabled is false.' },
  );
}

function KafkaSasl() {
  return Type.Object(
    {
      mechanism: StringEnum(saslMechanisms, { description: 'SASL mechanism, as the brokers\' listener expects it.' }),
      secretRef: Type.Object(
        {
          name: SecretName('Name of the Secret, in the job\'s namespace, that holds the credentials.'),
          usernameKey: withDefault(SecretKey('Key in the Secret whose value is the user name.'), 'username'),
          passwordKey: withDefault(SecretKey('Key in the Secret whose value is the password.'), 'password'),
        },
        { description: 'Secret holding the SASL credentials. Credentials are only ever read from a Secret, never written in the spec.' },
      ),
    },
    { description: 'SASL authentication towards the brokers.' },
  );
}

const KafkaSource = Type.Object(
  {
    bootstrapServers: BootstrapServers('Brokers to bootstrap from, as host:port.'),
    topics: Type.Array(Topic('A topic to read.'), {
      description: 'Topics to read. Every partition of every topic is processed.',
      minItems: 1,
      maxItems: schemaLimits.topics,
      'x-kubernetes-list-type': 'set',
    }),
    startingOffsets: withDefault(
      StringEnum(startingOffsetsValues, {
        description: 'Where a partition with no committed offset starts: its earliest or its latest offset.',
      }),
      'latest',
    ),
    maxRecordsPerPartition: withDefault(
      Type.Integer({
        description: 'Most records one batch takes from one partition; bounds the size of a task.',
        format: 'int32',
        minimum: 1,
        maximum: 1_000_000,
      }),
      10_000,
    ),
    partitionGroups: withDefault(
      Type.Integer({
        description:
          'Number of partition groups: every partition of the source topics belongs to one group for the job\'s life, and each batch runs one task per group with new records, reading all of the group\'s partitions and committing their output and offsets in one Kafka transaction. Bounds the tasks (and ZooKeeper writes) per batch whatever the partition count; with at most this many partitions of one topic, each partition is a task of its own. Fixed when the job is created.',
        format: 'int32',
        minimum: 1,
        maximum: 1024,
      }),
      defaultPartitionGroups,
    ),
    tls: Type.Optional(KafkaTls()),
    sasl: Type.Optional(KafkaSasl()),
  },
  {
    description: 'The Kafka cluster and topics to read.',
    ...celRules({
      rule: 'self.partitionGroups == oldSelf.partitionGroups',
      message:
        'partitionGroups is fixed when the job is created: each group commits its partitions under its own transactional id, which fences the group\'s earlier attempts, so regrouping would leave a partition\'s earlier writers unfenced; create a new job to change it',
      fieldPath: '.partitionGroups',
    }),
  },
);

const KafkaSink = Type.Object(
  {
    bootstrapServers: Type.Optional(
      BootstrapServers('Brokers to bootstrap from, as host:port. Unset: the source\'s brokers, TLS and SASL settings.'),
    ),
    topic: Topic('Topic the processor\'s output is written to.'),
    delivery: withDefault(
      StringEnum(deliveryGuarantees, {
        description:
          'exactlyOnce: output and offset advance commit in one Kafka transaction. atLeastOnce: a retried task may write its output again.',
      }),
      'exactlyOnce',
    ),
    tls: Type.Optional(KafkaTls()),
    sasl: Type.Optional(KafkaSasl()),
  },
  { description: 'The Kafka cluster and topic to write.' },
);

const Processor = Type.Object(
  {
    builtin: Type.Optional(StringEnum(builtinProcessors, { description: 'A processor shipped in the streamkeeper image.' })),
    module: Type.Optional(
      Type.String({
        description: 'Absolute path, inside the image, of an ES module whose default export processes records.',
        maxLength: 1024,
        pattern: patterns.modulePath,
      }),
    ),
    params: Type.Optional(
      StringMap({
        description: 'Parameters passed to the processor. Changes apply at the next batch boundary without restarting pods.',
        maxProperties: schemaLimits.params,
        valueMaxLength: schemaLimits.paramValueLength,
      }),
    ),
  },
  {
    description: 'What each task does with its records: exactly one of builtin or module, plus params.',
    ...celRules({ rule: 'has(self.builtin) != has(self.module)', message: 'set exactly one of builtin or module' }),
  },
);

/** A property name of the aggregation's output JSON. */
const aggregateNamePattern = '^[A-Za-z_][A-Za-z0-9_]*$';

const Aggregate = Type.Object(
  {
    name: Type.String({ description: 'Property name of this aggregate in the output record\'s JSON value.', minLength: 1, maxLength: 63, pattern: aggregateNamePattern }),
    function: StringEnum(aggregateFunctions, {
      description: 'count: records in the group. sum, min, max, avg: of the numeric field. A record whose field is missing or not a number is a poison record (failurePolicy.poisonRecords), never counted as zero.',
    }),
    field: Type.Optional(
      Type.String({
        description: 'Dotted path of the numeric field in the JSON record value (a number, or a string holding one). Unset: the whole value read as a number. Not allowed with count.',
        minLength: 1,
        maxLength: 256,
      }),
    ),
  },
  {
    description: 'One aggregate computed per group key.',
    ...celRules({ rule: "!(self.function == 'count' && has(self.field))", message: 'count takes no field', fieldPath: '.field' }),
  },
);


function Duration(description: string) {
  return Type.String({ description, maxLength: 32, pattern: patterns.duration });
}

/** CEL: the duration at `path` under self is positive (a rule the pattern alone cannot say). */
const positiveDuration = (path: string): string => `!self.${path}.matches('${patterns.duration}') || duration(self.${path}) > duration('0s')`;

const Window = Type.Object(
  {
    type: StringEnum(windowTypes, {
      description:
        'tumbling: consecutive windows of size, aligned to the epoch (00:00:00, 00:01:00, …). hopping: windows of size starting every advance, so a record counts in size / advance windows. Session windows are not offered yet.',
    }),
    size: Duration('How long a window lasts, as a duration (1m, 5m, 1h). A window is [start, start + size) in event time.'),
    advance: Type.Optional(Duration(`hopping only, required there: how far apart windows start, at most size, and at least size / ${maxWindowsPerRecord}.`)),
    eventTime: withDefault(
      Type.Object(
        {
          field: Type.Optional(
            Type.String({
              description:
                'Dotted path of a field in the JSON record value holding the event time: epoch milliseconds (a JSON integer) or an RFC 3339 date-time (a string with a zone). Unset: the Kafka record timestamp. A record without a usable time is a poison record (failurePolicy.poisonRecords).',
              minLength: 1,
              maxLength: 256,
            }),
          ),
        },
        { description: 'When a record happened, which decides its windows.' },
      ),
      {},
    ),
    allowedLateness: withDefault(
      Duration('How far behind the greatest event time seen a record may be and still count: the watermark is that time minus allowedLateness, and a window closes once the watermark passes its end.'),
      '0s',
    ),
    emit: withDefault(
      StringEnum(windowEmitModes, {
        description: 'update: every batch writes the windows whose aggregates changed. final: a window is written once, when the watermark passes its end, and its state is then dropped.',
      }),
      'update',
    ),
    lateRecords: withDefault(
      StringEnum(lateRecordPolicies, {
        description:
          'A record whose window the watermark closed before it arrived. drop: it is left out of that window, counted (streamkeeper_executor_late_records_total) and logged with its event-time range. deadLetter: it is written to failurePolicy.deadLetterTopic. It still counts in its windows that are open.',
      }),
      'drop',
    ),
    idleTimeout: withDefault(
      Duration('When no source partition received a record for this long, the watermark moves on with the wall clock, so final windows close while the stream is idle. 0s: never.'),
      '1m',
    ),
  },
  {
    description: 'Aggregates per event-time window instead of running totals: each output key is the group key and the window, as key@start/end in RFC 3339.',
    ...celRules(
      { rule: positiveDuration('size'), message: 'size must be a positive duration', fieldPath: '.size' },
      { rule: "has(self.advance) == (self.type == 'hopping')", message: 'advance is required with type hopping, and not allowed otherwise', fieldPath: '.advance' },
      {
        rule: `!has(self.advance) || !self.advance.matches('${patterns.duration}') || !self.size.matches('${patterns.duration}') || (duration(self.advance) > duration('0s') && duration(self.advance) <= duration(self.size))`,
        message: 'advance must be positive and at most size',
        fieldPath: '.advance',
      },
    ),
  },
);

const Aggregation = Type.Object(
  {
    groupBy: withDefault(
      Type.Object(
        {
          field: Type.Optional(
            Type.String({ description: 'Dotted path of a field in the JSON record value whose value (as text) is the group key. Unset: the record key.', minLength: 1, maxLength: 256 }),
          ),
        },
        { description: 'What records are grouped by: the record key, or a field of the JSON value. A record without it is a poison record.' },
      ),
      {},
    ),
    aggregates: Type.Optional(
      Type.Array(Aggregate, {
        description: 'Aggregates computed per group key; the output value is a JSON object with one property per aggregate. Exactly one of aggregates or module.',
        minItems: 1,
        maxItems: schemaLimits.aggregates,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
      }),
    ),
    module: Type.Optional(
      Type.String({
        description: 'Absolute path, inside the image, of an ES module exporting a keyed aggregator (initial, add, merge, result; optionally key). Exactly one of aggregates or module.',
        maxLength: 1024,
        pattern: patterns.modulePath,
      }),
    ),
    statePartitions: withDefault(
      Type.Integer({
        description:
          'Number of state partitions: each group key\'s running state lives in exactly one, chosen by key hash. Sets the partition count of the job\'s repartition and changelog topics. Fixed when the job is created.',
        format: 'int32',
        minimum: 1,
        maximum: 1024,
      }),
      defaultStatePartitions,
    ),
    stateMemory: withDefault(
      Quantity({
        description:
          'Most memory the aggregation state cached in one executor may take (e.g. 256Mi). A state partition whose state alone needs more fails its task with SK_STATE_LIMIT naming this field.',
      }),
      defaultStateMemory,
    ),
    standbyReplicas: withDefault(
      Type.Integer({
        description:
          'Warm standby copies of each state partition: that many executors besides the one running the partition keep its state current by reading its changelog, and take over its tasks when that executor dies, restoring only the last records instead of the whole state. Each copy reads the changelog again (Kafka traffic: one more read of the changelog\'s write rate) and counts in its executor\'s stateMemory. 0: no standby; a dead executor\'s partitions are restored in full from the changelog. With fewer executors than standbyReplicas + 1, each partition has as many copies as other executors.',
        format: 'int32',
        minimum: 0,
        maximum: 3,
      }),
      defaultStandbyReplicas,
    ),
    window: Type.Optional(Window),
  },
  {
    description:
      'A keyed aggregation after the processor: its output records are grouped by key across all source partitions, and one record per changed key per batch goes to the sink with the running aggregates. Exactly once with delivery exactlyOnce.',
    ...celRules(
      { rule: 'has(self.aggregates) != has(self.module)', message: 'set exactly one of aggregates or module' },
      {
        rule: 'self.statePartitions == oldSelf.statePartitions',
        message:
          'statePartitions is fixed when the job is created: every key\'s state lives in the state partition its hash selects, so another count would separate keys from their state; create a new job to change it',
        fieldPath: '.statePartitions',
      },
    ),
  },
);

const ResourceList = (description: string) =>
  Type.Object(
    {
      cpu: Type.Optional(Quantity({ description: 'CPU, as a Kubernetes quantity (e.g. 500m, 2).' })),
      memory: Type.Optional(Quantity({ description: 'Memory, as a Kubernetes quantity (e.g. 512Mi, 2Gi).' })),
    },
    { description },
  );

const Resources = Type.Object(
  {
    requests: Type.Optional(ResourceList('Resources the scheduler reserves for the container.')),
    limits: Type.Optional(ResourceList('Most resources the container may use.')),
  },
  { description: 'CPU and memory of the container, as in a Pod\'s resources.' },
);

const EnvVar = Type.Object(
  {
    name: Type.String({ description: 'Name of the environment variable.', minLength: 1, maxLength: 256, pattern: patterns.envName }),
    value: Type.Optional(Type.String({ description: 'Literal value.', maxLength: 32768 })),
    valueFrom: Type.Optional(
      FreeFormObject({ description: 'Source of the value, as in a Pod\'s env[].valueFrom (secretKeyRef, configMapKeyRef, fieldRef, ...).' }),
    ),
  },
  {
    description: 'An environment variable, as in a Pod\'s env.',
    ...celRules(
      { rule: '!(has(self.value) && has(self.valueFrom))', message: 'set at most one of value or valueFrom' },
      {
        rule: `!self.name.startsWith('${reservedEnvPrefix}')`,
        message: `names starting with ${reservedEnvPrefix} are set by the operator`,
        fieldPath: '.name',
      },
    ),
  },
);

const PodTemplateOverrides = (component: string) =>
  Type.Object(
    {
      labels: Type.Optional(
        StringMap({
          description: `Labels added to the ${component} pod. The app.kubernetes.io labels the operator sets cannot be overridden.`,
          maxProperties: schemaLimits.labels,
          valueMaxLength: 63,
          ...celRules({
            rule: `self.all(k, !(k in ${celStringList(reservedLabelKeys)}))`,
            message: `must not set the labels the operator owns: ${reservedLabelKeys.join(', ')}`,
          }),
        }),
      ),
      annotations: Type.Optional(
        StringMap({
          description: `Annotations added to the ${component} pod.`,
          maxProperties: schemaLimits.annotations,
          valueMaxLength: 4096,
        }),
      ),
      nodeSelector: Type.Optional(
        StringMap({
          description: `Node labels the ${component} pod's node must have.`,
          maxProperties: schemaLimits.nodeSelector,
          valueMaxLength: 63,
        }),
      ),
      tolerations: Type.Optional(
        Type.Array(FreeFormObject({ description: 'A toleration, as in a Pod\'s tolerations.' }), {
          description: `Tolerations of the ${component} pod.`,
          maxItems: schemaLimits.tolerations,
        }),
      ),
      affinity: Type.Optional(FreeFormObject({ description: `Affinity of the ${component} pod, as in a Pod's affinity.` })),
      priorityClassName: Type.Optional(
        Type.String({
          description: `PriorityClass of the ${component} pod.`,
          maxLength: 253,
          pattern: patterns.dnsSubdomain,
        }),
      ),
      serviceAccountName: Type.Optional(
        Type.String({
          description: `ServiceAccount the ${component} pod runs as. Unset: the namespace's default.`,
          maxLength: 253,
          pattern: patterns.dnsSubdomain,
        }),
      ),
      env: Type.Optional(
        Type.Array(EnvVar, {
          description: `Environment variables added to the ${component} container.`,
          maxItems: schemaLimits.env,
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['name'],
        }),
      ),
      imagePullSecrets: Type.Optional(
        Type.Array(
          Type.Object(
            { name: SecretName('Name of a docker-registry Secret in the job\'s namespace.') },
            { description: 'A Secret used to pull the image.' },
          ),
          {
            description: `Secrets used to pull the image of the ${component} pod.`,
            maxItems: schemaLimits.imagePullSecrets,
            'x-kubernetes-list-type': 'map',
            'x-kubernetes-list-map-keys': ['name'],
          },
        ),
      ),
    },
    { description: `Overrides applied to the ${component} pod the operator creates (a subset of a Pod template).` },
  );

const Driver = Type.Object(
  {
    standby: withDefault(
      Type.Boolean({
        description:
          'Run a second driver pod as a warm standby: started, connected to ZooKeeper and Kafka, and waiting for the active driver\'s registration to go, so that a failed driver is taken over within about a second instead of after a new pod starts. Costs one more pod (the driver\'s resources) and one more ZooKeeper session.',
      }),
      false,
    ),
    resources: Type.Optional(Resources),
    podTemplate: Type.Optional(PodTemplateOverrides('driver')),
  },
  { description: 'The driver pod, which plans and commits batches.' },
);

const Executors = Type.Object(
  {
    replicas: withDefault(
      Type.Integer({ description: 'Number of executor pods. Scalable with kubectl scale.', format: 'int32', minimum: 0, maximum: 256 }),
      2,
    ),
    resources: Type.Optional(Resources),
    podTemplate: Type.Optional(PodTemplateOverrides('executor')),
    maxTaskAttempts: withDefault(
      Type.Integer({
        description: 'Attempts a task gets (the first run included) before its batch fails and failurePolicy.onTaskExhausted applies.',
        format: 'int32',
        minimum: 1,
        maximum: 100,
      }),
      4,
    ),
    terminationGracePeriodSeconds: withDefault(
      Type.Integer({
        description: 'Seconds an executor has to finish or hand back its tasks after it is asked to stop.',
        format: 'int64',
        minimum: 0,
        maximum: 3600,
      }),
      30,
    ),
  },
  { description: 'The executor pods, which process tasks.' },
);

const FailurePolicy = Type.Object(
  {
    onTaskExhausted: withDefault(
      StringEnum(taskExhaustedPolicies, {
        description:
          'When a task has used maxTaskAttempts. fail: the job becomes Failed and stops. degrade: the batch is recorded as failed, the job becomes Degraded and goes on with the next batch.',
      }),
      'fail',
    ),
    poisonRecords: withDefault(
      StringEnum(poisonRecordPolicies, {
        description:
          'When the processor throws on a record. fail: the task fails (and is retried). skip: the record is dropped and counted. deadLetter: the record is written to deadLetterTopic.',
      }),
      'fail',
    ),
    deadLetterTopic: Type.Optional(
      Topic('Topic, on the sink\'s cluster, that poison records (and late records with aggregation.window.lateRecords deadLetter) are written to. Required when either is deadLetter, and not allowed otherwise.'),
    ),
  },
  {
    description: 'What happens when tasks or records fail.',
    ...celRules({
      rule: "!(has(self.poisonRecords) && self.poisonRecords == 'deadLetter') || has(self.deadLetterTopic)",
      message: 'deadLetterTopic is required when poisonRecords is deadLetter',
      fieldPath: '.deadLetterTopic',
    }),
  },
);

export const StreamingJobSpecSchema = Type.Object(
  {
    image: Type.String({
      description: 'Container image of the driver and executor pods: the streamkeeper image, or one built on it that adds processor modules.',
      minLength: 1,
      maxLength: 1024,
      pattern: patterns.image,
    }),
    imagePullPolicy: withDefault(
      StringEnum(imagePullPolicies, { description: 'When the kubelet pulls the image, as in a Pod\'s containers.' }),
      'IfNotPresent',
    ),
    suspend: withDefault(
      Type.Boolean({ description: 'Stop processing: the driver and executors are removed at a batch boundary; committed offsets are kept.' }),
      false,
    ),
    batchInterval: withDefault(
      Type.String({
        description: `Time between the starts of two batches, as a duration (250ms, 5s, 1m). At least ${minBatchInterval}.`,
        maxLength: 32,
        pattern: patterns.duration,
        ...celRules({
          rule: `!self.matches('${patterns.duration}') || duration(self) >= duration('${minBatchInterval}')`,
          message: `must be at least ${minBatchInterval}`,
        }),
      }),
      '5s',
    ),
    source: Type.Object({ kafka: KafkaSource }, { description: 'Where records come from.' }),
    sink: Type.Object({ kafka: KafkaSink }, { description: 'Where the processor\'s output goes.' }),
    processor: Processor,
    aggregation: Type.Optional(Aggregation),
    driver: withDefault(Driver, {}),
    executors: withDefault(Executors, {}),
    failurePolicy: withDefault(FailurePolicy, {}),
    config: Type.Optional(
      StringMap({
        description:
          'Free-form settings mirrored to ZooKeeper and applied at the next batch boundary without restarting pods. Never secrets: keys that look like credentials are refused.',
        maxProperties: schemaLimits.config,
        valueMaxLength: schemaLimits.configValueLength,
        ...celRules({
          rule: `self.all(k, !k.matches('(?i)(${secretLookingKeyPattern})'))`,
          message: 'must not carry secrets (config is stored in ZooKeeper): keys that look like credentials are refused; use a Secret reference',
        }),
      }),
    ),
  },
  {
    description: 'The desired state of a streaming job.',
    ...celRules(
      {
        rule: whenPresent(['source.kafka.topics', 'sink.kafka.topic'], '!(self.sink.kafka.topic in self.source.kafka.topics)'),
        message: 'the sink topic must not be one of the source topics (the job would read its own output)',
        fieldPath: '.sink.kafka.topic',
      },
      {
        rule: whenPresent(
          ['failurePolicy'],
          "has(self.failurePolicy.deadLetterTopic) == ((has(self.failurePolicy.poisonRecords) && self.failurePolicy.poisonRecords == 'deadLetter') || (has(self.aggregation) && has(self.aggregation.window) && has(self.aggregation.window.lateRecords) && self.aggregation.window.lateRecords == 'deadLetter'))",
        ),
        message: 'failurePolicy.deadLetterTopic is required when poisonRecords or aggregation.window.lateRecords is deadLetter, and not allowed otherwise',
        fieldPath: '.failurePolicy.deadLetterTopic',
      },
      {
        rule: whenPresent(['sink.kafka.delivery'], `!${impliesWordcountTotals('self')} || self.sink.kafka.delivery == 'exactlyOnce'`),
        message: 'the builtin wordcount keeps running totals per word, which needs sink.kafka.delivery exactlyOnce: its running state is only correct when each batch commits once',
        fieldPath: '.sink.kafka.delivery',
      },
      {
        // The builtin wordcount's implied aggregation has state partitions too: adding or removing
        // spec.aggregation on a running job must not move its keys to another partition count.
        rule: whenPresent(['processor'], `${celStatePartitions('oldSelf')} == 0 || ${celStatePartitions('self')} == 0 || ${celStatePartitions('oldSelf')} == ${celStatePartitions('self')}`),
        message: `the state partitions are fixed when the job is created (the builtin wordcount without aggregation has ${defaultStatePartitions}): another count would separate keys from their state; keep aggregation.statePartitions as it was, or create a new job`,
        fieldPath: '.aggregation',
      },
      {
        rule: whenPresent(['aggregation', 'sink.kafka.delivery'], "self.sink.kafka.delivery == 'exactlyOnce'"),
        message: 'an aggregation needs sink.kafka.delivery exactlyOnce: its running state is only correct when each batch commits once',
        fieldPath: '.aggregation',
      },
      {
        rule: whenPresent(
          ['failurePolicy.deadLetterTopic', 'sink.kafka.topic'],
          'self.failurePolicy.deadLetterTopic != self.sink.kafka.topic',
        ),
        message: 'the dead-letter topic must differ from the sink topic',
        fieldPath: '.failurePolicy.deadLetterTopic',
      },
      {
        rule: whenPresent(
          ['failurePolicy.deadLetterTopic', 'source.kafka.topics'],
          '!(self.failurePolicy.deadLetterTopic in self.source.kafka.topics)',
        ),
        message: 'the dead-letter topic must not be one of the source topics (poison records would be read again)',
        fieldPath: '.failurePolicy.deadLetterTopic',
      },
    ),
  },
);

const Condition = Type.Object(
  {
    type: Type.String({ description: 'Type of the condition: Ready, Progressing, ConfigSynced or ExecutorsAvailable.', maxLength: 316, pattern: patterns.conditionType }),
    status: StringEnum(conditionStatuses, { description: 'Whether the condition holds: True, False or Unknown.' }),
    observedGeneration: Type.Optional(
      Type.Integer({ description: 'metadata.generation the condition was set from.', format: 'int64', minimum: 0 }),
    ),
    lastTransitionTime: Type.String({ description: 'When status last changed.', format: 'date-time' }),
    reason: Type.String({
      description: 'Why, in CamelCase, for machines.',
      minLength: 1,
      maxLength: 1024,
      pattern: patterns.conditionReason,
    }),
    message: Type.String({ description: 'Why, for humans.', maxLength: 32768 }),
  },
  { description: 'A condition, shaped as metav1.Condition.' },
);

export const StreamingJobStatusSchema = Type.Object(
  {
    phase: Type.Optional(StringEnum(jobPhases, { description: 'Summary of the job\'s state.' })),
    observedGeneration: Type.Optional(
      Type.Integer({ description: 'metadata.generation this status was computed from.', format: 'int64', minimum: 0 }),
    ),
    conditions: Type.Optional(
      Type.Array(Condition, {
        description: 'Observations of the job\'s state: Ready, Progressing, ConfigSynced, ExecutorsAvailable.',
        maxItems: schemaLimits.conditions,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['type'],
      }),
    ),
    replicas: Type.Optional(
      Type.Integer({ description: 'Ready executors; the scale subresource reports it.', format: 'int32', minimum: 0 }),
    ),
    selector: Type.Optional(
      Type.String({ description: 'Label selector of the executor pods, for the scale subresource.', maxLength: 1024 }),
    ),
    executors: Type.Optional(
      Type.Object(
        {
          desired: Type.Integer({ description: 'Executors the spec asks for (0 while suspended).', format: 'int32', minimum: 0 }),
          ready: Type.Integer({ description: 'Executors registered in ZooKeeper and ready for tasks.', format: 'int32', minimum: 0 }),
          draining: Type.Integer({ description: 'Executors handing back their tasks before they stop.', format: 'int32', minimum: 0 }),
          summary: Type.String({ description: 'ready/desired, as shown by kubectl get (e.g. 2/3).', maxLength: 32 }),
        },
        { description: 'Executor counts.' },
      ),
    ),
    lastCommittedBatch: Type.Optional(
      Type.Object(
        {
          id: Type.Integer({ description: 'Sequence number of the batch.', format: 'int64', minimum: 0 }),
          committedAt: Type.String({ description: 'When the batch was committed.', format: 'date-time' }),
        },
        { description: 'The most recent batch whose output and offsets are committed.' },
      ),
    ),
    totalLag: Type.Optional(
      Type.Integer({
        description: 'Records in the source topics not yet committed by the job, summed over partitions.',
        format: 'int64',
        minimum: 0,
      }),
    ),
    watermark: Type.Optional(
      Type.String({
        description: 'A windowed aggregation\'s watermark as of the last committed batch: the greatest event time seen minus allowedLateness. Windows ending at or before it are closed.',
        format: 'date-time',
      }),
    ),
    state: Type.Optional(
      Type.Object(
        {
          partitions: Type.Integer({
            description: 'State partitions the job runs with, fixed when it was created: spec.aggregation.statePartitions, or 8 for the builtin wordcount without spec.aggregation.',
            format: 'int32',
            minimum: 1,
          }),
          keys: Type.Optional(
            Type.Integer({ description: 'Keys in the state, summed over the state partitions, each as of its last committed batch.', format: 'int64', minimum: 0 }),
          ),
          bytes: Type.Optional(
            Type.Integer({ description: 'Estimated memory those keys take in an executor (keys, encoded accumulators, per-entry overhead), in bytes.', format: 'int64', minimum: 0 }),
          ),
          lastRestore: Type.Optional(
            Type.Object(
              {
                partition: Type.Integer({ description: 'The state partition restored.', format: 'int32', minimum: 0 }),
                kind: StringEnum(['full', 'incremental'] as const, { description: 'full: read from the start of the changelog; incremental: only what it gained since the executor\'s cached copy.' }),
                records: Type.Integer({ description: 'Changelog records read.', format: 'int64', minimum: 0 }),
                durationMs: Type.Integer({ description: 'How long reading them took, in milliseconds.', format: 'int64', minimum: 0 }),
                at: Type.String({ description: 'When the batch whose task restored it committed.', format: 'date-time' }),
              },
              { description: 'The slowest restore from the changelog in the latest batch that restored state (a moved task, or an executor\'s first task for a partition).' },
            ),
          ),
        },
        { description: 'A stateful job\'s aggregation state: how it is partitioned, how big it is, and what restoring it last cost. Sizes only, never keys or values.' },
      ),
    ),
    configHash: Type.Optional(
      Type.String({ description: 'Hash of the config mirrored to ZooKeeper; changes when config or params change.', maxLength: 128 }),
    ),
    restarts: Type.Optional(
      Type.Integer({ description: 'Times the operator recreated the driver after it failed.', format: 'int32', minimum: 0 }),
    ),
    message: Type.Optional(Type.String({ description: 'Human-readable summary of the state.', maxLength: 1024 })),
  },
  {
    description: 'The observed state of a streaming job, written by the operator.',
    // The API server fills this in on every read of a job the operator has not written yet, so
    // a new job reads "generation 1, observed 0": kstatus (Flux) and Argo CD see it as in
    // progress instead of a status-less resource they would take as current.
    default: { observedGeneration: 0 },
  },
);

export const StreamingJobSchema = Type.Object(
  {
    apiVersion: Type.Optional(Type.String({ description: 'APIVersion of the object: streamkeeper.io/v1alpha1.' })),
    kind: Type.Optional(Type.String({ description: 'Kind of the object: StreamingJob.' })),
    metadata: Type.Optional(ObjectMetaSchema()),
    spec: StreamingJobSpecSchema,
    status: Type.Optional(StreamingJobStatusSchema),
  },
  { description: 'A micro-batch streaming job from Kafka to Kafka, coordinated through ZooKeeper.' },
);
