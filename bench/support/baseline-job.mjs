// A passthrough job run by an older tree of streamkeeper (materialised by bench/support/baseline.ts),
// for runtime-throughput's same-run baseline. Plain JavaScript on purpose: it is executed by the
// OLD tree's bench/run.mjs loader and imports the OLD tree's sources by path, so it cannot be
// type-checked against today's sources. It only uses APIs the old bench used for its own jobs.
//
//   node <tree>/bench/run.mjs <this file> job '<json: tree, zkConnect, brokers, source, sink, records, chunk, delivery, executors>'
//     -> sets the job up in ZooKeeper with the old tree's code, starts its driver and executors as
//        processes of the old tree, waits for the first batch, then measures until every source
//        record is committed: prints one JSON line {recordsPerSecond, recordsPerCpuSecond, gcShare}.
//   node <tree>/bench/run.mjs <this file> pod <tree> <gc file> driver|executor [flags]
//     -> one pod of the old tree, writing its garbage-collection pause time (ms) to <gc file>.
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [mode, ...rest] = process.argv.slice(2);
const self = fileURLToPath(import.meta.url);

/** A module of the old tree's sources (its loader transpiles .ts). */
const old = (tree, path) => import(pathToFileURL(join(tree, path)).href);

if (mode === 'pod') {
  const [tree, gcFile, ...podArgs] = rest;
  let gcMs = 0;
  // Pauses only, as bench/runtime-pod.ts counts them for today's pods.
  const pauses = new Set([constants.NODE_PERFORMANCE_GC_MINOR, constants.NODE_PERFORMANCE_GC_MAJOR]);
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (pauses.has(entry.detail?.kind ?? 0)) gcMs += entry.duration;
  }).observe({ entryTypes: ['gc'] });
  let written = -1;
  setInterval(() => {
    if (gcMs === written) return;
    written = gcMs;
    writeFileSync(gcFile, String(gcMs));
  }, 100).unref();
  process.argv = [process.argv[0], join(tree, 'bench', 'runtime-pod.ts'), ...podArgs];
  const { run } = await old(tree, 'src/cli/run.ts');
  await run();
} else if (mode === 'job') {
  const spec = JSON.parse(rest[0] ?? '{}');
  const { tree } = spec;
  const { AclScheme, jobUser } = await old(tree, 'src/coordination/acl.ts');
  const { ConfigMirror } = await old(tree, 'src/coordination/config-mirror.ts');
  const { CoordinationLayout } = await old(tree, 'src/coordination/layout.ts');
  const { ZooKeeperSession } = await old(tree, 'src/coordination/session.ts');
  const { ensureJobSubtree } = await old(tree, 'src/coordination/subtree.ts');
  const { TaskLedger } = await old(tree, 'src/coordination/task-ledger.ts');
  const { generateCredential } = await old(tree, 'src/coordination/zookeeper/digest.ts');
  const { NativeZooKeeperClient } = await old(tree, 'src/coordination/zookeeper/native-client.ts');

  const clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  const cpuMs = (pid) => {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
    } catch {
      return 0;
    }
  };

  const scheme = AclScheme.digest(generateCredential('streamkeeper-operator'));
  const operator = await ZooKeeperSession.open({ connector: (o) => NativeZooKeeperClient.connect(o), connectString: spec.zkConnect, auth: scheme.operatorAuth });
  const ref = { namespace: 'bench', name: `baseline-${randomBytes(3).toString('hex')}` };
  const layout = new CoordinationLayout(`/bench-baseline-${randomBytes(4).toString('hex')}`);
  const credential = generateCredential(jobUser(ref));
  const gcDir = mkdtempSync(join(tmpdir(), 'bench-baseline-gc-'));
  const pods = [];
  const ledger = new TaskLedger(operator, layout);
  const committed = async () => ((await ledger.readOffsets(ref))?.record.partitions ?? []).reduce((sum, p) => sum + Number(p.next), 0);
  const usage = () => {
    let cpu = 0;
    let gc = 0;
    for (const [i, pod] of pods.entries()) {
      cpu += cpuMs(pod.pid);
      try {
        gc += Number(readFileSync(join(gcDir, String(i)), 'utf8')) || 0;
      } catch {
        // not written yet
      }
    }
    return { cpu, gc };
  };
  try {
    await ensureJobSubtree(operator, layout, ref, { ancestors: scheme.ancestors(), job: scheme.job(credential) });
    await new ConfigMirror(operator, layout).publish(ref, 1, {
      config: {},
      processor: { name: 'passthrough', params: {} },
      batchInterval: '250ms',
      maxRecordsPerPartition: spec.chunk,
      maxTaskAttempts: 4,
      source: { bootstrapServers: spec.brokers, topics: [spec.source], startingOffsets: 'earliest' },
      sink: { bootstrapServers: spec.brokers, topic: spec.sink, delivery: spec.delivery },
      failurePolicy: { onTaskExhausted: 'fail', poisonRecords: 'fail' },
    });
    const start = (role, pod) => {
      const gcFile = join(gcDir, String(pods.length));
      pods.push(
        spawn(process.execPath, [join(tree, 'bench', 'run.mjs'), self, 'pod', tree, gcFile, role, '--log-format=json', '--log-level=warn'], {
          cwd: tree,
          stdio: ['ignore', 'ignore', 'inherit'],
          env: {
            PATH: process.env.PATH,
            STREAMKEEPER_JOB: `${ref.namespace}/${ref.name}`,
            POD_NAME: pod,
            ZK_CONNECT: spec.zkConnect,
            STREAMKEEPER_ZK_ROOT: layout.root,
            STREAMKEEPER_ZK_USER: credential.user,
            STREAMKEEPER_ZK_PASSWORD: credential.password,
            STREAMKEEPER_METRICS_ADDR: '127.0.0.1:0',
            KAFKAJS_NO_PARTITIONER_WARNING: '1',
          },
        }),
      );
    };
    for (let i = 0; i < spec.executors; i++) start('executor', `executor-${i}`);
    start('driver', 'driver-0');
    const deadline = Date.now() + 300_000;
    while ((await ledger.readOffsets(ref)) === null) {
      if (Date.now() > deadline) throw new Error('the baseline job did not start');
      await sleep(20);
    }
    const started = performance.now();
    const before = usage();
    const startCommitted = await committed();
    while ((await committed()) < spec.records) {
      if (Date.now() > deadline) throw new Error('the baseline job did not finish in time');
      await sleep(20);
    }
    const after = usage();
    const moved = spec.records - startCommitted;
    const cpu = after.cpu - before.cpu;
    process.stdout.write(
      `${JSON.stringify({ recordsPerSecond: moved / ((performance.now() - started) / 1000), recordsPerCpuSecond: moved / (cpu / 1000), gcShare: (after.gc - before.gc) / cpu, node: process.version })}\n`,
    );
  } finally {
    await Promise.all(
      pods.map(
        (pod) =>
          new Promise((resolve) => {
            if (pod.exitCode !== null || pod.signalCode !== null) return resolve();
            pod.once('exit', resolve);
            pod.kill('SIGKILL');
          }),
      ),
    );
    rmSync(gcDir, { recursive: true, force: true });
    await operator.close();
  }
} else {
  process.stderr.write('usage: node <tree>/bench/run.mjs baseline-job.mjs job <json> | pod <tree> <gc file> <role> [flags]\n');
  process.exit(2);
}
