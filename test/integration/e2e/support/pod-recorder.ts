/**
 * A watch on a job's pods that keeps every change it sees, so a scenario can ask afterwards what
 * happened in between two polls: whether two pods ever existed for one name, how many executors
 * were up at once during a roll, which incarnations (uids) a pod name had.
 */
import { labelKeys } from '../../../../src/api/v1alpha1/index.js';
import { isStreamkeeperError } from '../../../../src/errors/index.js';
import type { KubeClient } from '../../../../src/kube/client.js';
import type { Pod, Stored } from '../../../../src/kube/objects.js';
import { podTemplateHashLabel } from '../../../../src/operator/reconciler/naming.js';

export interface PodObservation {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'LISTED';
  readonly name: string;
  readonly uid: string;
  readonly component: string | undefined;
  readonly phase: string | undefined;
  readonly ready: boolean;
  readonly terminating: boolean;
  readonly templateHash: string | undefined;
  /** The container's image (what a rolling update changes). */
  readonly image: string | undefined;
  /** The container's exit code once it has terminated (137 after a SIGKILL). */
  readonly exitCode: number | undefined;
  /** When the watch delivered it (ms since the epoch). */
  readonly at: number;
}

function observe(type: PodObservation['type'], pod: Stored<Pod>): PodObservation {
  return {
    type,
    name: pod.metadata.name,
    uid: pod.metadata.uid,
    component: pod.metadata.labels?.[labelKeys.component],
    phase: pod.status?.phase,
    ready: pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    terminating: pod.metadata.deletionTimestamp !== undefined,
    templateHash: pod.metadata.labels?.[podTemplateHashLabel],
    image: pod.spec?.containers[0]?.image,
    exitCode: pod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode,
    at: Date.now(),
  };
}

export class PodRecorder {
  /** Every observation, in the order the API server delivered them. */
  readonly observations: PodObservation[] = [];
  /** The pods as last seen, by uid (deleted ones removed). */
  private readonly live = new Map<string, PodObservation>();
  private readonly peaks = new Map<string, number>();
  private readonly lows = new Map<string, number>();
  private readonly abort = new AbortController();
  private readonly done: Promise<void>;
  private failure: unknown;

  private constructor(
    private readonly client: KubeClient,
    private readonly namespace: string,
    private readonly selector: string,
    resourceVersion: string,
    initial: readonly Stored<Pod>[],
  ) {
    this.relisted(initial);
    this.done = this.follow(resourceVersion).catch((err: unknown) => {
      this.failure = err;
    });
  }

  /** Starts recording the pods matching `labelSelector` in `namespace`. */
  static async start(client: KubeClient, namespace: string, labelSelector: string): Promise<PodRecorder> {
    const list = await client.list('Pod', { namespace, labelSelector });
    return new PodRecorder(client, namespace, labelSelector, list.resourceVersion, list.items);
  }

  // A method, so TypeScript does not keep a narrowing of the signal's state across awaits.
  private stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private async follow(from: string): Promise<void> {
    let resourceVersion = from;
    while (!this.stopped()) {
      try {
        for await (const event of this.client.watch('Pod', { namespace: this.namespace, labelSelector: this.selector, resourceVersion, signal: this.abort.signal })) {
          if (event.type === 'BOOKMARK') {
            resourceVersion = event.resourceVersion;
            continue;
          }
          resourceVersion = event.object.metadata.resourceVersion;
          this.record([observe(event.type, event.object)]);
        }
      } catch (err) {
        if (this.stopped()) return;
        if (!isStreamkeeperError(err, 'SK_KUBE_GONE')) throw err;
        // Too old to resume: list again; what changed in between shows as LISTED.
        const list = await this.client.list('Pod', { namespace: this.namespace, labelSelector: this.selector });
        this.relisted(list.items);
        resourceVersion = list.resourceVersion;
      }
    }
  }

  /** A full list replaces what is known: pods missing from it are gone. */
  private relisted(pods: readonly Stored<Pod>[]): void {
    this.live.clear();
    this.record(pods.map((pod) => observe('LISTED', pod)));
  }

  /** Applies observations made at one moment, then updates the peaks and lows. */
  private record(observations: readonly PodObservation[]): void {
    for (const observation of observations) {
      this.observations.push(observation);
      if (observation.type === 'DELETED') this.live.delete(observation.uid);
      else this.live.set(observation.uid, observation);
    }
    const counts = new Map<string, number>();
    const ready = new Map<string, number>();
    for (const pod of this.live.values()) {
      if (pod.terminating) continue;
      const key = pod.component ?? 'unknown';
      counts.set(key, (counts.get(key) ?? 0) + 1);
      if (pod.ready) ready.set(key, (ready.get(key) ?? 0) + 1);
    }
    for (const [component, count] of counts) this.peaks.set(component, Math.max(this.peaks.get(component) ?? 0, count));
    for (const component of new Set([...this.lows.keys(), ...counts.keys()])) {
      this.lows.set(component, Math.min(this.lows.get(component) ?? Infinity, ready.get(component) ?? 0));
    }
  }

  /** The most pods of `component` (driver, executor) that existed at once, not counting terminating ones. */
  peak(component: string): number {
    return this.peaks.get(component) ?? 0;
  }

  /**
   * The fewest ready (and not terminating) pods of `component` at any moment since recording
   * began: during a rolling update of N executors it must stay at N - 1 or more.
   */
  lowestReady(component: string): number {
    return this.lows.get(component) ?? 0;
  }

  /** The incarnations each pod name had, in order of appearance. */
  incarnations(): Map<string, string[]> {
    const byName = new Map<string, string[]>();
    for (const { name, uid } of this.observations) {
      const uids = byName.get(name) ?? [];
      if (!uids.includes(uid)) uids.push(uid);
      byName.set(name, uids);
    }
    return byName;
  }

  /** The last exit code seen for each pod name (pods whose container never terminated are absent). */
  exitCodes(): Map<string, number> {
    const codes = new Map<string, number>();
    for (const { name, exitCode } of this.observations) if (exitCode !== undefined) codes.set(name, exitCode);
    return codes;
  }

  /** Stops watching; fails if the watch broke down (the record would be incomplete). */
  async stop(): Promise<void> {
    if (this.stopped()) return;
    this.abort.abort();
    await this.done;
    if (this.failure !== undefined) throw new Error(`the pod watch failed, so the record is incomplete: ${this.failure instanceof Error ? this.failure.message : JSON.stringify(this.failure)}`);
  }
}
