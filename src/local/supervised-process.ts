/**
 * A local server process (ZooKeeper, Kafka, etcd, kube-apiserver, …) that launchers start, wait
 * on and stop. Each runs in its own process group with output in a log file, and is recorded in
 * the run directory so that a later run can reap it if its owner died without stopping it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StreamkeeperError } from '../errors/index.js';
import { runDir } from './paths.js';

export interface StartOptions {
  /** Short name used in messages and in the run directory, e.g. `zookeeper`. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly logFile: string;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Keep running after this Node process exits (used by `streamkeeper local up`). */
  readonly detached?: boolean;
  /** Start the log file afresh instead of appending to it. */
  readonly truncateLog?: boolean;
}

/** How a process ended: its exit code, or the signal that ended it. */
export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** The exit code a shell (and the kubelet) reports: the code, or 128 + the signal number. */
export function shellExitCode(status: ExitStatus): number {
  if (status.code !== null) return status.code;
  const number = status.signal === null ? undefined : osConstants.signals[status.signal];
  return 128 + (number ?? 0);
}

interface RunRecord {
  readonly name: string;
  readonly pid: number;
  /** The process that started it; when that is gone and the record is not, the server leaked. */
  readonly ownerPid: number;
  readonly persistent: boolean;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

/**
 * An exited process nobody has reaped yet still answers signal 0. Detached processes outlive the
 * command that started them and are reaped by init, which some containers' init never does.
 */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2) === 'Z';
  } catch {
    return false; // no /proc, or the process is gone
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** The last lines of a log file, for error messages that say why a server did not come up. */
export function logTail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export class SupervisedProcess {
  private exitCode: number | null = null;
  private exited = false;
  private status: ExitStatus | undefined;
  private readonly exitPromise: Promise<void>;

  private constructor(
    readonly name: string,
    readonly logFile: string,
    private readonly child: ChildProcess,
    private readonly recordFile: string,
  ) {
    this.exitPromise = new Promise((resolveExit) => {
      child.once('exit', (code, signal) => {
        this.exited = true;
        this.status = { code, signal };
        this.exitCode = code ?? (signal === null ? null : shellExitCode({ code, signal }));
        rmSync(this.recordFile, { force: true });
        resolveExit();
      });
    });
  }

  static start(options: StartOptions): SupervisedProcess {
    const fd = openSync(options.logFile, options.truncateLog === true ? 'w' : 'a');
    let child: ChildProcess;
    let spawnError: Error | undefined;
    try {
      child = spawn(options.command, [...options.args], {
        cwd: options.cwd,
        env: options.env ?? process.env,
        stdio: ['ignore', fd, fd],
        detached: true, // its own process group, so stop() reaches the JVM's children too
      });
      // Without a listener a failed spawn (ENOENT, EACCES) would crash this process.
      child.once('error', (err) => (spawnError = err));
    } finally {
      closeSync(fd);
    }
    if (child.pid === undefined) {
      throw new StreamkeeperError('SK_SERVER_START_FAILED', `${options.name}: could not start ${options.command}${spawnError === undefined ? '' : `: ${spawnError.message}`}`);
    }
    if (options.detached === true) child.unref();
    const dir = runDir();
    mkdirSync(dir, { recursive: true });
    const recordFile = join(dir, `${child.pid}.json`);
    const record: RunRecord = { name: options.name, pid: child.pid, ownerPid: process.pid, persistent: options.detached === true };
    writeFileSync(recordFile, JSON.stringify(record));
    return new SupervisedProcess(options.name, options.logFile, child, recordFile);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return !this.exited;
  }

  /** How it ended; undefined while it runs. */
  get exitStatus(): ExitStatus | undefined {
    return this.status;
  }

  /** Resolves when the process has exited, with how it ended. */
  async whenExited(): Promise<ExitStatus> {
    await this.exitPromise;
    return this.status ?? { code: null, signal: null };
  }

  /** Sends a signal to the process group (a no-op once it has exited). */
  signal(signal: NodeJS.Signals): void {
    if (!this.exited) killGroup(this.pid, signal);
  }

  /** Polls `ready` until it resolves true; fails early, with the log's tail, if the process exits. */
  async waitUntilReady(ready: () => Promise<boolean>, timeoutMs: number, what = 'ready'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.exited) {
        throw new StreamkeeperError('SK_SERVER_START_FAILED', `${this.name} exited (code ${String(this.exitCode)}) before it was ${what}; log ${this.logFile}:\n${logTail(this.logFile)}`);
      }
      if (await ready().catch(() => false)) return;
      if (Date.now() > deadline) {
        throw new StreamkeeperError('SK_SERVER_START_FAILED', `${this.name} was not ${what} within ${timeoutMs} ms; log ${this.logFile}:\n${logTail(this.logFile)}`);
      }
      await sleep(100);
    }
  }

  /** SIGTERM to the process group, SIGKILL after the grace period. Safe to call twice. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.exited) {
      killGroup(this.pid, 'SIGTERM');
      const timer = setTimeout(() => {
        killGroup(this.pid, 'SIGKILL');
      }, graceMs);
      await this.exitPromise;
      clearTimeout(timer);
    }
    killGroup(this.pid, 'SIGKILL'); // anything the server forked and left behind
    rmSync(this.recordFile, { force: true });
  }

  /** Immediate SIGKILL, as a crash would. */
  async kill(): Promise<void> {
    killGroup(this.pid, 'SIGKILL');
    await this.exitPromise;
    rmSync(this.recordFile, { force: true });
  }
}

/**
 * Kills servers left behind by runs whose owner process died (a crashed or killed test run).
 * Servers started for `streamkeeper local up` are persistent and left alone.
 */
export function reapOrphans(): string[] {
  const dir = runDir();
  const reaped: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return reaped;
  }
  for (const entry of entries) {
    if (!entry.endsWith('.json')) continue;
    const file = join(dir, entry);
    try {
      const record = JSON.parse(readFileSync(file, 'utf8')) as RunRecord;
      if (!isAlive(record.pid)) {
        rmSync(file, { force: true });
      } else if (!record.persistent && !isAlive(record.ownerPid)) {
        killGroup(record.pid, 'SIGKILL');
        rmSync(file, { force: true });
        reaped.push(`${record.name} (pid ${record.pid})`);
      }
    } catch {
      rmSync(file, { force: true });
    }
  }
  return reaped;
}
