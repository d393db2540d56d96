/**
 * `streamkeeper operator` put together: informers for jobs, their pods and Services (warm on
 * every replica, so a standby takes over with a full cache), the metrics endpoint, and leader
 * election — only the leader opens ZooKeeper, runs the controller and reschedules. On SIGTERM
 * the leader drains the passes in flight and releases the Lease; a replica that loses the Lease
 * otherwise exits with an error so that it restarts with clean state.
 */
import type { CustomObject, KubeObject, Pod, Service } from '../kube/objects.js';
import { podSummary, transformed, withoutManagedFields, type CacheTransform } from './cache-transforms.js';
import type { KubeClient } from '../kube/client.js';
import { silentLogger, type Logger } from '../logging/logger.js';
import { CreateExpectations } from './create-expectations.js';
import { EventRecorder } from './event-recorder.js';
import { jobHandler, ownedObjectHandler } from './event-sources.js';
import { InformerJobCache, indexByJob } from './job-cache.js';
import type { JobCoordination } from './job-coordination.js';
import { JobPhaseTracker } from './job-phase-tracker.js';
import { backoffDelay } from '../machinery/backoff.js';
import { isAborted, sleep, systemClock, type Clock } from '../machinery/clock.js';
import { systemRandom, type Random } from '../machinery/random.js';
import { Controller } from '../machinery/controller.js';
import { Informer, listerWatcher, type ListerWatcher, type ListWatchScope } from '../machinery/informer.js';
import { LeaderElector } from '../machinery/leader-elector.js';
import { MetricsServer } from '../machinery/metrics-server.js';
import { controllerMetrics, leaderMetrics, operatorRegistry } from '../metrics/index.js';
import type { OperatorOptions } from './options.js';
import { managedBySelector } from './reconciler/naming.js';
import { StreamingJobReconciler } from './streaming-job-reconciler.js';
import { releaseIfUninstalled } from './uninstall-release.js';

/** One leadership term's coordination: the port and how to close what backs it. */
export interface CoordinationHandle {
  readonly coordination: JobCoordination;
  close(): Promise<void>;
}

export interface OperatorRuntime {
  readonly kube: KubeClient;
  /** Opens ZooKeeper for a leadership term; retried with backoff while it fails. */
  openCoordination(): Promise<CoordinationHandle>;
  readonly clock?: Clock;
  /** Chance for retry jitter; default Math.random. */
  readonly random?: Random;
  readonly logger?: Logger;
  /** How long a stopping leader waits for passes in flight. Default 20 s. */
  readonly drainTimeoutMs?: number;
}

export const controllerName = 'streamingjob';
export const reportingController = 'streamkeeper.io/operator';

interface LeaderTerm {
  readonly controller: Controller;
  readonly handle: CoordinationHandle;
  readonly unhook: readonly (() => void)[];
  readonly phases: JobPhaseTracker;
}

/** `[::1]:8080` for IPv6 hosts, `host:port` otherwise. */
function listenAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function whenAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => { resolve(); }, { once: true });
  });
}

export class Operator {
  readonly cache: InformerJobCache;
  readonly metrics: MetricsServer;
  private readonly kube: KubeClient;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly logger: Logger;
  private readonly jobInformers: readonly Informer<CustomObject>[];
  private readonly podInformers: readonly Informer<Pod>[];
  private readonly serviceInformers: readonly Informer<Service>[];
  private leading: Promise<LeaderTerm | undefined> | undefined;
  private term: LeaderTerm | undefined;
  private metricsAddress: { host: string; port: number } | undefined;

  constructor(
    private readonly options: OperatorOptions,
    private readonly runtime: OperatorRuntime,
  ) {
    this.kube = runtime.kube;
    this.clock = runtime.clock ?? systemClock;
    this.random = runtime.random ?? systemRandom;
    this.logger = runtime.logger ?? silentLogger();
    const scopes: ListWatchScope[] = options.namespaces.length === 0 ? [{}] : options.namespaces.map((namespace) => ({ namespace }));
    const informer = <T extends KubeObject>(source: ListerWatcher<T>, transform: CacheTransform<T>, scope: ListWatchScope, name: string, resyncPeriodMs = 0): Informer<T> =>
      new Informer<T>({ name: `${name}${scope.namespace === undefined ? '' : `/${scope.namespace}`}`, listerWatcher: transformed(source, transform), resyncPeriodMs, clock: this.clock, random: this.random, logger: this.logger });
    this.jobInformers = scopes.map((scope) => informer<CustomObject>(listerWatcher(this.kube, 'StreamingJob', scope, this.random), withoutManagedFields, scope, 'streamingjobs', options.resyncPeriodMs));
    this.podInformers = scopes.map((scope) => informer<Pod>(listerWatcher(this.kube, 'Pod', { ...scope, labelSelector: managedBySelector }, this.random), podSummary, scope, 'pods'));
    this.serviceInformers = scopes.map((scope) => informer<Service>(listerWatcher(this.kube, 'Service', { ...scope, labelSelector: managedBySelector }, this.random), withoutManagedFields, scope, 'services'));
    for (const podInformer of this.podInformers) indexByJob(podInformer);
    this.cache = new InformerJobCache(this.jobInformers, this.podInformers, this.serviceInformers);
    this.metrics = new MetricsServer({
      address: listenAddress(options.metricsHost, options.metricsPort),
      registry: operatorRegistry,
      readinessChecks: { 'informers-synced': () => this.cache.hasSynced() },
      logger: this.logger,
    });
  }

