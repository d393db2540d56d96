// The Node.js streamkeeper runs on, for a checkout whose own Node.js is older: the CLI
// (bin/streamkeeper.js), the test runner and the bench runner call `runOnProductNode()` first;
// on another Node.js it fetches the pinned release (tools/node/install.sh, cached outside the
// repository), makes sure the native addons in node_modules load on it, and runs the same command
// line on it. `node tools/node/runtime.mjs prepare` (npm's `prepare` step) does the first two.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The major release the product, its image, its tests and its benches run on. */
export const PRODUCT_NODE_MAJOR = 24;

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function log(message) {
  process.stderr.write(`[node/runtime] ${message}\n`);
}

export function runsOnProductNode() {
  return Number(process.versions.node.split('.')[0]) === PRODUCT_NODE_MAJOR;
}

/**
 * The product's node binary: $STREAMKEEPER_NODE if set (a Node.js 24 of your own), else the one
 * tools/node/install.sh keeps in the cache (fetched from the npm registry the first time).
 */
export function productNode() {
  const own = process.env.STREAMKEEPER_NODE;
  if (own !== undefined && own !== '') return { node: own, nodeDir: resolve(dirname(own), '..') };
  const result = spawnSync('bash', [join(root, 'tools', 'node', 'install.sh')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    env: { ...process.env, STREAMKEEPER_NODE_QUIET: '1' },
  });
  const node = result.stdout?.trim().split('\n').pop();
  if (result.status !== 0 || node === undefined || node === '') {
    throw new Error(`tools/node/install.sh failed (exit ${result.status ?? result.signal}); see its messages above`);
  }
  return { node, nodeDir: resolve(dirname(node), '..') };
}

/** The environment children get: `node` (and npm's scripts) resolve to the product's Node.js. */
export function productNodeEnv(env, { node, nodeDir }) {
  return {
    ...env,
    PATH: [dirname(node), env.PATH ?? ''].join(delimiter),
    // node-gyp builds addons against this Node.js's headers, not the ones ~/.npmrc may name.
    npm_config_nodedir: nodeDir,
  };
}

