// The streamkeeper CLI from the sources, for benches that run driver and executor processes:
//   node bench/run.mjs bench/runtime-pod.ts driver|executor [flags]
import { run } from '../src/cli/run.js';

await run();
