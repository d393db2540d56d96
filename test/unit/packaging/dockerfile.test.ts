import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { globalArgs, parseDockerfile } from '../../support/packaging/dockerfile.js';
import { readRepoFile, repoRoot } from '../../support/packaging/manifests.js';

const stages = parseDockerfile(readRepoFile('Dockerfile'));
const build = stages[0];
const runtime = stages[stages.length - 1];
const contextSources = stages.flatMap((s) => s.copies.filter((c) => c.from === undefined).flatMap((c) => c.sources));

describe('the Dockerfile', () => {
  it('builds in one stage and runs in another', () => {
    expect(stages).toHaveLength(2);
    expect(build?.base).toBe('node:24-bookworm-slim');
    expect(build?.name).toBe('build');
  });

  it('runs on Node.js 24 on Debian 12, the glibc the native addon was built against', () => {
    expect(runtime?.base).toMatch(/^gcr\.io\/distroless\/nodejs24-debian12(:|@|$)/);
  });

  it('takes both bases as build arguments', () => {
    expect([...globalArgs(readRepoFile('Dockerfile')).keys()]).toEqual(expect.arrayContaining(['BUILD_BASE', 'RUNTIME_BASE']));
    expect(stages.map((s) => s.base)).not.toContainEqual(expect.stringContaining('$'));
  });

  it('copies only paths that exist in the repository', () => {
    expect(contextSources.length).toBeGreaterThan(0);
    expect(contextSources.filter((source) => !existsSync(join(repoRoot, source)))).toEqual([]);
  });

  it('sends every copied path in the build context (.dockerignore lets it through)', () => {
    const ignore = readRepoFile('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    // The context is an allowlist: everything is ignored, then each needed path is let through.
    expect(ignore[0]).toBe('*');
    const allowed = new Set(ignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, '')));
    expect(contextSources.map((s) => s.replace(/\/$/, '')).filter((s) => !allowed.has(s))).toEqual([]);
  });

  it('installs with the lockfile, builds, then drops the dev dependencies', () => {
    const runs = build?.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.rest).join('\n') ?? '';
    expect(runs).toMatch(/python3 make g\+\+/);
    expect(runs).toMatch(/npm ci\b/);
    expect(runs).toMatch(/npm run build/);
    expect(runs).toMatch(/npm prune --omit=dev/);
  });

  it('puts only what runs in the runtime image, all of it from the build stage', () => {
    expect(runtime?.copies.every((c) => c.from === 'build')).toBe(true);
    expect(runtime?.copies.flatMap((c) => c.sources.map((s) => s.replace(/^\/app\//, '').replace(/\/$/, ''))).sort()).toEqual([
      'bin',
      'crds',
      'dist',
      'node_modules',
      'package.json',
    ]);
  });

  it('runs as the non-root user 65532 and starts the streamkeeper CLI', () => {
    const last = (keyword: string): string | undefined => runtime?.instructions.filter((i) => i.keyword === keyword).pop()?.rest;
    expect(last('USER')).toBe('65532:65532');
    expect(JSON.parse(last('ENTRYPOINT') ?? '[]')).toEqual(['/nodejs/bin/node', '/app/bin/streamkeeper.js']);
  });
});
