// The Kafka client candidates on one broker and the same work, each in a process of its own on
// Node.js 24 (@platformatic/kafka needs >= 22.22):
//
//   node bench/run.mjs bench/kafka-clients.ts [--records 400000] [--partitions 4] [--clients kafkajs,librdkafka,platformatic]
//
// Per client: exactly-once produce (one transaction per 20,000 records) and a read_committed read
// of everything back (see kafka-clients-worker.ts), each run twice (the first warms the JIT and the
// broker), the second reported: records/s, records per CPU-second, GC share of CPU; ratios vs
// kafkajs. Node 24 comes from STREAMKEEPER_NODE or the project's cache (~/.cache/streamkeeper/node).
// @platformatic/kafka is installed into ~/.cache/streamkeeper/bench/platformatic-kafka on first use.
// Uses KAFKA_BROKERS when set, else starts (and afterwards destroys) its own broker.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KafkaServer } from '../src/local/kafka-server.js';
import { createKafkaClient } from '../src/runtime/kafka/index.js';

function option(flag: string, fallback: string): string {
  const i = process.argv.indexOf(flag);
  return i < 0 ? fallback : (process.argv[i + 1] ?? fallback);
}

const records = Number(option('--records', '400000'));
const partitions = Number(option('--partitions', '4'));
const clients = option('--clients', 'kafkajs,librdkafka,platformatic').split(',');
const platformaticVersion = '2.12.1';
const cache = process.env.STREAMKEEPER_CACHE ?? join(homedir(), '.cache', 'streamkeeper');

function node24(): string {
  if (process.env.STREAMKEEPER_NODE !== undefined) return process.env.STREAMKEEPER_NODE;
  const dir = join(cache, 'node');
  const version = existsSync(dir) ? readdirSync(dir).filter((v) => v.startsWith('v24.')).sort().pop() : undefined;
  if (version === undefined) return process.execPath;
  return join(dir, version, process.arch, 'bin', 'node');
}

interface Phase {
  seconds: number;
  cpuSeconds: number;
  gcMs: number;
}

const node = node24();
const env = { ...process.env, PATH: `${join(node, '..')}:${process.env.PATH ?? ''}` };
if (clients.includes('platformatic')) {
  const dir = join(cache, 'bench', 'platformatic-kafka');
  if (!existsSync(join(dir, 'node_modules', '@platformatic', 'kafka', 'package.json'))) {
    process.stderr.write(`installing @platformatic/kafka@${platformaticVersion} into ${dir}\n`);
    execFileSync('npm', ['install', '--prefix', dir, '--no-audit', '--no-fund', '--no-save', `@platformatic/kafka@${platformaticVersion}`], { stdio: 'inherit', env });
  }
}
// The native client must be built for the ABI of the node that runs the workers.
execFileSync('bash', ['tools/kafka-client/install.sh'], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...env, STREAMKEEPER_NODE: node } });

const server = process.env.KAFKA_BROKERS === undefined ? await KafkaServer.start() : undefined;
const brokers = process.env.KAFKA_BROKERS ?? `127.0.0.1:${server?.port ?? 0}`;
const admin = createKafkaClient('kafkajs', { brokers: brokers.split(','), clientId: 'bench-clients' });
const topics: string[] = [];

function line(what: string, figure: string): void {
  process.stdout.write(`${what.padEnd(44)} ${figure}\n`);
}

try {
  const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  line(`${records} records of ~100 bytes, ${partitions} partitions, Node ${version}`, '');
  const results = new Map<string, { produce: Phase; read: Phase }>();
  for (const library of clients) {
    let last: { produce: Phase; read: Phase } | undefined;
    for (let run = 0; run < 2; run++) {
      const topic = `bench-clients-${library}-${randomBytes(3).toString('hex')}`;
      await admin.admin.createTopic(topic, { partitions });
      topics.push(topic);
      const output = execFileSync(node, ['bench/run.mjs', 'bench/kafka-clients-worker.ts', library, brokers, topic, String(records), String(partitions)], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'inherit'] });
      last = JSON.parse(output.trim().split('\n').pop() ?? '{}') as { produce: Phase; read: Phase };
    }
    if (last === undefined) continue;
    results.set(library, last);
    for (const phase of ['produce', 'read'] as const) {
      const p = last[phase];
      line(`${library}: ${phase === 'produce' ? 'exactly-once produce' : 'read_committed read'}`, `${Math.round(records / p.seconds)} records/s, ${Math.round(records / p.cpuSeconds)} records/CPU-s, GC ${((p.gcMs / 1000 / p.cpuSeconds) * 100).toFixed(1)}% of CPU`);
    }
  }
  const baseline = results.get('kafkajs');
  if (baseline !== undefined) {
    for (const [library, r] of results) {
      if (library === 'kafkajs') continue;
      const ratio = (phase: 'produce' | 'read'): string => `${(baseline[phase].seconds / r[phase].seconds).toFixed(2)}x records/s, ${(baseline[phase].cpuSeconds / r[phase].cpuSeconds).toFixed(2)}x records/CPU-s`;
      line(`${library} vs kafkajs`, `produce ${ratio('produce')}; read ${ratio('read')}`);
    }
  }
} finally {
  for (const topic of topics) await admin.admin.deleteTopic(topic).catch(() => undefined);
  await admin.close();
  await server?.destroy();
}
