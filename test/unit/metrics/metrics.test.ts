import { describe, expect, it } from '@jest/globals';
import type { Registry } from 'prom-client';
import { driverRegistry, executorMetrics, executorRegistry, initControllerMetrics, jobPhases, operatorRegistry as registry, operatorRegistry } from '../../../src/metrics/index.js';

const familyNames = async (of: Registry): Promise<string[]> => (await of.getMetricsAsJSON()).map((metric) => metric.name);

describe('the metrics catalogue', () => {
  it('names every streamkeeper metric streamkeeper_*', async () => {
    for (const of of [operatorRegistry, driverRegistry, executorRegistry]) {
      const names = await familyNames(of);
      expect(names.length).toBeGreaterThan(0);
      expect(names.filter((name) => !name.startsWith('streamkeeper_'))).toEqual([]);
    }
  });

  it('gives each process only its own families, plus its ZooKeeper session', async () => {
    const operator = await familyNames(operatorRegistry);
    const driver = await familyNames(driverRegistry);
    const executor = await familyNames(executorRegistry);
    const session = ['streamkeeper_zookeeper_session_state', 'streamkeeper_zookeeper_session_expirations_total', 'streamkeeper_zookeeper_reconnects_total'];
    for (const names of [operator, driver, executor]) expect(names).toEqual(expect.arrayContaining(session));
    const own = (names: string[]): string[] => names.filter((name) => !session.includes(name));
    expect(own(operator).filter((name) => name.startsWith('streamkeeper_driver_') || name.startsWith('streamkeeper_executor_') && name !== 'streamkeeper_executor_failures_total' && name !== 'streamkeeper_executor_drain_requests_total')).toEqual([]);
    expect(own(driver).filter((name) => !name.startsWith('streamkeeper_driver_'))).toEqual([]);
    expect(own(executor).filter((name) => !name.startsWith('streamkeeper_executor_'))).toEqual([]);
    expect(own(driver).length).toBeGreaterThan(0);
    expect(own(executor).length).toBeGreaterThan(0);
  });

  it('has every job phase at 0 before the reconciler sets them', async () => {
    const text = await registry.metrics();
    for (const phase of jobPhases) expect(text).toContain(`streamkeeper_jobs{phase="${phase}"} 0`);
  });

  it('pre-initialises every outcome of a controller at 0', async () => {
    initControllerMetrics('catalogue-check');
    const text = await registry.metrics();
    for (const result of ['success', 'error', 'requeue', 'requeue_after']) {
      expect(text).toContain(`streamkeeper_reconcile_total{controller="catalogue-check",result="${result}"} 0`);
    }
    expect(text).toContain('streamkeeper_reconcile_errors_total{controller="catalogue-check"} 0');
    expect(text).toContain('streamkeeper_reconcile_duration_seconds_count{controller="catalogue-check"} 0');
  });

  it('reports this replica as not leading until an election says otherwise', async () => {
    expect(await registry.metrics()).toContain('streamkeeper_leader 0');
  });

  it('sums the held state partitions into the state gauges and times restores by kind', async () => {
    expect(await executorRegistry.metrics()).toContain('streamkeeper_executor_state_restore_seconds_count{kind="incremental"} 0');
    executorMetrics.stateRestored?.({ partition: 0, records: 500, full: true, keys: 400, bytes: 40_000, millis: 250 });
    executorMetrics.stateSize?.(1, 100, 10_000);
    executorMetrics.stateSize?.(0, 450, 45_000);
    const text = await executorRegistry.metrics();
    expect(text).toContain('streamkeeper_executor_state_keys 550');
    expect(text).toContain('streamkeeper_executor_state_bytes 55000');
    expect(text).toContain('streamkeeper_executor_state_restored_records_total 500');
    expect(text).toContain('streamkeeper_executor_state_restore_seconds_count{kind="full"} 1');
  });
});
