/**
 * How changes become queue keys: a StreamingJob event is its own key, a Pod or Service event the
 * key of the job that owns it, a ZooKeeper membership change the key of its job. Handlers only
 * enqueue — the reconciler re-reads everything itself (level-based).
 */
import { finalizer } from '../api/v1alpha1/index.js';
import type { CustomObject, KubeObject, Stored } from '../kube/objects.js';
import type { CreateExpectations } from './create-expectations.js';
import { owningJobKey } from './job-cache.js';
import type { InformerHandler } from '../machinery/informer.js';

export interface KeyQueue {
  add(key: string): void;
}

const jsonOf = (value: unknown): string => JSON.stringify(value ?? null);

/**
 * Whether a job update can change what the reconciler does. Status-only updates (most of them
 * the operator's own writes) cannot: skipping them halves the passes. A resync (the informer
 * hands the same object twice) always counts.
 */
export function jobChangeNeedsReconcile(previous: Stored<CustomObject>, current: Stored<CustomObject>): boolean {
  if (previous === current) return true;
  const before = previous.metadata;
  const after = current.metadata;
  return (
    before.generation !== after.generation ||
    before.uid !== after.uid ||
    before.deletionTimestamp !== after.deletionTimestamp ||
    (jsonOf(before.finalizers) !== jsonOf(after.finalizers) && !onlyAddedOurFinalizer(before.finalizers, after.finalizers))
  );
}

/** The operator's own first write: the pass that made it goes on with the patched object. */
function onlyAddedOurFinalizer(before: readonly string[] | undefined, after: readonly string[] | undefined): boolean {
  return jsonOf([...(before ?? []), finalizer]) === jsonOf(after);
}

export function jobHandler(queue: KeyQueue): InformerHandler<CustomObject> {
  const add = (job: Stored<CustomObject>): void => {
    queue.add(`${job.metadata.namespace ?? ''}/${job.metadata.name}`);
  };
  return {
    onAdd: add,
    onUpdate: (previous, current) => {
      if (jobChangeNeedsReconcile(previous, current)) add(current);
    },
    onDelete: add,
  };
}

/**
 * For pods and Services: enqueue the owning job's key — except for the ADDED event of an object
 * the operator itself just created (`expectations`), which the creating pass accounted for.
 */
export function ownedObjectHandler<T extends KubeObject>(queue: KeyQueue, expectations?: CreateExpectations): InformerHandler<T> {
  const add = (object: Stored<T>): void => {
    const key = owningJobKey(object);
    if (key !== undefined) queue.add(key);
  };
  return {
    onAdd: (object) => {
      if (expectations?.fulfil(object.kind, object.metadata.namespace ?? '', object.metadata.name) === true) return;
      add(object);
    },
    onUpdate: (_previous, current) => {
      add(current);
    },
    onDelete: add,
  };
}
