/**
 * A real ZooKeeper server as a local process on loopback, for tests and `streamkeeper local`:
 * standalone, or one member of a replicated ensemble (see zookeeper-ensemble.ts). It can be
 * stopped, killed and started again on the same ports and data directory, which is how tests
 * simulate a ZooKeeper outage or the loss of an ensemble member.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StreamkeeperError } from '../errors/index.js';
import { freePort } from './free-port.js';
import { javaClasspath, javaCommand, renderConfigTemplate, serverLaunchSpec } from './java-servers.js';
import { ServerProcess } from './server-process.js';
import type { StartOptions } from './supervised-process.js';

export interface ZooKeeperServerOptions {
  /** Defaults to a free loopback port. */
  readonly port?: number;
  /** Defaults to a fresh temporary directory, removed by `destroy()`. */
  readonly baseDir?: string;
  readonly detached?: boolean;
  /** Start as this member of a replicated ensemble instead of standalone. */
  readonly member?: EnsembleMembership;
}

/** One server of an ensemble as every member's configuration lists it. */
export interface EnsemblePeer {
  /** Its `myid` (1..255). */
  readonly id: number;
  readonly clientPort: number;
  /** Where followers connect to the leader. */
  readonly quorumPort: number;
  /** Where members vote in leader elections. */
  readonly electionPort: number;
}

export interface EnsembleMembership {
  readonly id: number;
  /** Every member, this one included. */
  readonly peers: readonly EnsemblePeer[];
}

/** What `srvr` says the server is doing: serving alone, in an ensemble, or not serving. */
export type ZooKeeperMode = 'standalone' | 'leader' | 'follower' | 'not serving';

/** The mode a `srvr` reply names. */
export function modeOf(srvrReply: string): ZooKeeperMode {
  const mode = /^Mode: (\w+)/m.exec(srvrReply)?.[1];
  return mode === 'standalone' || mode === 'leader' || mode === 'follower' ? mode : 'not serving';
}

/**
 * The session ids a `cons` reply lists (one connection per line, `sid=0x…`), as lower-case hex
 * without `0x`, the form a znode's `ephemeralOwner` takes.
 */
export function sessionsOf(consReply: string): string[] {
  return [...consReply.matchAll(/[(,]sid=0x([0-9a-f]+)[,)]/gi)].map((match) => BigInt(`0x${match[1] ?? '0'}`).toString(16));
}

/**
 * The lines an ensemble member adds to the standalone configuration (the last occurrence of a key
 * wins). Ticks stay at the template's 500 ms: a follower gives up on a silent leader after
 * syncLimit ticks and the survivors elect a new one.
 */
export function ensembleConfig(membership: EnsembleMembership): string {
  return [
    '',
    '# a member of a replicated ensemble',
    'initLimit=20',
    'syncLimit=4',
    ...membership.peers.map((peer) => `server.${peer.id}=127.0.0.1:${peer.quorumPort}:${peer.electionPort};127.0.0.1:${peer.clientPort}`),
    '',
  ].join('\n');
}

/** Sends a four-letter-word command and returns the reply. */
export async function fourLetterWord(port: number, word: string, host = '127.0.0.1', timeoutMs = 2000): Promise<string> {
  return new Promise((resolveReply, reject) => {
    const socket = connect({ port, host });
    let reply = '';
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(new Error(`no reply to ${word} from ${host}:${port}`));
    });
    socket.on('connect', () => socket.write(word));
    socket.on('data', (chunk) => (reply += chunk.toString()));
    socket.on('end', () => {
      resolveReply(reply);
    });
    socket.on('error', reject);
  });
}

export class ZooKeeperServer extends ServerProcess {
  private constructor(
    readonly port: number,
    baseDir: string,
    ownsBaseDir: boolean,
    private readonly detached: boolean,
    readonly member: EnsembleMembership | undefined,
  ) {
    super(baseDir, ownsBaseDir);
  }

  static async start(options: ZooKeeperServerOptions = {}): Promise<ZooKeeperServer> {
    const port = options.port ?? options.member?.peers.find((peer) => peer.id === options.member?.id)?.clientPort ?? (await freePort());
    const baseDir = options.baseDir ?? mkdtempSync(join(tmpdir(), 'sk-zookeeper-'));
    const server = new ZooKeeperServer(port, baseDir, options.baseDir === undefined, options.detached ?? false, options.member);
    await server.firstStart();
    return server;
  }

  /** `127.0.0.1:<port>` */
  get connectString(): string {
    return `127.0.0.1:${this.port}`;
  }

  get logFile(): string {
    return join(this.baseDir, 'zookeeper.log');
  }

  protected launch(): StartOptions {
    const dataDir = join(this.baseDir, 'data');
    mkdirSync(dataDir, { recursive: true });
    const config = join(this.baseDir, 'zoo.cfg');
    const spec = serverLaunchSpec('zookeeper');
    const standalone = renderConfigTemplate(spec.configTemplate, { DATA_DIR: dataDir, CLIENT_PORT: this.port });
    const member = this.member;
    let mainClass = spec.mainClass;
    if (member !== undefined) {
      if (spec.ensembleMainClass === undefined) throw new StreamkeeperError('SK_SERVER_START_FAILED', 'tools/servers/versions.json names no ensembleMainClass for zookeeper');
      mainClass = spec.ensembleMainClass;
      writeFileSync(join(dataDir, 'myid'), `${member.id}\n`);
    }
    writeFileSync(config, member === undefined ? standalone : `${standalone}${ensembleConfig(member)}`);
    return {
      name: member === undefined ? 'zookeeper' : `zookeeper ${member.id}`,
      command: javaCommand(),
      args: [...spec.jvmFlags, `-Dzookeeper.log.dir=${this.baseDir}`, '-cp', javaClasspath('zookeeper'), mainClass, config],
      logFile: this.logFile,
      detached: this.detached,
    };
  }

  /**
   * `ruok` answers even when the server thread has died; `srvr` reports a mode only when serving
   * (a member serves once it has joined a quorum, so members must start together).
   */
  protected async serving(): Promise<boolean> {
    const serving: readonly ZooKeeperMode[] = this.member === undefined ? ['standalone'] : ['leader', 'follower'];
    return serving.includes(await this.mode());
  }

  /** What the server is doing right now, as `srvr` says (`not serving` when it does not answer). */
  async mode(): Promise<ZooKeeperMode> {
    try {
      return modeOf(await fourLetterWord(this.port, 'srvr'));
    } catch {
      return 'not serving';
    }
  }

  /** The sessions whose clients are connected to this server now (none when it does not answer). */
  async sessions(): Promise<string[]> {
    try {
      return sessionsOf(await fourLetterWord(this.port, 'cons'));
    } catch {
      return [];
    }
  }
}
