/**
 * Resolves the Java classpaths of the ZooKeeper and Kafka servers. The jars come from Maven
 * Central through `tools/servers/install.sh`, which is idempotent and caches outside the repo.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StreamkeeperError } from '../errors/index.js';
import { packageRoot } from '../package-info.js';

/** The server builds the project knows how to run: default Kafka is 3.9, `kafka4` the 4.x line. */
export type JavaServer = 'zookeeper' | 'kafka' | 'kafka4';

export interface ServerVersions {
  readonly zookeeper: string;
  readonly kafka: string;
  readonly kafka4: string;
}

export function serverVersions(): ServerVersions {
  return JSON.parse(readFileSync(join(packageRoot, 'tools', 'servers', 'versions.json'), 'utf8')) as ServerVersions;
}

const resolved = new Map<JavaServer, string>();

/** The `java -cp` value for a server, installing its jars first if the cache is cold. */
export function javaClasspath(server: JavaServer): string {
  const known = resolved.get(server);
  if (known !== undefined) return known;
  const installer = join(packageRoot, 'tools', 'servers', 'install.sh');
  if (!existsSync(installer)) {
    throw new StreamkeeperError('SK_PREREQUISITE_MISSING', `${installer} is missing: run from a streamkeeper checkout`);
  }
  let output: string;
  try {
    output = execFileSync('bash', [installer, server], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20 * 60_000 });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new StreamkeeperError('SK_PREREQUISITE_MISSING', `could not install ${server} (needs java and mvn with access to Maven Central): ${installer} ${server} failed:\n${stderr.slice(-2000)}`, { cause: err });
  }
  const line = output.split('\n').find((l) => l.startsWith(`${server}=`));
  if (line === undefined) {
    throw new StreamkeeperError('SK_PREREQUISITE_MISSING', `${installer} ${server} did not report a classpath file`);
  }
  const classpath = readFileSync(line.slice(server.length + 1).trim(), 'utf8').trim();
  resolved.set(server, classpath);
  return classpath;
}

/** JVM flags that keep the small test servers quick to start and light on memory. */
export function smallJvmFlags(heap: string): string[] {
  return [`-Xms${heap}`, `-Xmx${heap}`, '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Xss512k', '-Djava.awt.headless=true', '-Djava.net.preferIPv4Stack=true'];
}

export function javaCommand(env: NodeJS.ProcessEnv = process.env): string {
  return env.JAVA_HOME === undefined ? 'java' : join(env.JAVA_HOME, 'bin', 'java');
}
