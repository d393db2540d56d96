/**
 * The job's spec-derived configuration, mirrored into the `config` znode so the driver and the
 * executors pick up changes at the next batch boundary without a restart. The operator writes
 * (only when the content changed); pods watch. Secret values never appear here: credentials are
 * referenced by Secret name only.
 */
import { createHash } from 'node:crypto';
import { secretLookingKeyPattern } from '../api/v1alpha1/constants.js';
import type { deliveryGuarantees, poisonRecordPolicies, taskExhaustedPolicies } from '../api/v1alpha1/schema.js';
import { StreamkeeperError, isStreamkeeperError } from '../errors/index.js';
import { silentLogger, type Logger } from '../logging/logger.js';
import type { CoordinationLayout, JobRef } from './layout.js';
import { jobKey } from './layout.js';
import { noopObserver, type CoordinationObserver } from './observer.js';
import type { Subscription, ZooKeeperSession } from './session.js';

/** A reference to a Kubernetes Secret: its name, never its content. */
export interface SecretNameRef {
  readonly name: string;
}

// The policies as the schema declares them: the mirrored config carries the spec's values.
export type DeliveryGuarantee = (typeof deliveryGuarantees)[number];
export type TaskExhaustionPolicy = (typeof taskExhaustedPolicies)[number];
export type PoisonRecordPolicy = (typeof poisonRecordPolicies)[number];

/** What the driver and executors need from the spec, and nothing secret. */
export interface JobConfigContent {
  /** The spec's free-form `config` map. */
  readonly config: Readonly<Record<string, unknown>>;
  readonly processor: {
    /** A built-in processor's name, or a module path. */
    readonly name: string;
    readonly params: Readonly<Record<string, unknown>>;
  };
  /** As written in the spec, e.g. `5s`. */
  readonly batchInterval: string;
  readonly maxRecordsPerPartition: number;
  /** Partition groups (tasks per batch, at most). Absent (a document from before groups): one task per partition. */
  readonly partitionGroups?: number;
  readonly maxTaskAttempts: number;
  readonly source: {
    readonly bootstrapServers: readonly string[];
    readonly topics: readonly string[];
    readonly startingOffsets?: string;
    /** The SASL credentials' Secret (spec.source.kafka.sasl.secretRef). */
    readonly secretRef?: SecretNameRef;
    /** The TLS CA bundle's Secret (spec.source.kafka.tls.caSecretRef): named in messages, never read. */
    readonly caSecretRef?: SecretNameRef;
  };
  readonly sink: {
    readonly bootstrapServers: readonly string[];
    readonly topic: string;
    readonly delivery: DeliveryGuarantee;
    readonly secretRef?: SecretNameRef;
    readonly caSecretRef?: SecretNameRef;
  };
  readonly failurePolicy: {
    readonly onTaskExhausted: TaskExhaustionPolicy;
    readonly poisonRecords: PoisonRecordPolicy;
    readonly deadLetterTopic?: string;
  };
  /** Absent: a stateless job. */
  readonly aggregation?: AggregationConfig;
}

/** `spec.aggregation` as the runtime reads it. */
export interface AggregationConfig {
  /** Dotted path of the group-by field; absent: the record key. */
  readonly groupBy?: string;
  readonly aggregates?: readonly { readonly name: string; readonly function: string; readonly field?: string }[];
  /** A keyed aggregator module's absolute path (instead of aggregates). */
  readonly module?: string;
  readonly statePartitions: number;
  readonly stateMemoryBytes: number;
  /**
   * Executors besides the one running a state partition that keep a warm copy of its state and
   * take its tasks over when it dies. Absent: none (a config mirrored before the field existed).
   */
  readonly standbyReplicas?: number;
  /** Absent: running totals; present: aggregates per event-time window. */
  readonly window?: WindowConfig;
}

/** `spec.aggregation.window` as the runtime reads it: durations in milliseconds. */
export interface WindowConfig {
  readonly type: 'tumbling' | 'hopping';
  readonly sizeMs: number;
  /** The size for tumbling windows. */
  readonly advanceMs: number;
  /** Dotted path of the event-time field; absent: the record timestamp. */
  readonly eventTimeField?: string;
  readonly allowedLatenessMs: number;
  readonly emit: 'update' | 'final';
  readonly lateRecords: 'drop' | 'deadLetter';
  /** 0: the watermark never moves without records. */
  readonly idleTimeoutMs: number;
}

/** The znode's content. */
export interface JobConfigDocument {
  readonly schema: 1;
  /** The job's `metadata.generation` when this content was first written. */
  readonly generation: number;
  /** `sha256:<hex>` of the canonical JSON of `content`. */
  readonly hash: string;
  readonly content: JobConfigContent;
}

/** Below ZooKeeper's 1 MiB default (`jute.maxbuffer`), with room for the request around it. */
export const maxConfigBytes = 900 * 1024;

/** JSON with object keys sorted at every level, so equal content always hashes the same. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(v).sort()) sorted[key] = (v as Record<string, unknown>)[key];
    return sorted;
  });
}

export function configHash(content: JobConfigContent): string {
  return `sha256:${createHash('sha256').update(canonicalJson(content)).digest('hex')}`;
}

const secretLooking = new RegExp(secretLookingKeyPattern, 'i');

/**
 * Serialises the document, refusing what must not or cannot be mirrored: a `config` key that
 * looks like it carries a secret, or a document over `maxConfigBytes`.
 */
