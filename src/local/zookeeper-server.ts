/**
 * A real ZooKeeper server (standalone) as a local process on loopback, for tests and
 * `streamkeeper local`. It can be stopped and started again on the same port and data directory,
 * which is how tests simulate a ZooKeeper restart.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { javaClasspath, javaCommand, renderConfigTemplate, serverLaunchSpec } from './java-servers.js';
import { SupervisedProcess } from './supervised-process.js';

export interface ZooKeeperServerOptions {
  /** Defaults to a free loopback port. */
  readonly port?: number;
  /** Defaults to a fresh temporary directory, removed by `destroy()`. */
  readonly baseDir?: string;
  readonly detached?: boolean;
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

export class ZooKeeperServer {
  private process: SupervisedProcess | undefined;

  private constructor(
    readonly port: number,
    readonly baseDir: string,
    private readonly ownsBaseDir: boolean,
    private readonly detached: boolean,
  ) {}

  static async start(options: ZooKeeperServerOptions = {}): Promise<ZooKeeperServer> {
    const port = options.port ?? (await freePort());
    const baseDir = options.baseDir ?? mkdtempSync(join(tmpdir(), 'sk-zookeeper-'));
    const server = new ZooKeeperServer(port, baseDir, options.baseDir === undefined, options.detached ?? false);
    try {
      await server.startProcess();
    } catch (err) {
      await server.destroy(); // never leave a half-started server behind
      throw err;
    }
    return server;
  }

  /** `127.0.0.1:<port>` */
  get connectString(): string {
    return `127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  get logFile(): string {
    return join(this.baseDir, 'zookeeper.log');
  }

  private async startProcess(): Promise<void> {
    const dataDir = join(this.baseDir, 'data');
    mkdirSync(dataDir, { recursive: true });
    const config = join(this.baseDir, 'zoo.cfg');
    const spec = serverLaunchSpec('zookeeper');
    writeFileSync(config, renderConfigTemplate(spec.configTemplate, { DATA_DIR: dataDir, CLIENT_PORT: this.port }));
    this.process = SupervisedProcess.start({
      name: 'zookeeper',
      command: javaCommand(),
      args: [...spec.jvmFlags, `-Dzookeeper.log.dir=${this.baseDir}`, '-cp', javaClasspath('zookeeper'), spec.mainClass, config],
      logFile: this.logFile,
      detached: this.detached,
    });
    // `ruok` answers even when the server thread has died; `srvr` reports a mode only when serving.
    await this.process.waitUntilReady(async () => (await fourLetterWord(this.port, 'srvr')).includes('Mode: standalone'), 60_000, 'serving clients');
  }

  /** Whether the server process is running (false between `stop()`/`kill()` and `restart()`). */
  get running(): boolean {
    return this.process?.running ?? false;
  }

  /** Stops the server process, keeping its data, as a crash-free restart would. */
  async stop(): Promise<void> {
    await this.process?.stop();
    this.process = undefined;
  }

  /** SIGKILLs the server, as a crash would; its data stays. */
  async kill(): Promise<void> {
    await this.process?.kill();
    this.process = undefined;
  }

  /**
   * Starts the server again on the same port and data directory (stopping it first if it runs),
   * so sessions that have not expired meanwhile reconnect. One that does not come back is
   * stopped again, never left half-started.
   */
  async restart(): Promise<void> {
    await this.stop();
    try {
      await this.startProcess();
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Stops the server and removes its data, if this instance created the directory. */
  async destroy(): Promise<void> {
    await this.stop();
    if (this.ownsBaseDir) rmSync(this.baseDir, { recursive: true, force: true });
  }
}
