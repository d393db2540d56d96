/** Health probes for local servers: a plain HTTP GET, and one over TLS verified against our CA. */
import { request as httpsRequest } from 'node:https';

/** GET over TLS verified against `ca`: true on 200. */
export function httpsOk(url: string, ca: string, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpsRequest(url, { ca, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => {
      resolve(false);
    });
    req.end();
  });
}

/** Plain GET: true on a 2xx answer within two seconds. */
export async function httpOk(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}
