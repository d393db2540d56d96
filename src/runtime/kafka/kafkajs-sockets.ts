/**
 * Every socket a kafkajs client opens, so that closing the client closes them all. kafkajs 2.2.4
 * connects a connection again whenever it is not connected, with no guard against a connect in
 * flight: requests that race a connect each open a socket and kafkajs keeps only the last one. The
 * forgotten sockets stay open and keep a drained pod's process alive until it is killed.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { ISocketFactory } from 'kafkajs';
import { StreamkeeperError } from '../../errors/index.js';

/** As kafkajs's own socket factory: idle connections are probed so a dead broker is noticed. */
const keepAliveDelayMs = 60_000;

export class KafkajsSockets {
  private readonly open = new Set<net.Socket>();
  private closed = false;

  /** Opens sockets the way kafkajs's default factory does, and remembers them. */
  readonly factory: ISocketFactory = ({ host, port, ssl: configured, onConnect }) => {
    // kafkajs passes its `ssl` setting through as is: false when off, true or options when on.
    const ssl = configured as tls.ConnectionOptions | boolean | undefined;
    const socket =
      ssl === undefined || ssl === false
        ? net.connect({ host, port }, onConnect)
        : tls.connect({ host, port, ...(net.isIP(host) === 0 ? { servername: host } : {}), ...(ssl === true ? {} : ssl) }, onConnect);
    socket.setKeepAlive(true, keepAliveDelayMs);
    if (this.closed) {
      // A retry still running when the client closed: fail its connect at once.
      socket.destroy(new StreamkeeperError('SK_KAFKA_INVALID_REQUEST', 'the Kafka client is closed'));
      return socket;
    }
    this.open.add(socket);
    socket.once('close', () => this.open.delete(socket));
    return socket;
  };

  /**
   * Destroys every socket still open, refuses new ones, and resolves once they have all closed.
   * Returns how many kafkajs had not ended itself: the ones it lost track of.
   */
  async close(): Promise<number> {
    this.closed = true;
    const sockets = [...this.open];
    this.open.clear();
    const forgotten = sockets.filter((socket) => !socket.writableEnded).length;
    await Promise.all(
      sockets.map(async (socket) => {
        const closed = new Promise((resolve) => socket.once('close', resolve));
        socket.destroy();
        await closed;
      }),
    );
    return forgotten;
  }
}
