/**
 * A container's readiness probe (httpGet or tcpSocket against the pod's address), run the way the
 * kubelet runs it: after initialDelaySeconds, every periodSeconds, flipping only after
 * successThreshold successes or failureThreshold failures in a row. It only reports changes; the
 * node agent decides what they mean in its own serialized pass.
 */
import { request as httpRequest } from 'node:http';
import type { Pod } from '../kube/objects.js';
import { canConnect } from './free-port.js';

type Container = NonNullable<Pod['spec']>['containers'][number];
export type Probe = NonNullable<Container['readinessProbe']>;

/** A named port (`metrics`) or a number, as probes give it. */
export function resolvePort(container: Container, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  if (port === undefined) return undefined;
  if (/^\d+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

/** One probe attempt: true when it passed. */
export async function probeOnce(probe: Probe, container: Container, podIP: string): Promise<boolean> {
  const timeoutMs = Math.max(1, probe.timeoutSeconds ?? 1) * 1000;
  if (probe.httpGet !== undefined) {
    const get = probe.httpGet;
    const port = resolvePort(container, get.port as number | string | undefined);
    if (port === undefined || (get.scheme ?? 'HTTP') !== 'HTTP') return false;
    const headers = Object.fromEntries((get.httpHeaders ?? []).map((h) => [h.name, h.value]));
    return new Promise((resolve) => {
      const req = httpRequest({ host: get.host ?? podIP, port, path: get.path ?? '/', method: 'GET', headers, timeout: timeoutMs }, (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        resolve(status >= 200 && status < 400);
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => {
        resolve(false);
      });
      req.end();
    });
  }
  if (probe.tcpSocket !== undefined) {
    const port = resolvePort(container, probe.tcpSocket.port as number | string | undefined);
    return port === undefined ? false : canConnect(port, probe.tcpSocket.host ?? podIP, timeoutMs);
  }
  return false;
}

export class ReadinessProbe {
  private ready = false;
  private successes = 0;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly probe: Probe,
    private readonly container: Container,
    private readonly podIP: string,
    private readonly onChange: () => void,
  ) {}

  get isReady(): boolean {
    return this.ready;
  }

  start(): void {
    this.schedule(Math.max(0, this.probe.initialDelaySeconds ?? 0) * 1000);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.tick();
    }, delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const passed = await probeOnce(this.probe, this.container, this.podIP).catch(() => false);
    if (this.stopped) return;
    if (passed) {
      this.successes++;
      this.failures = 0;
    } else {
      this.failures++;
      this.successes = 0;
    }
    const before = this.ready;
    if (!this.ready && this.successes >= Math.max(1, this.probe.successThreshold ?? 1)) this.ready = true;
    if (this.ready && this.failures >= Math.max(1, this.probe.failureThreshold ?? 3)) this.ready = false;
    if (before !== this.ready) this.onChange();
    this.schedule(Math.max(1, this.probe.periodSeconds ?? 10) * 1000);
  }
}
