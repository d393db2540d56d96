// A process of native ZooKeeper clients for test/integration/local/zookeeper-ensemble.test.ts:
// `node zookeeper-client-process.mjs <connect string> <clients> [zookeeper package dir]` connects
// the clients through the product's adapter (dist/, built by the harness), loading the `zookeeper`
// package from the directory given (the addon as npm publishes it) or, without one, the product's.
// It writes one JSON line when connected, then one per command read from stdin:
//   probe     {answered: [true|false…], sessions: […]}: each client's exists('/') within 2 s
//   spawn     {spawned: pid}: starts a long-lived child process, as the test's own process does
//             when it restarts an ensemble member (children inherit what is not close-on-exec)
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';

const [connectString, count, zookeeperPackage] = process.argv.slice(2);
const nativeClient = new URL('../../../../dist/coordination/zookeeper/native-client.js', import.meta.url);
if (zookeeperPackage !== undefined) {
  const require = createRequire(nativeClient);
  require.cache[require.resolve('zookeeper')] = { loaded: true, exports: require(zookeeperPackage) };
}
const { NativeZooKeeperClient } = await import(nativeClient.href);

const clients = await Promise.all(Array.from({ length: Number(count) }, () => NativeZooKeeperClient.connect({ connectString, sessionTimeoutMs: 10_000 })));
const helpers = [];
const reply = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);

function answers(client) {
  return Promise.race([
    client.exists('/').then(
      () => true,
      () => false,
    ),
    new Promise((resolve) => setTimeout(() => resolve(false), 2000).unref()),
  ]);
}

async function stop() {
  for (const helper of helpers) helper.kill('SIGKILL');
  // A client stuck in the addon may never report its close.
  setTimeout(() => process.exit(0), 2000).unref();
  await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
  process.exit(0);
}

reply({ sessions: clients.map((client) => client.sessionId) });
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'probe') {
    reply({ answered: await Promise.all(clients.map(answers)), sessions: clients.map((client) => client.sessionId) });
  } else if (line === 'spawn') {
    const helper = spawn('sleep', ['600'], { stdio: 'ignore' });
    helpers.push(helper);
    reply({ spawned: helper.pid });
  }
}
await stop();