/** node-gyp as npm bundles it (npm runs it for install scripts), or one in node_modules. */
function findNodeGyp() {
  const candidates = [join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')];
  if (process.env.npm_config_node_gyp) candidates.unshift(process.env.npm_config_node_gyp);
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '' || !existsSync(join(dir, 'npm'))) continue;
    try {
      const npmCli = realpathSync(join(dir, 'npm')); // …/npm/bin/npm-cli.js
      candidates.push(resolve(dirname(npmCli), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
    } catch {
      // a dangling npm link: try the next PATH entry
    }
  }
  candidates.push(resolve(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  return candidates.find((candidate) => existsSync(candidate));
}

function nodeAbi(node) {
  const result = spawnSync(node, ['-p', 'process.versions.modules'], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${node} does not run: ${result.stderr}`);
  return result.stdout.trim();
}

/**
 * The addon's `yield()` asks the C client what to wait for, then arms a poll on the client's
 * socket and a timer. Two of its exits armed neither, so after a lost connection the next connect
 * attempt waited for whatever timer was left from before — the repeating ping timer, a third of
 * the session timeout (3.3 s at 10 s, after an ensemble leader died), or, when that timer had no
 * repeat, never: a client stuck "connecting" while the other servers served. The exits: no socket
 * (every server tried, the client backing off) and a connect that failed at once (a dead server's
 * port refused it). The fix arms the timer for the backoff the client asked for, and retries a
 * failed connect after 100 ms (the next server in the list). It refuses a source it does not
 * recognise (another package version).
 */
const yieldExits = [
  {
    failed: `        if (rc) {
            LOG_ERROR("yield:zookeeper_interest returned error: %d - %s\\n", rc, zerror(rc));
            return;
        }`,
    fixed: `        if (rc) {
            LOG_ERROR("yield:zookeeper_interest returned error: %d - %s\\n", rc, zerror(rc));
            // zookeeperReconnectFix: no socket to poll after a failed connect; try the next server soon.
            if (rc != ZINVALIDSTATE) uv_timer_start(&zk_timer, &zk_timer_cb, 100, 100);
            return;
        }`,
  },
  {
    failed: `        if (fd == -1 ) {
            if (zk_io) {
                uv_close((uv_handle_t*) zk_io, delete_on_close);
                zk_io = NULL;
            }
            return;
        }`,
    fixed: `        if (fd == -1 ) {
            if (zk_io) {
                uv_close((uv_handle_t*) zk_io, delete_on_close);
                zk_io = NULL;
            }
            // zookeeperReconnectFix: call again when the client's backoff (tv) ends.
            int64_t backoff = tv.tv_sec * 1000 + tv.tv_usec / 1000;
            if (backoff < 10) backoff = 10;
            uv_timer_start(&zk_timer, &zk_timer_cb, backoff, backoff);
            return;
        }`,
  },
];

export function withReconnectFix(source) {
  if (source.includes('zookeeperReconnectFix')) return source;
  let fixed = source;
  for (const exit of yieldExits) {
    if (!fixed.includes(exit.failed)) throw new Error('node_modules/zookeeper/src/node-zk.cpp is not the source the reconnect fix was written for (zookeeper 7.3.0)');
    fixed = fixed.replace(exit.failed, exit.fixed);
  }
  return fixed;
}

/**
 * The `zookeeper` package's addon (nan, so one build per Node.js ABI) for the product's Node.js,
 * next to the one npm built at install time for the Node.js that ran npm. node-gyp-build picks a
 * `prebuilds/<platform>-<arch>/*.abi<N>.node` by ABI, but takes anything in build/Release first,
 * so npm's build moves into prebuilds/ under its own ABI tag: both Node.js releases load it.
 *
 * The product's build carries one fix to the addon's event-loop glue (zookeeperReconnectFix): a
 * stamp beside it names the source it was built from, so a build without the fix is replaced.
 */
export function ensureZookeeperAddon(runtime) {
  const pkg = join(root, 'node_modules', 'zookeeper');
  if (!existsSync(join(pkg, 'binding.gyp'))) return; // not installed (yet)
  const prebuilds = join(pkg, 'prebuilds', `${process.platform}-${process.arch}`);
  const installed = join(pkg, 'build', 'Release', 'zookeeper.node');
  if (existsSync(installed)) {
    const config = existsSync(join(pkg, 'build', 'config.gypi')) ? readFileSync(join(pkg, 'build', 'config.gypi'), 'utf8') : '';
    const abi = /"node_module_version":\s*(\d+)/.exec(config)?.[1] ?? process.versions.modules;
    mkdirSync(prebuilds, { recursive: true });
    try {
      renameSync(installed, join(prebuilds, `zookeeper.abi${abi}.node`));
    } catch (err) {
      if (err.code !== 'ENOENT') throw err; // another run moved it first
    }
  }
  const abi = nodeAbi(runtime.node);
  const wanted = join(prebuilds, `zookeeper.abi${abi}.node`);
  const source = withReconnectFix(readFileSync(join(pkg, 'src', 'node-zk.cpp'), 'utf8'));
  const stamp = `${wanted}.source-sha256`;
  const sourceHash = createHash('sha256').update(source).digest('hex');
  if (existsSync(wanted) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === sourceHash) return;

  const nodeGyp = findNodeGyp();
  if (nodeGyp === undefined) throw new Error('node-gyp not found (npm bundles it); it builds the zookeeper addon for Node.js ' + PRODUCT_NODE_MAJOR);
  // Build in a private copy (a sibling, so `require('nan')` still resolves) so that concurrent
  // runs cannot collide; the finished addon arrives with one rename.
  const work = join(dirname(pkg), `.zookeeper-build-abi${abi}-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  cpSync(pkg, work, {
    recursive: true,
    preserveTimestamps: true, // else make sees the C client's autotools inputs as changed
    filter: (source) => !/^[\\/](build|prebuilds|node_modules)$/.test(source.slice(pkg.length)),
  });
  writeFileSync(join(work, 'src', 'node-zk.cpp'), source);
  const started = Date.now();
  log(`building the zookeeper addon for Node.js ${PRODUCT_NODE_MAJOR} (ABI ${abi}); a minute or two, once per install`);
  try {
    const result = spawnSync(runtime.node, [nodeGyp, 'rebuild', `--nodedir=${runtime.nodeDir}`, '--loglevel=warn'], {
      cwd: work,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: productNodeEnv(process.env, runtime),
    });
    if (result.status !== 0) throw new Error(`node-gyp rebuild for ABI ${abi} failed (exit ${result.status ?? result.signal}); see above`);
    mkdirSync(prebuilds, { recursive: true });
    renameSync(join(work, 'build', 'Release', 'zookeeper.node'), wanted);
    writeFileSync(stamp, `${sourceHash}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  log(`built ${wanted.slice(root.length + 1)} in ${((Date.now() - started) / 1000).toFixed(0)}s`);
}

/** The Kafka client's native build for the product's Node.js ABI (cached by version + ABI). */
export function ensureKafkaClient(runtime) {
  const installer = join(root, 'tools', 'kafka-client', 'install.sh');
  if (!existsSync(installer) || !existsSync(join(root, 'node_modules'))) return;
  const result = spawnSync('bash', [installer], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...productNodeEnv(process.env, runtime), STREAMKEEPER_NODE: runtime.node } });
  if (result.status !== 0) throw new Error(`tools/kafka-client/install.sh failed (exit ${result.status ?? result.signal}); see its messages above`);
}

/** The product's Node.js, ready to run this checkout. */
export function prepareProductNode() {
  const runtime = productNode();
  ensureZookeeperAddon(runtime);
  ensureKafkaClient(runtime);
  return runtime;
}

/**
 * On the product's Node.js, returns at once. Elsewhere runs this process's command line on it
 * and exits as it does: signals are passed on, and the child dies with this launcher even when
 * the launcher is SIGKILLed (setpriv --pdeathsig), so a killed CLI never leaves a pod running.
 */
export async function runOnProductNode() {
  if (runsOnProductNode()) return;
  let runtime;
  try {
    runtime = prepareProductNode();
  } catch (err) {
    log(`cannot run on Node.js ${PRODUCT_NODE_MAJOR}: ${err.message}`);
    process.exit(1);
  }
  const args = [...process.execArgv, ...process.argv.slice(1)];
  const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => existsSync(path));
  const [command, commandArgs] = setpriv ? [setpriv, ['--pdeathsig', 'SIGKILL', runtime.node, ...args]] : [runtime.node, args];
  const child = spawn(command, commandArgs, { stdio: 'inherit', env: productNodeEnv(process.env, runtime) });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT']) process.on(signal, () => child.kill(signal));
  const [code, signal] = await new Promise((done) => child.on('exit', (...outcome) => done(outcome)));
  if (signal !== null) {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  }
  process.exit(code ?? 1);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv[2] !== 'prepare') {
    process.stderr.write('usage: node tools/node/runtime.mjs prepare\n');
    process.exit(2);
  }
  try {
    // On the product's Node.js npm built both addons already; the zookeeper one still needs its fix.
    if (runsOnProductNode()) ensureZookeeperAddon({ node: process.execPath, nodeDir: resolve(dirname(process.execPath), '..') });
    else prepareProductNode();
  } catch (err) {
    log(err.message);
    process.exit(1);
  }
}
