/** Picks free TCP ports on loopback: the kernel chooses, we release, the caller binds. */
import { createServer, type Server } from 'node:net';

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => {
        resolvePort(port);
      });
    });
  });
}

/** Several distinct free ports (held open together so the kernel cannot hand out one twice). */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => {
      return new Promise<Server>((resolveServer, reject) => {
        const server = createServer();
        server.on('error', reject);
        server.listen(0, host, () => {
          resolveServer(server);
        });
      });
    }),
  );
  const ports = servers.map((s) => {
    const address = s.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  });
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** Resolves once something accepts TCP connections on host:port. */
export async function canConnect(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((resolveOk) => {
    const socket = connect({ port, host });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolveOk(ok);
    };
    socket.setTimeout(timeoutMs, () => {
      done(false);
    });
    socket.once('connect', () => {
      done(true);
    });
    socket.once('error', () => {
      done(false);
    });
  });
}
