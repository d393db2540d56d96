/**
 * A loopback TCP link to a server that a test can cut and restore, as a network fault would:
 * clients connect to `address`, and while the link is cut every connection through it is
 * dropped and new ones are closed as soon as they arrive. The server itself keeps running, so
 * only the clients behind the link lose it (a ZooKeeper session survives a short cut).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export class CuttableLink {
  private readonly sockets = new Set<Socket>();
  private cutNow = false;

  private constructor(
    private readonly server: Server,
    /** `127.0.0.1:port` to connect to instead of the server. */
    readonly address: string,
  ) {}

  /** Listens on a free loopback port and forwards to `target` (`host:port`). */
  static async open(target: string): Promise<CuttableLink> {
    const colon = target.lastIndexOf(':');
    const host = target.slice(0, colon);
    const port = Number(target.slice(colon + 1));
    if (colon <= 0 || !Number.isInteger(port)) throw new Error(`CuttableLink: ${target} is not host:port`);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        resolve();
      });
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('CuttableLink: no TCP address');
    const link = new CuttableLink(server, `127.0.0.1:${address.port}`);
    server.on('connection', (client: Socket) => {
      link.accept(client, host, port);
    });
    return link;
  }

  private accept(client: Socket, host: string, port: number): void {
    if (this.cutNow) {
      client.destroy();
      return;
    }
    const upstream = connect(port, host);
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('close', () => {
        this.sockets.delete(socket);
      });
      // A reset from either side ends both; the client sees a lost connection.
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }

  /** Drops every connection through the link and refuses new ones until `restore`. */
  cut(): void {
    this.cutNow = true;
    for (const socket of [...this.sockets]) socket.destroy();
  }

  restore(): void {
    this.cutNow = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => {
      this.server.close(() => {
        resolve();
      });
    });
  }
}
