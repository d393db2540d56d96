/**
 * Finds etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl and the kubelet.
 * tools/kube/install.sh is the
 * one place that knows where they come from (KUBEBUILDER_ASSETS, the cache, or a build from
 * source); it is idempotent and takes a few hundredths of a second when the cache is warm.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { StreamkeeperError } from '../errors/index.js';
import { packageRoot } from '../package-info.js';

export interface KubeBinaries {
  readonly dir: string;
  readonly etcd: string;
  readonly kubeApiserver: string;
  readonly kubeControllerManager: string;
  readonly kubectl: string;
  /** Only the real node needs these two (KUBEBUILDER_ASSETS directories usually lack them). */
  readonly kubeScheduler: string;
  readonly kubelet: string;
}

let resolved: KubeBinaries | undefined;

export function kubeBinariesIn(dir: string): KubeBinaries {
  return {
    dir,
    etcd: join(dir, 'etcd'),
    kubeApiserver: join(dir, 'kube-apiserver'),
    kubeControllerManager: join(dir, 'kube-controller-manager'),
    kubectl: join(dir, 'kubectl'),
    kubeScheduler: join(dir, 'kube-scheduler'),
    kubelet: join(dir, 'kubelet'),
  };
}

/** The binaries, installing (building) them first if the cache is cold. */
export function kubeBinaries(): KubeBinaries {
  if (resolved !== undefined) return resolved;
  const installer = join(packageRoot, 'tools', 'kube', 'install.sh');
  if (!existsSync(installer)) {
    throw new StreamkeeperError('SK_PREREQUISITE_MISSING', `${installer} is missing: the local control plane runs from a streamkeeper checkout`);
  }
  let output: string;
  try {
    // The installer's progress (component, elapsed time, caches) goes straight to our stderr: a
    // cold build takes minutes and must not look like a hang.
    output = execFileSync('bash', [installer], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 30 * 60_000 });
  } catch (err) {
    throw new StreamkeeperError('SK_PREREQUISITE_MISSING', `could not install the Kubernetes binaries (a cold cache needs Go and the Go module proxy): ${installer} failed (its messages are above); run it by hand: bash ${installer}`, { cause: err });
  }
  const dir = output.trim().split('\n').pop()?.trim() ?? '';
  const binaries = kubeBinariesIn(dir);
  for (const file of [binaries.etcd, binaries.kubeApiserver, binaries.kubeControllerManager, binaries.kubectl]) {
    if (!existsSync(file)) {
      throw new StreamkeeperError('SK_PREREQUISITE_MISSING', `${installer} reported ${dir}, which has no ${file} (with KUBEBUILDER_ASSETS, the directory must hold kube-controller-manager and kubectl too)`);
    }
  }
  resolved = binaries;
  return binaries;
}
