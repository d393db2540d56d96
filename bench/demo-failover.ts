/**
 * How fast a SIGKILLed executor is noticed and repaired, end to end: runs `streamkeeper demo`
 * (a whole local cluster, the wordcount sample, an executor killed while it holds tasks, the
 * output verified exactly) several times and collects the figures it prints, timed from the kill.
 * The baseline is what detection by ZooKeeper alone costs: the executor's session timeout (10 s),
 * after which its ephemeral node goes and its replacement may register.
 *
 *   node bench/run.mjs bench/demo-failover.ts [--rounds 3] [--lines 30000]
 *
 * Runs from dist/ (rebuilt first if a source is newer) in a scratch directory; each round starts and stops its
 * own local cluster, so rounds share nothing.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureBuilt, root } from './support/built.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, lines: { type: 'string', default: '30000' } } });
const rounds = Number(values.rounds);
const sessionTimeoutMs = 10_000;

const steps = {
  terminated: /\+([\d.]+) s +the node reports pod/,
  rescheduled: /\+([\d.]+) s +its tasks are rescheduled/,
  unregistered: /\+([\d.]+) s +its ZooKeeper registration \(ephemeral znode\) is gone/,
  event: /\+([\d.]+) s +the operator's Event ExecutorFailed/,
  replacement: /\+([\d.]+) s +the replacement pod/,
} as const;
type Step = keyof typeof steps;

function seconds(text: string, pattern: RegExp): number | undefined {
  const match = pattern.exec(text);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

function totalSeconds(text: string): number | undefined {
  const match = /took +(?:(\d+)m )?(\d+)s/.exec(text);
  return match === null ? undefined : Number(match[1] ?? 0) * 60 + Number(match[2]);
}

ensureBuilt();
const results: { figures: Partial<Record<Step, number>>; took: number | undefined }[] = [];
for (let round = 1; round <= rounds; round++) {
  const cwd = mkdtempSync(join(tmpdir(), 'sk-bench-demo-'));
  try {
    const started = Date.now();
    const run = spawnSync(process.execPath, [join(root, 'bin', 'streamkeeper.js'), 'demo', '--lines', values.lines], { cwd, encoding: 'utf8', timeout: 600_000 });
    const output = `${run.stdout}${run.stderr}`;
    if (run.status !== 0) {
      console.log(output);
      throw new Error(`round ${round}: the demo exited with ${String(run.status)}`);
    }
    const figures = Object.fromEntries(Object.entries(steps).map(([step, pattern]) => [step, seconds(output, pattern)])) as Partial<Record<Step, number>>;
    results.push({ figures, took: totalSeconds(output) });
    console.log(`round ${round}: ${(Object.keys(steps) as Step[]).map((step) => `${step} ${figures[step] === undefined ? '-' : `${String(figures[step])} s`}`).join(', ')}; demo ${String(totalSeconds(output))} s (wall ${((Date.now() - started) / 1000).toFixed(0)} s)`);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

function summary(values: readonly number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? NaN;
  return `min ${(sorted[0] ?? NaN).toFixed(2)} s, median ${median.toFixed(2)} s, max ${(sorted.at(-1) ?? NaN).toFixed(2)} s`;
}

console.log(`\n${rounds} rounds, ${values.lines} lines each; times from the SIGKILL:`);
for (const step of Object.keys(steps) as Step[]) {
  const seen = results.map((r) => r.figures[step]).filter((s): s is number => s !== undefined);
  console.log(`  ${step.padEnd(13)} ${seen.length === 0 ? 'not observed' : summary(seen)}`);
}
const replacements = results.map((r) => r.figures.replacement).filter((s): s is number => s !== undefined);
const medianReplacement = [...replacements].sort((a, b) => a - b)[Math.floor(replacements.length / 2)];
if (medianReplacement !== undefined) {
  console.log(`  replacement registered vs. waiting out the session (${sessionTimeoutMs / 1000} s): ${(medianReplacement / (sessionTimeoutMs / 1000)).toFixed(2)}x`);
}
const took = results.map((r) => r.took).filter((s): s is number => s !== undefined);
if (took.length > 0) console.log(`  whole demo    ${summary(took)} (target: under 180 s)`);
