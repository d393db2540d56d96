#!/usr/bin/env node
// Runs a TypeScript bench straight from the sources (`node bench/run.mjs bench/<name>.ts [args]`):
// registers a loader that transpiles .ts files with the project's own TypeScript compiler, so a
// fresh clone needs nothing beyond `npm ci`. Type-checking stays with `npm run typecheck`. Benches
// run on the product's Node.js (24), fetched into the cache first when the one on PATH is older.
import { readFile } from 'node:fs/promises';
import { register } from 'node:module';
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isMainThread } from 'node:worker_threads';

let ts;

/** Sources import `./x.js`; the file on disk is `./x.ts`. */
export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (err) {
    if (specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) return nextResolve(`${specifier.slice(0, -3)}.ts`, context);
    throw err;
  }
}

export async function load(url, context, nextLoad) {
  if (!url.endsWith('.ts')) return nextLoad(url, context);
  ts ??= (await import('typescript')).default;
  const fileName = fileURLToPath(url);
  const { outputText } = ts.transpileModule(await readFile(fileName, 'utf8'), {
    fileName,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, inlineSourceMap: true, verbatimModuleSyntax: true },
  });
  return { format: 'module', source: outputText, shortCircuit: true };
}

if (isMainThread) {
  const [script, ...args] = process.argv.slice(2);
  if (script === undefined) {
    process.stderr.write('usage: node bench/run.mjs bench/<name>.ts [args...]\n');
    process.exit(2);
  }
  const { runOnProductNode } = await import('../tools/node/runtime.mjs');
  await runOnProductNode();
  register(import.meta.url);
  process.argv = [process.argv[0], script, ...args];
  await import(pathToFileURL(resolvePath(script)).href);
}
