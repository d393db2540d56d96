/**
 * The real kubectl against the harness's API server with the admin kubeconfig: end-to-end
 * scenarios change jobs the way users do (apply, patch, scale, delete), so the CRD's schema,
 * defaults, CEL rules and the scale subresource are exercised as in a cluster.
 */
import { spawn } from 'node:child_process';
import { adminKubeconfig, kubectl as kubectlBinary } from '../../../harness/servers.js';

export interface KubectlResult {
  readonly stdout: string;
  readonly stderr: string;
}

export class Kubectl {
  constructor(
    private readonly binary: string = kubectlBinary(),
    private readonly kubeconfig: string = adminKubeconfig(),
  ) {}

  /** Runs `kubectl <args>` (optionally with `input` on stdin); a non-zero exit fails with its stderr. */
  async run(args: readonly string[], input?: string): Promise<KubectlResult> {
    const command = ['--kubeconfig', this.kubeconfig, '--request-timeout=30s', ...args];
    return new Promise((resolveRun, reject) => {
      const child = spawn(this.binary, command, { stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
      child.once('error', reject);
      child.once('close', (code) => {
        const result = { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
        if (code === 0) resolveRun(result);
        else reject(new Error(`kubectl ${args.join(' ')} exited ${String(code)}: ${result.stderr.trim() || result.stdout.trim()}`));
      });
      child.stdin.end(input ?? '');
    });
  }

  /** `kubectl apply -f -` with the object as JSON (which is YAML). */
  async apply(object: unknown): Promise<KubectlResult> {
    return this.run(['apply', '-f', '-'], JSON.stringify(object));
  }
}
