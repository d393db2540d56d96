/**
 * A replicated ZooKeeper ensemble of real servers on loopback — three by default, as production
 * ZooKeeper runs — for tests that lose a member while jobs run: each member has its own client,
 * quorum and election ports, data directory and myid. Clients get every member in the connect
 * string and move to the survivors when one goes; `leader()` says which member to kill to force
 * a leader election.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StreamkeeperError } from '../errors/index.js';
import { freePorts } from './free-port.js';
import { ZooKeeperServer, type EnsemblePeer, type ZooKeeperMode } from './zookeeper-server.js';

export interface ZooKeeperEnsembleOptions {
  /** Members (default 3): an ensemble of n serves while a majority of its members do. */
  readonly size?: number;
  /** Each member gets `server-<myid>` here; default: a temporary directory removed by `destroy()`. */
  readonly baseDir?: string;
  readonly detached?: boolean;
}

/** The peers of an ensemble of `size` members on the given ports (three per member). */
export function ensemblePeers(size: number, ports: readonly number[]): EnsemblePeer[] {
  if (!Number.isInteger(size) || size < 1 || size > 255) throw new StreamkeeperError('SK_SERVER_START_FAILED', `a ZooKeeper ensemble has 1 to 255 members, not ${size}`);
  if (ports.length < size * 3 || new Set(ports).size !== ports.length) throw new StreamkeeperError('SK_SERVER_START_FAILED', `an ensemble of ${size} needs ${size * 3} distinct ports`);
  return Array.from({ length: size }, (_, i) => ({ id: i + 1, clientPort: ports[3 * i] ?? 0, quorumPort: ports[3 * i + 1] ?? 0, electionPort: ports[3 * i + 2] ?? 0 }));
}

export class ZooKeeperEnsemble {
  private constructor(
    readonly members: readonly ZooKeeperServer[],
    readonly baseDir: string,
    private readonly ownsBaseDir: boolean,
  ) {}

  /** Starts every member at once (a member serves only once a quorum has formed). */
  static async start(options: ZooKeeperEnsembleOptions = {}): Promise<ZooKeeperEnsemble> {
    const size = options.size ?? 3;
    const peers = ensemblePeers(size, await freePorts(size * 3));
    const baseDir = options.baseDir ?? mkdtempSync(join(tmpdir(), 'sk-zookeeper-ensemble-'));
    const started = await Promise.allSettled(
      peers.map((peer) => {
        const dir = join(baseDir, `server-${peer.id}`);
        mkdirSync(dir, { recursive: true });
        return ZooKeeperServer.start({ baseDir: dir, detached: options.detached ?? false, member: { id: peer.id, peers } });
      }),
    );
    const members = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    if (members.length < size) {
      await Promise.allSettled(members.map((member) => member.destroy()));
      if (options.baseDir === undefined) rmSync(baseDir, { recursive: true, force: true });
      const reasons = started.flatMap((result) => (result.status === 'rejected' ? [String(result.reason)] : []));
      throw new StreamkeeperError('SK_SERVER_START_FAILED', `the ZooKeeper ensemble did not start:\n${reasons.join('\n')}`);
    }
    return new ZooKeeperEnsemble(members, baseDir, options.baseDir === undefined);
  }

  /** Every member, as clients list them: `127.0.0.1:<port>,127.0.0.1:<port>,…`. */
  get connectString(): string {
    return this.members.map((member) => member.connectString).join(',');
  }

  /** What each member is doing right now, in member order. */
  async modes(): Promise<ZooKeeperMode[]> {
    return Promise.all(this.members.map((member) => member.mode()));
  }

  /** The member that leads now; fails while there is none (an election is under way). */
  async leader(): Promise<ZooKeeperServer> {
    const modes = await this.modes();
    const leaders = this.members.filter((_member, i) => modes[i] === 'leader');
    const [only] = leaders;
    if (leaders.length !== 1 || only === undefined) throw new StreamkeeperError('SK_ZK_CONNECTION_LOSS', `no single leader in the ensemble ${this.connectString}: members are ${modes.join(', ')}`);
    return only;
  }

  /** The members that follow the leader now. */
  async followers(): Promise<ZooKeeperServer[]> {
    const modes = await this.modes();
    return this.members.filter((_member, i) => modes[i] === 'follower');
  }

  /** Stops every member and removes their data, if this ensemble created the directory. */
  async destroy(): Promise<void> {
    await Promise.allSettled(this.members.map((member) => member.destroy()));
    if (this.ownsBaseDir) rmSync(this.baseDir, { recursive: true, force: true });
  }
}
