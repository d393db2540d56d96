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
 * The glue polled the C client's socket by its descriptor number with one uv_poll_t, kept while
 * the number stayed the same. The kernel keys an epoll registration by (number, open socket) and
 * drops it only when the socket's last descriptor closes; the C client closes and reopens its
 * socket on its own (a lost connection, a timeout, a failed send in a request call), usually under
 * the same number, and it is built without SOCK_CLOEXEC, so every child process started meanwhile
 * (a restarted ZooKeeper member, in tests; any spawn) holds a copy of the old socket. The old
 * registration then outlived its socket: a dead connection, readable forever, reported under the
 * number the client's new socket now has, so the addon called zookeeper_process for it endlessly
 * (recv on the new socket: EAGAIN, "no response N times") and the client never saw its new
 * connection's replies. Also, a late uv_poll_stop/uv_close on a number that another socket had
 * taken meanwhile removed that socket's registration, and uv_poll_init's UV_EEXIST was ignored.
 * The fix: the poll watches a descriptor of the addon's own (a close-on-exec duplicate) made for
 * one socket, compared by inode with the client's socket after every zookeeper_interest, and
 * dropped (EPOLL_CTL_DEL, then close) as soon as the client has another socket or none; the
 * client's own socket is made close-on-exec too. It refuses a source it does not recognise.
 */
const socketPollEdits = [
  {
    failed: `    #include <strings.h>
    #include <errno.h>
#endif`,
    fixed: `    #include <strings.h>
    #include <errno.h>
    #include <fcntl.h>
    #include <sys/stat.h>
    #include <unistd.h>
#endif`,
  },
  {
    failed: `        if (zk_io && uv_is_active((uv_handle_t*) zk_io)) {
            uv_poll_stop(zk_io);
        }`,
    fixed: `        // zookeeperSocketPollFix: the client's socket closed or replaced: forget its poll now.
        if (zk_io && !polls_socket(fd)) {
            drop_poll();
        } else if (zk_io && uv_is_active((uv_handle_t*) zk_io)) {
            uv_poll_stop(zk_io);
        }`,
  },
  {
    failed: `        // If the file descriptor to watch has changed, then
        // a new uv_poll_t handle needs to be created to watch it.
        if (oldFd != fd) {
            // If there was an existing handle, then clean it up
            if (zk_io) {
                uv_close((uv_handle_t*) zk_io, delete_on_close);
                zk_io = NULL;
            }

            LOG_DEBUG("yield: creating a new poll handle for %lp", this);
            zk_io = (uv_poll_t*)malloc(sizeof(uv_poll_t));
            if (!zk_io) {
                LOG_ERROR("Failed to malloc memory for uv_poll_t");
                return;
             }

             zk_io->data = this;
             #ifdef WIN32
             \tuv_poll_init_socket(Nan::GetCurrentEventLoop(), zk_io, fd);
             #else
             \tuv_poll_init(Nan::GetCurrentEventLoop(), zk_io, fd);
             #endif
        }
`,
    fixed: `        // zookeeperSocketPollFix: a new socket gets a poll of its own.
        if (!zk_io && !watch_socket(fd)) {
            uv_timer_start(&zk_timer, &zk_timer_cb, 100, 100);
            return;
        }
`,
  },
  {
    failed: `    static void zk_io_cb (uv_poll_t *w, int status, int revents) {`,
    fixed: `    // zookeeperSocketPollFix: the poll watches zk_io_fd, a duplicate of the client's socket that
    // only this addon closes, so no close by the C client and no reuse of a number elsewhere in
    // the process can leave a registration in epoll that reports another socket's events.
    bool polls_socket (int client_fd) {
        struct stat now;
        if (client_fd == -1 || zk_io_fd == -1 || fstat(client_fd, &now) != 0) return false;
        return now.st_ino == zk_io_ino && now.st_dev == zk_io_dev;
    }

    void drop_poll () {
        uv_close((uv_handle_t*) zk_io, delete_on_close); // EPOLL_CTL_DEL on zk_io_fd, at once
        zk_io = NULL;
        close(zk_io_fd);
        zk_io_fd = -1;
    }

    bool watch_socket (int client_fd) {
        int flags = fcntl(client_fd, F_GETFD);
        if (flags != -1) fcntl(client_fd, F_SETFD, flags | FD_CLOEXEC); // not into child processes
        struct stat socket_stat;
        int own = fcntl(client_fd, F_DUPFD_CLOEXEC, 0);
        if (own == -1 || fstat(own, &socket_stat) != 0) {
            LOG_ERROR("yield: cannot duplicate the client's socket %d: %s", client_fd, strerror(errno));
            if (own != -1) close(own);
            return false;
        }
        uv_poll_t *io = (uv_poll_t*) malloc(sizeof(uv_poll_t));
        int err = io ? uv_poll_init(Nan::GetCurrentEventLoop(), io, own) : UV_ENOMEM;
        if (err) {
            LOG_ERROR("yield: cannot poll the client's socket %d: %s", client_fd, uv_strerror(err));
            free(io);
            close(own);
            return false;
        }
        io->data = this;
        zk_io = io;
        zk_io_fd = own;
        zk_io_ino = socket_stat.st_ino;
        zk_io_dev = socket_stat.st_dev;
        return true;
    }

    static void zk_io_cb (uv_poll_t *w, int status, int revents) {`,
  },
  {
    failed: `            if (zk_io) {
                int rc = uv_poll_stop(zk_io);
                LOG_DEBUG("zookeeper_close(%lp) uv_poll_stop result: %d", this, rc);

                uv_close((uv_handle_t*) zk_io, delete_on_close);
                zk_io = NULL;
            }`,
    fixed: `            if (zk_io) {
                drop_poll(); // zookeeperSocketPollFix
            }`,
  },
  {
    failed: `        is_closed = false;
        responseCounterLimit = 10;`,
    fixed: `        is_closed = false;
        responseCounterLimit = 10;
        zk_io_fd = -1; // zookeeperSocketPollFix`,
  },
  {
    failed: `    uv_poll_t* zk_io;
`,
    fixed: `    uv_poll_t* zk_io;
    int zk_io_fd; // zookeeperSocketPollFix: the addon's own descriptor for the polled socket
    ino_t zk_io_ino;
    dev_t zk_io_dev;
`,
  },
];