export function encodeConfigDocument(generation: number, content: JobConfigContent): { readonly data: Buffer; readonly hash: string } {
  for (const key of Object.keys(content.config)) {
    if (secretLooking.test(key)) {
      throw new StreamkeeperError('SK_INVALID_SPEC', `"${key}" looks like a secret; config is mirrored to ZooKeeper, so pass credentials through a Secret reference instead`, { field: `spec.config.${key}` });
    }
  }
  const hash = configHash(content);
  const document: JobConfigDocument = { schema: 1, generation, hash, content };
  const data = Buffer.from(canonicalJson(document));
  if (data.length > maxConfigBytes) {
    throw new StreamkeeperError('SK_CONFIG_TOO_LARGE', `the job configuration is ${data.length} bytes as JSON; a ZooKeeper znode holds at most ${maxConfigBytes} bytes here. Move large values (e.g. reference data) out of spec.config`, {
      field: 'spec.config',
    });
  }
  return { data, hash };
}

/** The document in a `config` znode; null while nothing has been published (empty node). */
export function decodeConfigDocument(data: Buffer, path = 'config'): JobConfigDocument | null {
  if (data.length === 0) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(data.toString('utf8'));
  } catch (err) {
    throw new StreamkeeperError('SK_ZK_ERROR', `${path} does not hold JSON: ${(err as Error).message}`, { field: path, cause: err });
  }
  const doc = parsed as Partial<JobConfigDocument> | null;
  if (doc?.schema !== 1 || typeof doc.hash !== 'string' || typeof doc.generation !== 'number' || typeof doc.content !== 'object') {
    throw new StreamkeeperError('SK_ZK_ERROR', `${path} does not hold a schema 1 job configuration document`, { field: path });
  }
  return doc as JobConfigDocument;
}

export type ConfigWriteDecision = { readonly write: false } | { readonly write: true; readonly expectedVersion: number };

/** Write only when the mirrored content differs; the write is conditional on what was read. */
export function decideConfigWrite(mirrored: { readonly hash: string | undefined; readonly version: number }, desiredHash: string): ConfigWriteDecision {
  return mirrored.hash === desiredHash ? { write: false } : { write: true, expectedVersion: mirrored.version };
}

export interface ConfigPublishResult {
  readonly outcome: 'written' | 'unchanged';
  readonly hash: string;
  /** The znode's data version after this call. */
  readonly version: number;
}

const maxPublishAttempts = 8;

export class ConfigMirror {
  private readonly observer: CoordinationObserver;
  private readonly logger: Logger;

  constructor(
    private readonly session: ZooKeeperSession,
    private readonly layout: CoordinationLayout,
    options: { readonly observer?: CoordinationObserver; readonly logger?: Logger } = {},
  ) {
    this.observer = options.observer ?? noopObserver;
    this.logger = options.logger ?? silentLogger();
  }

  /**
   * Writes the job's configuration unless the znode already holds the same content. The job's
   * subtree must exist (`ensureJobSubtree`). Throws SK_CONFIG_TOO_LARGE (invalid spec) when the
   * document cannot fit in a znode.
   */
  async publish(job: JobRef, generation: number, content: JobConfigContent): Promise<ConfigPublishResult> {
    let encoded: { data: Buffer; hash: string };
    try {
      encoded = encodeConfigDocument(generation, content);
    } catch (err) {
      if (isStreamkeeperError(err, 'SK_CONFIG_TOO_LARGE')) this.observer.configMirror?.('too-large');
      throw err;
    }
    const path = this.layout.config(job);
    for (let attempt = 0; attempt < maxPublishAttempts; attempt += 1) {
      const current = await this.session.get(path);
      const decision = decideConfigWrite({ hash: mirroredHash(current.data, path), version: current.stat.version }, encoded.hash);
      if (!decision.write) {
        this.observer.configMirror?.('unchanged');
        return { outcome: 'unchanged', hash: encoded.hash, version: current.stat.version };
      }
      try {
        const stat = await this.session.set(path, encoded.data, decision.expectedVersion);
        this.observer.configMirror?.('written');
        this.logger.info({ job: jobKey(job), generation, hash: encoded.hash, bytes: encoded.data.length }, 'job configuration mirrored to ZooKeeper');
        return { outcome: 'written', hash: encoded.hash, version: stat.version };
      } catch (err) {
        // Another operator replica wrote in between: read again and decide again.
        if (!isStreamkeeperError(err, 'SK_ZK_BAD_VERSION')) throw err;
      }
    }
    throw new StreamkeeperError('SK_ZK_BAD_VERSION', `${path} kept changing while the configuration was being written`, { field: path });
  }

  async read(job: JobRef): Promise<JobConfigDocument | null> {
    const path = this.layout.config(job);
    const node = await this.session.getIfExists(path);
    return node === null ? null : decodeConfigDocument(node.data, path);
  }
}

function mirroredHash(data: Buffer, path: string): string | undefined {
  try {
    return decodeConfigDocument(data, path)?.hash;
  } catch {
    return undefined; // unreadable content is simply replaced
  }
}

/**
 * Delivers the job's configuration (null until the operator has published one) and every later
 * change of content, across connection loss and session expiry. Used by the driver and executors.
 */
export function watchConfig(
  session: ZooKeeperSession,
  layout: CoordinationLayout,
  job: JobRef,
  listener: (config: JobConfigDocument | null) => void,
  onError?: (err: unknown) => void,
): Subscription {
  const path = layout.config(job);
  let lastHash: string | null | undefined;
  return session.watchData(
    path,
    (node) => {
      let doc: JobConfigDocument | null;
      try {
        doc = node === null ? null : decodeConfigDocument(node.data, path);
      } catch (err) {
        if (onError === undefined) session.logger.error({ path, err: (err as Error).message }, 'unreadable job configuration');
        else onError(err);
        return;
      }
      const hash = doc?.hash ?? null;
      if (hash === lastHash) return;
      lastHash = hash;
      listener(doc);
    },
    onError,
  );
}
