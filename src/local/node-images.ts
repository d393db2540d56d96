/**
 * The images every real node needs before it can run a pod: the sandbox ("pause") and busybox.
 * No registry beyond the package registries is reachable here, so tools/container-runtime/install.sh builds
 * them from Debian packages and the pinned Kubernetes sources, and also installs the container
 * runtime; this module runs it and says where the archives are.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StreamkeeperError } from '../errors/index.js';
import { packageRoot } from '../package-info.js';

/** An OCI archive and the reference it carries. */
export interface ImageArchive {
  readonly archive: string;
  readonly ref: string;
}

export interface NodeImages {
  readonly pause: ImageArchive;
  readonly busybox: ImageArchive;
}

let resolved: NodeImages | undefined;

/** The node images, installing the runtime and building the images first if needed. */
export function nodeImages(): NodeImages {
  if (resolved !== undefined) return resolved;
  const installer = join(packageRoot, 'tools', 'container-runtime', 'install.sh');
  if (!existsSync(installer)) throw new StreamkeeperError('SK_PREREQUISITE_MISSING', `${installer} is missing: the real node runs from a streamkeeper checkout`);
  let output: string;
  try {
    output = execFileSync('bash', [installer], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 20 * 60_000 });
  } catch (err) {
    throw new StreamkeeperError('SK_PREREQUISITE_MISSING', `could not install the container runtime or build the node images: ${installer} failed (its messages are above); run it by hand: bash ${installer}`, { cause: err });
  }
  const dir = output.trim().split('\n').pop()?.trim() ?? '';
  const image = (name: string): ImageArchive => {
    const ref = join(dir, `${name}.ref`);
    if (!existsSync(ref)) throw new StreamkeeperError('SK_PREREQUISITE_MISSING', `${installer} reported ${dir}, which has no ${name}.ref`);
    return { archive: join(dir, `${name}.tar`), ref: readFileSync(ref, 'utf8').trim() };
  };
  resolved = { pause: image('pause'), busybox: image('busybox') };
  return resolved;
}
