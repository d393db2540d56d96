/**
 * A real Apache Kafka broker in KRaft mode (one node acting as broker and controller) as a local
 * process on loopback, for tests and `streamkeeper local`. Configured for transactions on a
 * single node: every internal topic has replication factor 1. It can be stopped (or killed) and
 * started again on the same ports and data directory, which is how tests simulate a broker outage:
 * topics, committed transactions and offsets survive it, as they would a real broker's restart.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createKafkajsClient, type KafkaSaslSettings, type KafkaTlsSettings } from '../runtime/kafka/index.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { StreamkeeperError } from '../errors/index.js';
import { canConnect, freePorts } from './free-port.js';
import { javaClasspath, javaCommand, renderConfigTemplate, serverLaunchSpec, type JavaServer } from './java-servers.js';
import { createServingPki, type ServingPki } from './pki.js';
import { ServerProcess } from './server-process.js';
import type { StartOptions } from './supervised-process.js';

const run = promisify(execFile);

export interface KafkaServerOptions {
  /** `kafka` (3.9, the default) or `kafka4`. */
  readonly build?: Extract<JavaServer, 'kafka' | 'kafka4'>;
  readonly baseDir?: string;
  readonly detached?: boolean;
  /**
   * An address (e.g. a real node's bridge gateway) where a second listener, `PODS`, serves and
   * advertises itself, for clients in pods: they cannot use 127.0.0.1, which the broker advertises
   * on its main listener.
   */
  readonly podListenerAddress?: string;
  /**
   * Adds a `SECURE` listener on loopback as managed Kafka services and Strimzi serve clients:
   * SASL_SSL with SCRAM-SHA-512, a certificate from a CA made for this broker, and one SCRAM
   * user. Brokers and the controller keep talking PLAINTEXT among themselves.
   */
  readonly secureListener?: boolean;
}

/** A listener added beside PLAINTEXT: bound to `address:port` and advertised there. */
export interface ExtraListener {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  /** Kafka's security protocol of the listener; PLAINTEXT when omitted. */
  readonly protocol?: 'PLAINTEXT' | 'SASL_SSL';
}

/** How a client reaches the SASL_SSL listener: everything it needs, credentials included. */
export interface SecureListenerAccess {
  /** `127.0.0.1:<port>` */
  readonly bootstrapServers: string;
  /** The CA that signed the broker's certificate, as a file and as PEM text. */
  readonly caFile: string;
  readonly tls: Required<Pick<KafkaTlsSettings, 'ca'>>;
  readonly sasl: KafkaSaslSettings & { readonly mechanism: 'scram-sha-512' };
}

/** The SCRAM user the SECURE listener knows; its password is random per broker. */
const secureUsername = 'streamkeeper';

/**
 * The settings of the SECURE listener beyond its entry in `listeners`: which SASL mechanism it
 * takes, the JAAS module that checks SCRAM credentials against the cluster metadata (no user in
 * the file), and the PEM keystore with the broker's key and certificate.
 */
export function secureListenerProperties(listener: string, keystore: string): string {
  const prefix = `listener.name.${listener.toLowerCase()}`;
  return [
    `${prefix}.sasl.enabled.mechanisms=SCRAM-SHA-512`,
    `${prefix}.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;`,
    `${prefix}.ssl.keystore.type=PEM`,
    `${prefix}.ssl.keystore.location=${keystore}`,
    '',
  ].join('\n');
}

/**
 * Adds a listener to a rendered server.properties: one more entry in `listeners`,
 * `advertised.listeners` and `listener.security.protocol.map`. Clients get the metadata of the
 * listener they connected to, so each side of the network sees addresses it can reach.
 */
export function withListener(properties: string, listener: ExtraListener): string {
  const endpoint = `${listener.name}://${listener.address}:${listener.port}`;
  const extend: Record<string, string> = { listeners: endpoint, 'advertised.listeners': endpoint, 'listener.security.protocol.map': `${listener.name}:${listener.protocol ?? 'PLAINTEXT'}` };
  const seen = new Set<string>();
  const lines = properties.split('\n').map((line) => {
    const key = line.split('=', 1)[0]?.trim() ?? '';
    const addition = line.trimStart().startsWith('#') ? undefined : extend[key];
    if (addition === undefined) return line;
    seen.add(key);
    return `${line.trimEnd()},${addition}`;
  });
  const missing = Object.keys(extend).filter((key) => !seen.has(key));
  if (missing.length > 0) throw new StreamkeeperError('SK_SERVER_START_FAILED', `server.properties has no ${missing.join(', ')} to add the ${listener.name} listener to`);
  return lines.join('\n');
}

/** True once the broker answers a metadata request (it does only once it is unfenced). */
async function brokerAnswersMetadata(bootstrap: string, secure?: Pick<SecureListenerAccess, 'tls' | 'sasl'>): Promise<boolean> {
  const client = createKafkajsClient({ brokers: [bootstrap], clientId: 'streamkeeper-local-probe', connectionTimeoutMs: 1000, requestTimeoutMs: 2000, ...secure });
  try {
    await client.admin.listTopics();
    return true;
  } catch {
    return false;
  } finally {
    await client.close().catch(() => undefined);
  }
}

