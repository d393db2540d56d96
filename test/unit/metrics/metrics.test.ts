import { describe, expect, it } from '@jest/globals';
import { initControllerMetrics, jobPhases, registry } from '../../../src/metrics/index.js';

describe('the metrics catalogue', () => {
  it('names every streamkeeper metric streamkeeper_*', async () => {
    const names = (await registry.getMetricsAsJSON()).map((metric) => metric.name);
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((name) => !name.startsWith('streamkeeper_'))).toEqual([]);
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
});
