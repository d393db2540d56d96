import { describe, expect, it } from '@jest/globals';
import { request } from 'node:http';
import { isStreamkeeperError } from '../../../src/errors/index.js';
import { MetricsServer, parseListenAddress } from '../../../src/machinery/metrics-server.js';
import { operatorRegistry as registry } from '../../../src/metrics/index.js';

function get(port: number, path: string, method = 'GET'): Promise<{ status: number; body: string; contentType: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body, contentType: res.headers['content-type'] });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the metrics and health endpoint', () => {
  it('serves Prometheus metrics, liveness and readiness on a free loopback port', async () => {
    let synced = false;
    const server = new MetricsServer({ address: '127.0.0.1:0', registry, readinessChecks: { 'informers-synced': () => synced } });
    const { host, port } = await server.start();
    try {
      expect(host).toBe('127.0.0.1');
      expect(port).toBeGreaterThan(0);

      const metrics = await get(port, '/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.contentType).toContain('text/plain');
      expect(metrics.body).toContain('# TYPE streamkeeper_reconcile_total counter');
      expect(metrics.body).toContain('streamkeeper_jobs{phase="Degraded"} 0');
      expect(metrics.body).toContain('streamkeeper_leader 0');

      expect(await get(port, '/healthz')).toMatchObject({ status: 200, body: 'ok\n' });

      const notReady = await get(port, '/readyz');
      expect(notReady.status).toBe(503);
      expect(notReady.body).toBe('[-]informers-synced failed\nnot ready: informers-synced\n');

      synced = true;
      server.addReadinessCheck('leader-or-standby', () => Promise.resolve(true));
      expect(await get(port, '/readyz')).toMatchObject({ status: 200, body: '[+]informers-synced ok\n[+]leader-or-standby ok\nok\n' });

      expect((await get(port, '/nothing')).status).toBe(404);
      expect((await get(port, '/metrics', 'POST')).status).toBe(405);
    } finally {
      await server.stop();
    }
  });

  it('treats a check that throws as failing', async () => {
    const server = new MetricsServer({
      address: '127.0.0.1:0',
      registry,
      livenessChecks: {
        deadlock: () => {
          throw new Error('boom');
        },
      },
    });
    const { port } = await server.start();
    try {
      expect(await get(port, '/healthz')).toMatchObject({ status: 503, body: '[-]deadlock failed\nunhealthy: deadlock\n' });
    } finally {
      await server.stop();
    }
  });
});

describe('--metrics-addr', () => {
  it.each([
    [':8080', { host: undefined, port: 8080 }],
    ['127.0.0.1:9090', { host: '127.0.0.1', port: 9090 }],
    ['0.0.0.0:0', { host: '0.0.0.0', port: 0 }],
    ['[::1]:8443', { host: '::1', port: 8443 }],
    ['8080', { host: undefined, port: 8080 }],
  ])('%j listens on %j', (address, expected) => {
    expect(parseListenAddress(address)).toEqual(expected);
  });

  it.each(['localhost', ':http', '127.0.0.1:70000', '::1:80', ''])('rejects %j as a usage error', (address) => {
    let error: unknown;
    try {
      parseListenAddress(address);
    } catch (err) {
      error = err;
    }
    expect(isStreamkeeperError(error, 'SK_USAGE')).toBe(true);
  });
});
