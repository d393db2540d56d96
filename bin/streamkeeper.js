#!/usr/bin/env node
// Thin launcher: the CLI lives in the compiled dist/ (run `npm run build` in a checkout).
// streamkeeper runs on Node.js 24. In a checkout on an older Node.js, tools/node fetches 24
// (cached outside the repository) and runs the CLI on it; an installed package has no tools/.
import { existsSync } from 'node:fs';

const productMajor = 24;
if (Number(process.versions.node.split('.')[0]) !== productMajor) {
  const runtime = new URL('../tools/node/runtime.mjs', import.meta.url);
  if (existsSync(runtime)) {
    const { runOnProductNode } = await import(runtime.href);
    await runOnProductNode();
  } else if (Number(process.versions.node.split('.')[0]) < productMajor) {
    process.stderr.write(`streamkeeper needs Node.js ${productMajor}; this is ${process.version}\n`);
    process.exit(1);
  }
}
const { run } = await import('../dist/cli/run.js');
await run();
