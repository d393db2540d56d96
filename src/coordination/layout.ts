/**
 * Where everything lives in ZooKeeper. Every path the coordination protocol touches is built
 * here and nowhere else, so the layout (and its version) can change in one place.
 *
 *   <root>/v1/jobs/<namespace>/<name>/{config, executors/<pod>, driver, batches/<id>, tasks/<id>-<n>, offsets}
 *
 * A chroot is not part of the root: it goes on the connect string (`host:port/chroot`), where
 * the client applies it to every path.
 */
import { StreamkeeperError } from '../errors/index.js';

export const defaultRoot = '/streamkeeper';
/** Bumped when the layout changes incompatibly; old and new layouts can then coexist. */
export const layoutVersion = 'v1';

export interface JobRef {
  readonly namespace: string;
  readonly name: string;
}

/** `namespace/name`: how logs, maps and errors name a job. */
export function jobKey(job: JobRef): string {
  return `${job.namespace}/${job.name}`;
}

// Kubernetes object names (DNS-1123 subdomains) never contain `/` and are never `.` or `..`,
// which is what makes them safe as single path segments.
const segmentPattern = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

function checkSegment(value: string, field: string): string {
  if (!segmentPattern.test(value)) {
    throw new StreamkeeperError('SK_INVALID_SPEC', `"${value}" cannot be a ZooKeeper path segment: it must be a Kubernetes object name (lower-case alphanumerics, '-' and '.')`, { field });
  }
  return value;
}

function checkRoot(root: string): string {
  const segments = root.split('/').slice(1);
  if (!root.startsWith('/') || root === '/' || segments.some((s) => s === '' || s === '.' || s === '..') || root.startsWith('/zookeeper')) {
    throw new StreamkeeperError('SK_USAGE', `ZooKeeper root "${root}" must be an absolute path such as /streamkeeper, without a trailing slash, outside /zookeeper`);
  }
  return root;
}

const batchIdDigits = 10;
const taskIndexDigits = 5;

/** Batch ids sort as strings in the order they were planned. */
export function batchId(sequence: number): string {
  if (!Number.isSafeInteger(sequence) || sequence < 0) throw new RangeError(`batch sequence must be a non-negative integer (got ${sequence})`);
  return String(sequence).padStart(batchIdDigits, '0');
}

export function batchSequence(id: string): number {
  if (!/^\d+$/.test(id)) throw new RangeError(`"${id}" is not a batch id`);
  return Number(id);
}

/** `<batchId>-<n>`: task `n` of a batch, sorting by batch and then by index. */
export function taskId(batch: string, index: number): string {
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`task index must be a non-negative integer (got ${index})`);
  return `${batch}-${String(index).padStart(taskIndexDigits, '0')}`;
}

export function parseTaskId(id: string): { readonly batch: string; readonly index: number } {
  const match = /^(\d+)-(\d+)$/.exec(id);
  if (match?.[1] === undefined || match[2] === undefined) throw new RangeError(`"${id}" is not a task id`);
  return { batch: match[1], index: Number(match[2]) };
}

export class CoordinationLayout {
  readonly root: string;

  constructor(root: string = defaultRoot) {
    this.root = checkRoot(root);
  }

  get versionRoot(): string {
    return `${this.root}/${layoutVersion}`;
  }

  get jobsRoot(): string {
    return `${this.versionRoot}/jobs`;
  }

  namespace(namespace: string): string {
    return `${this.jobsRoot}/${checkSegment(namespace, 'metadata.namespace')}`;
  }

  job(job: JobRef): string {
    return `${this.namespace(job.namespace)}/${checkSegment(job.name, 'metadata.name')}`;
  }

  /** The nodes above a job, outermost first: only the operator may use them. */
  ancestors(job: JobRef): string[] {
    return [this.root, this.versionRoot, this.jobsRoot, this.namespace(job.namespace)];
  }

  /** The persistent nodes of a job that exist for the job's whole life, parents first. */
  jobSkeleton(job: JobRef): string[] {
    return [this.job(job), this.config(job), this.executors(job), this.batches(job), this.tasks(job)];
  }

  config(job: JobRef): string {
    return `${this.job(job)}/config`;
  }

  executors(job: JobRef): string {
    return `${this.job(job)}/executors`;
  }

  executor(job: JobRef, pod: string): string {
    return `${this.executors(job)}/${checkSegment(pod, 'pod')}`;
  }

  driver(job: JobRef): string {
    return `${this.job(job)}/driver`;
  }

  /** The standby driver's registration (`spec.driver.standby`): alive, warm, waiting for `driver`. */
  standby(job: JobRef): string {
    return `${this.job(job)}/standby`;
  }

  batches(job: JobRef): string {
    return `${this.job(job)}/batches`;
  }

  batch(job: JobRef, id: string): string {
    batchSequence(id);
    return `${this.batches(job)}/${id}`;
  }

  tasks(job: JobRef): string {
    return `${this.job(job)}/tasks`;
  }

  task(job: JobRef, id: string): string {
    parseTaskId(id);
    return `${this.tasks(job)}/${id}`;
  }

  offsets(job: JobRef): string {
    return `${this.job(job)}/offsets`;
  }
}

/** Splits `host:port,host:port/chroot` into the server list and the chroot (or undefined). */
export function splitChroot(connectString: string): { readonly servers: string; readonly chroot: string | undefined } {
  const slash = connectString.indexOf('/');
  if (slash < 0) return { servers: connectString, chroot: undefined };
  const chroot = connectString.slice(slash);
  return { servers: connectString.slice(0, slash), chroot: chroot === '/' ? undefined : chroot.replace(/\/+$/, '') };
}
