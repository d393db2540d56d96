#!/usr/bin/env node
// Thin launcher: the CLI lives in the compiled dist/ (run `npm run build` in a checkout).
import { run } from '../dist/cli/run.js';

await run();
