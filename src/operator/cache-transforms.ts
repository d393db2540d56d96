/**
 * What the operator's informers keep of each object. With thousands of jobs the caches are most
 * of the operator's memory, and most of a stored object is of no use to it: `managedFields`
 * (server-side apply bookkeeping, often half the object) and, for pods, the whole spec — the
 * reconciler reads a pod's labels, owner and status only and compares templates by hash label.
 */
import type { KubeObject, Pod, Stored } from '../kube/objects.js';
import type { ListerWatcher } from '../machinery/informer.js';

export type CacheTransform<T extends KubeObject> = (object: Stored<T>) => Stored<T>;

export function withoutManagedFields<T extends KubeObject>(object: Stored<T>): Stored<T> {
  if (object.metadata.managedFields === undefined) return object;
  const { managedFields: _dropped, ...metadata } = object.metadata;
  return { ...object, metadata };
}

/** A pod as the reconciler reads it: metadata, and the status fields that say how it runs. */
export function podSummary(pod: Stored<Pod>): Stored<Pod> {
  const { managedFields: _dropped, ...metadata } = pod.metadata;
  const status = pod.status;
  return {
    apiVersion: pod.apiVersion,
    kind: pod.kind,
    metadata,
    ...(status === undefined
      ? {}
      : {
          status: {
            ...(status.phase === undefined ? {} : { phase: status.phase }),
            ...(status.reason === undefined ? {} : { reason: status.reason }),
            ...(status.conditions === undefined ? {} : { conditions: status.conditions.map((c) => ({ type: c.type, status: c.status })) }),
            ...(status.containerStatuses === undefined
              ? {}
              : {
                  containerStatuses: status.containerStatuses.map((c) => ({
                    name: c.name,
                    ready: c.ready,
                    restartCount: c.restartCount,
                    image: '',
                    imageID: '',
                    ...(c.state === undefined ? {} : { state: c.state }),
                    ...(c.lastState === undefined ? {} : { lastState: c.lastState }),
                  })),
                }),
          },
        }),
  };
}

/** Applies `transform` to everything a list or watch delivers, before the informer stores it. */
export function transformed<T extends KubeObject>(source: ListerWatcher<T>, transform: CacheTransform<T>): ListerWatcher<T> {
  return {
    list: async () => {
      const listed = await source.list();
      return { ...listed, items: listed.items.map(transform) };
    },
    watch: (resourceVersion, signal) => {
      const events = source.watch(resourceVersion, signal);
      return {
        async *[Symbol.asyncIterator]() {
          for await (const event of events) {
            yield event.type === 'BOOKMARK' ? event : { type: event.type, object: transform(event.object) };
          }
        },
      };
    },
  };
}
