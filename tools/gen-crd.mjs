#!/usr/bin/env node
// Writes the StreamingJob CRD (crds/streamkeeper.io_streamingjobs.yaml) and the field reference
// of docs/api.md from the schema in src/api/v1alpha1, through the compiled module in dist/.
// A unit test fails while either file is out of date.
//
//   node tools/gen-crd.mjs              build dist/ (tsc -p tsconfig.build.json), then write both
//   node tools/gen-crd.mjs --no-build   use dist/ as it is
//   node tools/gen-crd.mjs --check      write nothing; exit 1 if a file is out of date
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const unknown = args.filter((a) => a !== '--no-build' && a !== '--check');
if (unknown.length > 0) {
  console.error(`gen-crd: unknown argument ${unknown.join(' ')} (expected --no-build, --check)`);
  process.exit(2);
}

if (!args.includes('--no-build')) {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const build = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) {
    console.error('gen-crd: the build failed; fix it (or pass --no-build to use dist/ as it is)');
    process.exit(1);
  }
}

const api = await import(pathToFileURL(join(root, 'dist', 'api', 'v1alpha1', 'index.js')).href);

const docsFile = 'docs/api.md';
const docs = readFileSync(join(root, docsFile), 'utf8');
const newDocs = api.withFieldReference(docs);
if (newDocs === undefined) {
  console.error(`gen-crd: ${docsFile} lacks the markers ${api.fieldReferenceMarkers.begin} … ${api.fieldReferenceMarkers.end}`);
  process.exit(1);
}

const outputs = [
  { file: api.crdFile, text: api.renderCrdYaml() },
  { file: docsFile, text: newDocs },
];

let stale = 0;
for (const { file, text } of outputs) {
  const path = join(root, file);
  let current;
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === text) {
    console.log(`${file}: up to date`);
    continue;
  }
  stale += 1;
  if (args.includes('--check')) {
    console.log(`${file}: out of date`);
  } else {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    console.log(`${file}: written`);
  }
}
process.exit(args.includes('--check') && stale > 0 ? 1 : 0);