export function withSocketPollFix(source) {
  if (source.includes('zookeeperSocketPollFix')) return source;
  let fixed = source;
  for (const edit of socketPollEdits) {
    if (fixed.split(edit.failed).length !== 2) throw new Error('node_modules/zookeeper/src/node-zk.cpp is not the source the socket poll fix was written for (zookeeper 7.3.0)');
    fixed = fixed.replace(edit.failed, edit.fixed);
  }
  return fixed;
}

/** Every fix the product's build of the addon carries. */
export function withAddonFixes(source) {
  return withSocketPollFix(withReconnectFix(source));
}

/**
 * The `zookeeper` package's addon (nan, so one build per Node.js ABI) for the product's Node.js,
 * next to the one npm built at install time for the Node.js that ran npm. node-gyp-build picks a
 * `prebuilds/<platform>-<arch>/*.abi<N>.node` by ABI, but takes anything in build/Release first,
 * so npm's build moves into prebuilds/ under its own ABI tag: both Node.js releases load it.
 *
 * The product's build carries two fixes to the addon's event-loop glue (zookeeperReconnectFix,
 * zookeeperSocketPollFix): a stamp beside it names the source it was built from, so a build
 * without them is replaced.
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
  buildZookeeperAddon(runtime, withAddonFixes(readFileSync(join(pkg, 'src', 'node-zk.cpp'), 'utf8')), join(prebuilds, `zookeeper.abi${abi}.node`));
}

/** Builds the installed package's addon from `source` into `wanted` unless its stamp names that source. */
function buildZookeeperAddon(runtime, source, wanted) {
  const pkg = join(root, 'node_modules', 'zookeeper');
  const abi = nodeAbi(runtime.node);
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
    mkdirSync(dirname(wanted), { recursive: true });
    renameSync(join(work, 'build', 'Release', 'zookeeper.node'), wanted);
    writeFileSync(stamp, `${sourceHash}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  log(`built ${wanted.slice(root.length + 1)} in ${((Date.now() - started) / 1000).toFixed(0)}s`);
}

/**
 * For tests that compare the product's addon with the one npm publishes: a copy of the installed
 * `zookeeper` package (its JavaScript, and an addon built from the source as published, without
 * the fixes above) in node_modules/.zookeeper-published, for the Node.js running this. Returns
 * its directory; `require(dir)` loads it like `require('zookeeper')`.
 */
export function ensurePublishedZookeeperPackage() {
  const pkg = join(root, 'node_modules', 'zookeeper');
  const copy = join(root, 'node_modules', '.zookeeper-published');
  const runtime = { node: process.execPath, nodeDir: resolve(dirname(process.execPath), '..') };
  cpSync(join(pkg, 'package.json'), join(copy, 'package.json'));
  cpSync(join(pkg, 'lib'), join(copy, 'lib'), { recursive: true });
  const addon = join(copy, 'prebuilds', `${process.platform}-${process.arch}`, `zookeeper.abi${process.versions.modules}.node`);
  buildZookeeperAddon(runtime, readFileSync(join(pkg, 'src', 'node-zk.cpp'), 'utf8'), addon);
  return copy;
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
