// The streamkeeper CLI from the sources, for benches that run driver and executor processes:
//   node bench/run.mjs bench/runtime-pod.ts driver|executor [flags]
// With BENCH_GC_FILE set, the process keeps writing its garbage-collection time so far (ms) to
// that file, for the bench to report GC's share of the CPU time.
import { writeFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import { run } from '../src/cli/run.js';

const gcFile = process.env.BENCH_GC_FILE;
if (gcFile !== undefined && gcFile !== '') {
  let gcMs = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMs += entry.duration;
  }).observe({ entryTypes: ['gc'] });
  setInterval(() => {
    writeFileSync(gcFile, String(gcMs));
  }, 100).unref();
}

await run();
