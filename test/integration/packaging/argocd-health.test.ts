import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { installGoProgram } from '../../support/go-program.js';
import { readRepoFile, repoRoot } from '../../support/packaging/manifests.js';

// Runs the Argo CD health check the way Argo CD does (gopher-lua, Lua 5.1, base and table
// libraries only) through tools/lua/health-lua, built once by tools/lua/install.sh and cached.
const script = join(repoRoot, 'charts', 'streamkeeper', 'health', 'streamingjob.lua');
const sample = parse(readRepoFile('manifests/samples/wordcount.yaml')) as Record<string, unknown> & { metadata: Record<string, unknown> };

interface Health {
  readonly status?: string;
  readonly message?: string;
  readonly error?: string;
}

let healthLua = '';

beforeAll(() => {
  healthLua = installGoProgram('lua');
}, 600_000);

function ready(status: 'True' | 'False' | 'Unknown', reason: string, message: string, observedGeneration = 3): Record<string, unknown> {
  return { type: 'Ready', status, reason, message, observedGeneration, lastTransitionTime: '2026-01-01T00:00:00Z' };
}

/** The sample job at generation 3 with the given status (and metadata additions). */
function job(status: Record<string, unknown> | undefined, metadata: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...sample, metadata: { ...sample.metadata, namespace: 'team-a', generation: 3, ...metadata }, ...(status === undefined ? {} : { status }) };
}

function health(objects: readonly Record<string, unknown>[]): Health[] {
  const result = spawnSync(healthLua, [script], { input: JSON.stringify(objects), encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`health-lua failed:\n${result.stderr}`);
  return JSON.parse(result.stdout) as Health[];
}

const cases: [string, Record<string, unknown>, Health][] = [
  [
    'Healthy: running, Ready and the current generation observed',
    job({ observedGeneration: 3, phase: 'Running', conditions: [ready('True', 'BatchesCommitting', '2/2 executors, batch 41 committed')] }),
    { status: 'Healthy', message: '2/2 executors, batch 41 committed' },
  ],
  [
    'Progressing: the operator has not observed the latest generation',
    job({ observedGeneration: 2, phase: 'Running', conditions: [ready('True', 'BatchesCommitting', 'ok', 2)] }),
    { status: 'Progressing', message: 'The operator has not yet observed generation 3 (status is from generation 2)' },
  ],
  [
    'Progressing: the Ready condition is from an older generation',
    job({ observedGeneration: 3, phase: 'Running', conditions: [ready('True', 'BatchesCommitting', 'ok', 2)] }),
    { status: 'Progressing', message: 'The Ready condition is from generation 2' },
  ],
  ['Progressing: no status yet', job(undefined), { status: 'Progressing', message: 'Waiting for the operator to observe the job' }],
  [
    'Progressing: pending while pods start',
    job({ observedGeneration: 3, phase: 'Pending', conditions: [ready('Unknown', 'PodsStarting', 'waiting for 2 executors')] }),
    { status: 'Progressing', message: 'waiting for 2 executors' },
  ],
  [
    'Progressing: running but Ready unknown',
    job({ observedGeneration: 3, phase: 'Running', conditions: [ready('Unknown', 'ExecutorLost', 'rescheduling tasks of executor-1')] }),
    { status: 'Progressing', message: 'rescheduling tasks of executor-1' },
  ],
  [
    'Progressing: being deleted',
    job({ observedGeneration: 3, phase: 'Running', conditions: [ready('True', 'BatchesCommitting', 'ok')] }, { deletionTimestamp: '2026-01-01T00:00:00Z' }),
    { status: 'Progressing', message: "Deleting: the operator is removing the job's pods and ZooKeeper data" },
  ],
  [
    'Suspended: spec.suspend is true',
    job({ observedGeneration: 3, phase: 'Suspended', conditions: [ready('False', 'Suspended', 'suspended: no pods run')] }),
    { status: 'Suspended', message: 'suspended: no pods run' },
  ],
  [
    'Degraded: batches fail and the job goes on',
    job({ observedGeneration: 3, phase: 'Degraded', conditions: [ready('False', 'BatchFailed', 'batch 12 failed after 6 attempts')] }),
    { status: 'Degraded', message: 'batch 12 failed after 6 attempts' },
  ],
  ['Degraded: the job failed', job({ observedGeneration: 3, phase: 'Failed' }), { status: 'Degraded', message: 'Phase Failed' }],
  [
    'Degraded: the spec is invalid (InvalidSpec)',
    job({ observedGeneration: 3, phase: 'Pending', conditions: [ready('False', 'InvalidSpec', 'spec.sink.kafka.topic: topic "out" does not exist')] }),
    { status: 'Degraded', message: 'spec.sink.kafka.topic: topic "out" does not exist' },
  ],
];

describe('the Argo CD health check for StreamingJob', () => {
  it.each(cases)('%s', (_name, object, expected) => {
    expect(health([object])).toEqual([expected]);
  });

  it('runs without the string library, as Argo CD runs custom checks', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'streamkeeper-lua-'));
    try {
      const uses = join(scratch, 'uses-string.lua');
      writeFileSync(uses, 'return { status = string.format("%s", "Healthy") }\n');
      const result = spawnSync(healthLua, [uses], { input: JSON.stringify([job(undefined)]), encoding: 'utf8' });
      expect((JSON.parse(result.stdout) as Health[])[0]?.error).toMatch(/format/);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