  /** Where /metrics is served (after `run` started it). */
  get metricsEndpoint(): { host: string; port: number } | undefined {
    return this.metricsAddress;
  }

  /** Whether this replica runs the controller now. */
  get isLeading(): boolean {
    return this.term !== undefined;
  }

  /** Runs until `signal` aborts (exit code 0) or the Lease is lost (1). */
  async run(signal: AbortSignal): Promise<number> {
    this.metricsAddress = await this.metrics.start();
    for (const informer of this.cache.informers) informer.start();
    let exitCode = 0;
    try {
      if (this.options.leaderElect) {
        const elector = new LeaderElector({
          client: this.kube,
          lease: { namespace: this.options.leaderElectionNamespace, name: this.options.leaderElectionId },
          identity: this.options.identity,
          leaseDurationMs: this.options.leaseDurationMs,
          renewDeadlineMs: this.options.renewDeadlineMs,
          retryPeriodMs: this.options.retryPeriodMs,
          onStartedLeading: (leadership) => {
            this.leading = this.lead(leadership);
          },
          onStoppedLeading: () => this.stopLeading(),
          metrics: leaderMetrics,
          clock: this.clock,
          random: this.random,
          logger: this.logger,
        });
        const lost = elector.run();
        await Promise.race([lost, whenAborted(signal)]);
        if (!signal.aborted) {
          this.logger.error('lost the leader Lease; exiting so that this replica restarts with clean state');
          exitCode = 1;
        }
        await elector.stop();
      } else {
        const leadership = new AbortController();
        this.leading = this.lead(leadership.signal);
        await whenAborted(signal);
        leadership.abort();
        await this.stopLeading();
      }
      if (signal.aborted && this.options.operatorDeployment !== undefined) {
        await releaseIfUninstalled({
          kube: this.kube,
          namespace: this.options.leaderElectionNamespace,
          deployment: this.options.operatorDeployment,
          lease: this.options.leaderElect ? this.options.leaderElectionId : undefined,
          namespaces: this.options.namespaces,
          logger: this.logger,
        });
      }
    } finally {
      await Promise.all(this.cache.informers.map((informer) => informer.stop()));
      await this.metrics.stop();
    }
    this.logger.info({ exitCode }, 'operator stopped');
    return exitCode;
  }

  /** Becomes the active replica: caches synced, ZooKeeper open, controller running. */
  private async lead(leadership: AbortSignal): Promise<LeaderTerm | undefined> {
    await Promise.all(this.cache.informers.map((informer) => informer.waitForSync(leadership)));
    const handle = await this.openCoordination(leadership);
    if (handle === undefined) return undefined;
    if (isAborted(leadership)) {
      await handle.close();
      return undefined;
    }
    const phases = new JobPhaseTracker();
    const expectations = new CreateExpectations(this.clock);
    const reconciler = new StreamingJobReconciler({
      kube: this.kube,
      cache: this.cache,
      coordination: handle.coordination,
      events: new EventRecorder({ client: this.kube, reportingController, reportingInstance: this.options.identity, clock: this.clock, logger: this.logger }),
      pods: { zkConnect: this.options.zkConnect, zkRoot: this.options.zkRoot },
      phases,
      expectations,
      ...(this.options.progressRefreshPeriodMs === undefined ? {} : { progressRefreshMs: this.options.progressRefreshPeriodMs }),
      clock: this.clock,
      logger: this.logger,
    });
    const controller = new Controller({ name: controllerName, reconciler, workers: this.options.workers, metrics: controllerMetrics, clock: this.clock, logger: this.logger });
    const queue = controller.queue;
    const unhook = [
      ...this.jobInformers.map((informer) => informer.addHandler(jobHandler(queue))),
      ...this.podInformers.map((informer) => informer.addHandler(ownedObjectHandler<Pod>(queue, expectations))),
      ...this.serviceInformers.map((informer) => informer.addHandler(ownedObjectHandler<Service>(queue, expectations))),
      handle.coordination.onMembershipChange((job) => {
        queue.add(`${job.namespace}/${job.name}`);
      }),
      // Every job's status says whether its ZooKeeper state can be read: each is looked at when
      // the connection is lost and again when it is back, not at its next refresh.
      handle.coordination.onConnectionChange(() => {
        for (const key of this.cache.jobKeys()) queue.add(key);
      }),
    ];
    controller.start();
    this.term = { controller, handle, unhook, phases };
    this.logger.info({ jobs: this.cache.jobKeys().length }, 'leading: reconciling StreamingJobs');
    return this.term;
  }

  private async openCoordination(leadership: AbortSignal): Promise<CoordinationHandle | undefined> {
    for (let attempt = 0; !isAborted(leadership); attempt += 1) {
      try {
        return await this.runtime.openCoordination();
      } catch (err) {
        const delay = backoffDelay(attempt, { initialMs: 1000, maxMs: 30_000 }, this.random);
        this.logger.warn({ err: err instanceof Error ? err.message : String(err), retryInMs: delay }, 'cannot open ZooKeeper; retrying');
        await sleep(this.clock, delay, leadership);
      }
    }
    return undefined;
  }

  /** Stops the leader's work: no new passes, passes in flight finish, ZooKeeper closed. */
  private async stopLeading(): Promise<void> {
    const term = this.term ?? (await this.leading);
    this.term = undefined;
    this.leading = undefined;
    if (term === undefined) return;
    for (const unhook of term.unhook) unhook();
    await term.controller.stop(this.runtime.drainTimeoutMs ?? 20_000);
    await term.handle.close();
    term.phases.reset();
  }
}