/** A random Kafka cluster id: 16 bytes, URL-safe base64 without padding. */
function newClusterId(): string {
  // Kafka's own generator avoids a leading '-', which its tools would read as a flag.
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

interface SecureListener {
  readonly listener: ExtraListener;
  readonly password: string;
}

export class KafkaServer extends ServerProcess {
  private pki: ServingPki | undefined;

  private constructor(
    readonly port: number,
    readonly controllerPort: number,
    baseDir: string,
    ownsBaseDir: boolean,
    readonly build: 'kafka' | 'kafka4',
    private readonly podListener: ExtraListener | undefined,
    private readonly detached: boolean,
    private readonly secureListener: SecureListener | undefined,
  ) {
    // A controlled shutdown moves leadership and closes logs cleanly; give it time.
    super(baseDir, ownsBaseDir, 15_000);
  }

  static async start(options: KafkaServerOptions = {}): Promise<KafkaServer> {
    const [port, controllerPort, podPort, securePort] = await freePorts(4);
    if (port === undefined || controllerPort === undefined || podPort === undefined || securePort === undefined) throw new StreamkeeperError('SK_SERVER_START_FAILED', 'no free ports');
    const baseDir = options.baseDir ?? mkdtempSync(join(tmpdir(), 'sk-kafka-'));
    const podListener = options.podListenerAddress === undefined ? undefined : { name: 'PODS', address: options.podListenerAddress, port: podPort };
    const secureListener: SecureListener | undefined =
      options.secureListener === true ? { listener: { name: 'SECURE', address: '127.0.0.1', port: securePort, protocol: 'SASL_SSL' }, password: randomBytes(18).toString('base64url') } : undefined;
    const server = new KafkaServer(port, controllerPort, baseDir, options.baseDir === undefined, options.build ?? 'kafka', podListener, options.detached ?? false, secureListener);
    await server.firstStart();
    return server;
  }

  /** `127.0.0.1:<port>` */
  get bootstrapServers(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** `<podListenerAddress>:<port>`: the bootstrap servers for clients in pods. */
  get podBootstrapServers(): string {
    if (this.podListener === undefined) throw new Error('this broker was started without podListenerAddress');
    return `${this.podListener.address}:${this.podListener.port}`;
  }

  /** The SASL_SSL listener, when the broker was started with `secureListener`. */
  get secure(): SecureListenerAccess | undefined {
    const secure = this.secureListener;
    if (secure === undefined || this.pki === undefined) return undefined;
    return {
      bootstrapServers: `${secure.listener.address}:${secure.listener.port}`,
      caFile: this.pki.ca.cert,
      tls: { ca: readFileSync(this.pki.ca.cert, 'utf8') },
      sasl: { mechanism: 'scram-sha-512', username: secureUsername, password: secure.password },
    };
  }

  get logFile(): string {
    return join(this.baseDir, 'kafka.log');
  }

  private get configFile(): string {
    return join(this.baseDir, 'server.properties');
  }

  /** The CA and certificate of the secure listener, then the storage (which seeds its SCRAM user). */
  protected override async prepare(): Promise<void> {
    if (this.secureListener !== undefined) this.pki = await createServingPki(join(this.baseDir, 'tls'), 'streamkeeper-local-kafka');
    await this.format();
  }

  private async format(): Promise<void> {
    const spec = serverLaunchSpec(this.build);
    const properties = renderConfigTemplate(spec.configTemplate, { LOG_DIR: join(this.baseDir, 'data'), BROKER_PORT: this.port, CONTROLLER_PORT: this.controllerPort });
    let config = this.podListener === undefined ? properties : withListener(properties, this.podListener);
    const secure = this.secureListener;
    if (secure !== undefined && this.pki !== undefined) config = `${withListener(config, secure.listener)}\n${secureListenerProperties(secure.listener.name, this.pki.keystore)}`;
    writeFileSync(this.configFile, config, { mode: 0o600 });
    // KRaft keeps SCRAM credentials in the cluster metadata; formatting is when they can be seeded.
    const scram = secure === undefined ? [] : ['--add-scram', `SCRAM-SHA-512=[name=${secureUsername},password=${secure.password}]`];
    try {
      await run(javaCommand(), [...spec.toolJvmFlags, '-cp', javaClasspath(this.build), 'kafka.tools.StorageTool', 'format', '-t', newClusterId(), '-c', this.configFile, '--ignore-formatted', ...scram], { timeout: 120_000 });
    } catch (err) {
      throw new StreamkeeperError('SK_SERVER_START_FAILED', `could not format Kafka storage in ${this.baseDir}: ${(err as { stderr?: string }).stderr ?? String(err)}`, { cause: err });
    }
  }

  protected launch(): StartOptions {
    const spec = serverLaunchSpec(this.build);
    return {
      name: 'kafka',
      command: javaCommand(),
      args: [...spec.jvmFlags, `-Dkafka.logs.dir=${this.baseDir}`, '-cp', javaClasspath(this.build), spec.mainClass, this.configFile],
      logFile: this.logFile,
      detached: this.detached,
    };
  }

  protected async serving(): Promise<boolean> {
    const secure = this.secure;
    return (await canConnect(this.port)) && (await brokerAnswersMetadata(this.bootstrapServers)) && (secure === undefined || (await brokerAnswersMetadata(secure.bootstrapServers, secure)));
  }
}
