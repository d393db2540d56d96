// The Node.js streamkeeper runs on, for a checkout whose own Node.js is older: the CLI
// (bin/streamkeeper.js), the test runner and the bench runner call `runOnProductNode()` first;
// on another Node.js it fetches the pinned release (tools/node/install.sh, cached outside the
// repository), makes sure the native addons in node_modules load on it, and runs the same command
// line on it. `node tools/node/runtime.mjs prepare` (npm's `prepare` step) does the first two.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync } from 'node:fs';
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
 * The `zookeeper` package's addon (nan, so one build per Node.js ABI) for the product's Node.js,
 * next to the one npm built at install time for the Node.js that ran npm. node-gyp-build picks a
 * `prebuilds/<platform>-<arch>/*.abi<N>.node` by ABI, but takes anything in build/Release first,
 * so npm's build moves into prebuilds/ under its own ABI tag: both Node.js releases load it.
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
  if (existsSync(wanted)) return;

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
  if (runsOnProductNode()) process.exit(0); // npm already built the addons for this Node.js
  try {
    prepareProductNode();
  } catch (err) {
    log(err.message);
    process.exit(1);
  }
}
