// The streamkeeper CLI from the sources, for benches that run driver and executor processes:
//   node bench/run.mjs bench/runtime-pod.ts driver|executor [flags]
// With BENCH_GC_FILE set, the process keeps writing its garbage-collection time so far (ms) to
// that file, for the bench to report GC's share of the CPU time.
import { writeFileSync } from 'node:fs';
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';
import { run } from '../src/cli/run.js';

const gcFile = process.env.BENCH_GC_FILE;
if (gcFile !== undefined && gcFile !== '') {
  let gcMs = 0;
  const gcPauseKinds = new Set([constants.NODE_PERFORMANCE_GC_MINOR, constants.NODE_PERFORMANCE_GC_MAJOR]);
  new PerformanceObserver((list) => {
    // Pauses only: scavenges and the final mark-compact. Incremental marking's entries span the
    // time the program ran between its steps, and concurrent marking runs on other threads.
    for (const entry of list.getEntries()) if (gcPauseKinds.has((entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? 0)) gcMs += entry.duration;
  }).observe({ entryTypes: ['gc'] });
  // Written only when it changed: an idle pod's instrument should cost it nothing.
  let written = -1;
  setInterval(() => {
    if (gcMs === written) return;
    written = gcMs;
    writeFileSync(gcFile, String(gcMs));
  }, 100).unref();
}

await run();
