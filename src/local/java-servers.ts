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

const serversDir = join(packageRoot, 'tools', 'servers');

interface ServerEntry {
  readonly mainClass: string;
  readonly ensembleMainClass?: string;
  readonly configTemplate: string;
  readonly jvmFlags: readonly string[];
  readonly logging: readonly string[];
  readonly toolJvmFlags: readonly string[];
  readonly toolLogging: readonly string[];
}

interface VersionsFile {
  readonly zookeeper: string;
  readonly kafka: string;
  readonly kafka4: string;
  readonly servers: Record<JavaServer, ServerEntry>;
}

let versionsFile: VersionsFile | undefined;

function versions(): VersionsFile {
  versionsFile ??= JSON.parse(readFileSync(join(serversDir, 'versions.json'), 'utf8')) as VersionsFile;
  return versionsFile;
}

export function serverVersion(server: JavaServer): string {
  return versions()[server];
}

export function serverVersions(): Readonly<Record<JavaServer, string>> {
  const { zookeeper, kafka, kafka4 } = versions();
  return { zookeeper, kafka, kafka4 };
}

/**
 * How to run a server, from tools/servers/versions.json (the one place the command lines live,
 * shared with tools/servers/smoke.sh): main class, JVM and logging flags, config template.
 */
export interface ServerLaunchSpec {
  readonly mainClass: string;
  /** The main class of a member of a replicated ensemble, for servers that have one (ZooKeeper). */
  readonly ensembleMainClass: string | undefined;
  readonly jvmFlags: string[];
  /** Flags for the server's own command-line tools (e.g. Kafka's StorageTool). */
  readonly toolJvmFlags: string[];
  readonly configTemplate: string;
}

export function serverLaunchSpec(server: JavaServer): ServerLaunchSpec {
  const entry = versions().servers[server];
  const expand = (flag: string): string => flag.replaceAll('{serversDir}', serversDir);
  return {
    mainClass: entry.mainClass,
    ensembleMainClass: entry.ensembleMainClass,
    jvmFlags: [...entry.jvmFlags, ...entry.logging].map(expand),
    toolJvmFlags: [...entry.toolJvmFlags, ...entry.toolLogging].map(expand),
    configTemplate: join(serversDir, entry.configTemplate),
  };
}

/** Renders a config template, replacing every `@NAME@` outside comments (all must be given). */
export function renderConfigTemplate(templateFile: string, values: Readonly<Record<string, string | number>>): string {
  return readFileSync(templateFile, 'utf8')
    .split('\n')
    .map((line) =>
      line.trimStart().startsWith('#')
        ? line
        : line.replace(/@([A-Z_]+)@/g, (whole, name: string) => {
            const value = values[name];
            if (value === undefined) throw new StreamkeeperError('SK_SERVER_START_FAILED', `${templateFile}: no value for ${whole}`);
            return String(value);
          }),
    )
    .join('\n');
}

const resolved = new Map<JavaServer, string>();

/** The `java -cp` value for a server, installing its jars first if the cache is cold. */
export function javaClasspath(server: JavaServer): string {
  const known = resolved.get(server);
  if (known !== undefined) return known;
  const installer = join(serversDir, 'install.sh');
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

export function javaCommand(env: NodeJS.ProcessEnv = process.env): string {
  return env.JAVA_HOME === undefined ? 'java' : join(env.JAVA_HOME, 'bin', 'java');
}
