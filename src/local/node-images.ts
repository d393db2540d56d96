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

let builtImage: ImageArchive | undefined;

/**
 * The streamkeeper image built from ./Dockerfile with buildah and bases assembled from registry
 * packages (tools/image/build.sh; cached by the content of what the Dockerfile copies).
 */
export function streamkeeperImage(): ImageArchive {
  if (builtImage !== undefined) return builtImage;
  const builder = join(packageRoot, 'tools', 'image', 'build.sh');
  if (!existsSync(builder)) throw new StreamkeeperError('SK_PREREQUISITE_MISSING', `${builder} is missing: the image is built from a streamkeeper checkout`);
  let output: string;
  try {
    output = execFileSync('bash', [builder], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 30 * 60_000 });
  } catch (err) {
    throw new StreamkeeperError('SK_PREREQUISITE_MISSING', `could not build the streamkeeper image: ${builder} failed (its messages are above); run it by hand: bash ${builder}`, { cause: err });
  }
  const archive = output.trim().split('\n').pop()?.trim() ?? '';
  if (!existsSync(`${archive}.ref`)) throw new StreamkeeperError('SK_PREREQUISITE_MISSING', `${builder} reported ${archive}, which has no .ref beside it`);
  builtImage = { archive, ref: readFileSync(`${archive}.ref`, 'utf8').trim() };
  return builtImage;
}
