/**
 * A server that runs as one supervised process over a data directory (ZooKeeper, Kafka): what
 * every such server does alike — start and wait until it serves, stop, kill, restart on the same
 * ports and data, destroy — in one place. A server says only how it launches, when it serves and
 * what it prepares before its first start.
 */
import { rmSync } from 'node:fs';
import { SupervisedProcess, type StartOptions } from './supervised-process.js';

/** How long a server may take to serve after its process starts. */
const servingTimeoutMs = 120_000;

export abstract class ServerProcess {
  private process: SupervisedProcess | undefined;

  protected constructor(
    readonly baseDir: string,
    private readonly ownsBaseDir: boolean,
    /** How long `stop()` waits after SIGTERM before it SIGKILLs. */
    private readonly stopGraceMs = 10_000,
  ) {}

  /** The process to start; writes whatever configuration the start reads. */
  protected abstract launch(): StartOptions;

  /** Whether the server serves its clients now. */
  protected abstract serving(): Promise<boolean>;

  /** What the first start needs besides the launch (keys, formatted storage); nothing by default. */
  protected async prepare(): Promise<void> {
    // nothing to prepare unless a server says otherwise
  }

  /** Prepares and starts the server; one that does not come up is destroyed, never left half-started. */
  protected async firstStart(): Promise<void> {
    try {
      await this.prepare();
      await this.startProcess();
    } catch (err) {
      await this.destroy();
      throw err;
    }
  }

  private async startProcess(): Promise<void> {
    this.process = SupervisedProcess.start(this.launch());
    await this.process.waitUntilReady(() => this.serving(), servingTimeoutMs, 'serving clients');
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  /** Whether the server process is running (false between `stop()`/`kill()` and `restart()`). */
  get running(): boolean {
    return this.process?.running ?? false;
  }

  /** Stops the server (SIGTERM: its own orderly shutdown), keeping its data. */
  async stop(): Promise<void> {
    await this.process?.stop(this.stopGraceMs);
    this.process = undefined;
  }

  /** SIGKILLs the server, as a crash or a lost machine would; its data stays. */
  async kill(): Promise<void> {
    await this.process?.kill();
    this.process = undefined;
  }

  /**
   * Starts the server again on the same ports and data directory (stopping it first if it runs),
   * so what it stored, and sessions that have not expired meanwhile, are there again. One that
   * does not come back is stopped again, never left half-started.
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
