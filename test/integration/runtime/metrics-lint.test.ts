import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createNamespace, deleteNamespace, uniqueSuffix } from '../../harness/kube.js';
import { OperatorProcess, writeCredentialsFile } from '../e2e/support/operator-process.js';
import { CoordinationSide } from '../operator/operator-world.js';
import { installGoProgram } from '../../support/go-program.js';
import { repoRoot } from '../../support/packaging/manifests.js';
import { pollUntil } from '../../support/poll-until.js';
import { RuntimeWorld } from './support/runtime-world.js';

// Prometheus' own lint (`promtool check metrics`, tools/promtool: the promlint of the
// client_golang promtool links, built by the harness from the Go module proxy and cached) on real
// scrapes of an operator, a driver and an executor, each running as the process it is in a pod.
// The operator is also held to a clean start: nothing on stderr but its own log lines.

let promtool = '';
/** Every scrape taken, by process: the dashboard's queries are checked against them. */
const scrapes = new Map<string, string>();

/** Families of a scrape and the labels their samples carry (`le` of histogram buckets too). */
function familiesOf(scrape: string): Map<string, Set<string>> {
  const families = new Map<string, Set<string>>();
  for (const line of scrape.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0] ?? '';
    const labels = families.get(name) ?? new Set<string>();
    for (const match of (/\{(.*)\}/.exec(line)?.[1] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) labels.add(match[1] ?? '');
    families.set(name, labels);
  }
  return families;
}

function checkMetrics(scrape: string): { code: number | null; problems: string } {
  const result = spawnSync(promtool, [], { input: scrape, encoding: 'utf8' });
  return { code: result.status, problems: result.stderr };
}

beforeAll(() => {
  promtool = installGoProgram('promtool');
}, 900_000);

describe('promtool check metrics on real scrapes', () => {
  it('holds promtool to its word: a gauge named like a counter is a problem', () => {
    const bad = checkMetrics('# HELP streamkeeper_x_total A gauge.\n# TYPE streamkeeper_x_total gauge\nstreamkeeper_x_total 1\n');
    expect(bad.code).toBe(3);
    expect(bad.problems).toContain('non-counter metrics should not have "_total" suffix');
  });

  describe('a driver and an executor committing a batch', () => {
    let world: RuntimeWorld;

    beforeAll(async () => {
      world = new RuntimeWorld();
      await world.start(world.config({ processor: { name: 'wordcount', params: {} } }));
    });
    afterAll(async () => {
      await world.close();
    });

    it('passes on both scrapes', async () => {
      try {
        await world.produce(0, ['the quick brown fox']);
        const executor = world.executor('executor-0');
        const driver = world.driver();
        await world.waitForPositions({ 0: 1 });
        for (const [name, process] of [['driver', driver], ['executor', executor]] as const) {
          const scrape = await process.metrics();
          scrapes.set(name, scrape);
          expect(scrape).toContain('streamkeeper_');
          expect(checkMetrics(scrape)).toEqual({ code: 0, problems: '' });
        }
      } catch (err) {
        world.markFailed();
        throw err;
      }
    });
  });

  describe('an operator', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'sk-metrics-lint-'));
    let namespace = '';
    let operator: OperatorProcess | undefined;
    let side: CoordinationSide | undefined;

    beforeAll(async () => {
      namespace = await createNamespace('metrics-lint');
      side = new CoordinationSide();
      const credentialsFile = writeCredentialsFile(join(scratch, 'credentials'), side.operatorCredential);
      operator = await OperatorProcess.start({ identity: 'lint-0', namespaces: [namespace], zkRoot: side.root, credentialsFile, leaseName: `metrics-lint-${uniqueSuffix()}`, logFile: join(scratch, 'operator.log') });
    });
    afterAll(async () => {
      await operator?.stop();
      await side?.closeAll();
      await deleteNamespace(namespace);
      rmSync(scratch, { recursive: true, force: true });
    });

    it('passes on its scrape', async () => {
      // The controller's and work queue's series appear once this operator leads and its
      // controller starts; the dashboard is read against a leading operator's scrape.
      const scrape = await pollUntil(
        async () => {
          const text = (await operator?.metrics()) ?? '';
          expect(text).toContain('streamkeeper_reconcile_total{');
          expect(text).toContain('streamkeeper_workqueue_depth{');
          return text;
        },
        'the leading operator exports its controller series',
        { timeoutMs: 60_000, pollMs: 250 },
      );
      scrapes.set('operator', scrape);
      expect(checkMetrics(scrape)).toEqual({ code: 0, problems: '' });
    });

    it('starts with the Node.js options it is installed with, without a warning: only its own JSON log lines', () => {
      const foreign = readFileSync(join(scratch, 'operator.log'), 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '' && !line.startsWith('{'));
      expect(foreign).toEqual([]);
    });
  });

  it('the Grafana dashboard the chart ships queries only metrics and labels those scrapes export', () => {
    expect([...scrapes.keys()].sort()).toEqual(['driver', 'executor', 'operator']);
    const exported = new Map<string, Set<string>>();
    for (const scrape of scrapes.values()) for (const [family, labels] of familiesOf(scrape)) exported.set(family, new Set([...(exported.get(family) ?? []), ...labels]));
    // Labels Prometheus adds to every target when it scrapes a pod, not part of any exposition.
    const targetLabels = new Set(['namespace', 'pod', 'job', 'instance']);
    const dashboard = JSON.parse(readFileSync(join(repoRoot, 'charts', 'streamkeeper', 'dashboards', 'streamkeeper.json'), 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[] };
    const queries = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr })));
    expect(queries.length).toBeGreaterThan(15);
    const problems: string[] = [];
    for (const { panel, expr } of queries) {
      const metrics = [...expr.matchAll(/streamkeeper_[a-z0-9_]+/g)].map((m) => m[0]);
      if (metrics.length === 0) problems.push(`${panel}: ${expr} names no streamkeeper metric`);
      for (const metric of metrics) {
        const labels = exported.get(metric);
        if (labels === undefined) {
          problems.push(`${panel}: ${metric} is in no scrape`);
          continue;
        }
        const selector = new RegExp(`${metric}\\{([^}]*)\\}`).exec(expr)?.[1] ?? '';
        const used = [...selector.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g)].map((m) => m[1] ?? '');
        for (const label of used) if (!labels.has(label) && !targetLabels.has(label)) problems.push(`${panel}: ${metric} has no label ${label}`);
      }
      for (const grouping of expr.matchAll(/by \(([^)]*)\)/g)) {
        for (const label of (grouping[1] ?? '').split(',').map((l) => l.trim())) {
          const known = metrics.some((metric) => exported.get(metric)?.has(label) === true) || targetLabels.has(label);
          if (!known) problems.push(`${panel}: grouped by ${label}, which none of ${metrics.join(', ')} carries`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
