/**
 * How the local node agent turns a container of a Pod into a local process, as pure decisions:
 * whether the image is one it can run (only streamkeeper/streamkeeper: the checkout's CLI stands
 * in for the image), the command line, the environment (values, the downward API, Secrets and
 * ConfigMaps, with kubelet's `$(VAR)` expansion), and which pod features it cannot honour.
 */
import type { ConfigMap, Pod, Secret } from '../kube/objects.js';

export type PodSpec = NonNullable<Pod['spec']>;
export type Container = PodSpec['containers'][number];

/** The repository whose images the node agent runs, with any registry prefix and tag. */
export const runnableRepository = 'streamkeeper/streamkeeper';

/** The image's ENTRYPOINT (Dockerfile); pods normally give only `args`. */
export const imageEntrypoint: readonly string[] = ['/nodejs/bin/node', '/app/bin/streamkeeper.js'];

/** `registry.example.com:5000/streamkeeper/streamkeeper:0.1.0@sha256:…` → its parts. */
export function parseImageReference(image: string): { registry: string | undefined; repository: string; tag: string | undefined; digest: string | undefined } {
  let rest = image.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const parts = rest.split('/');
  const first = parts[0] ?? '';
  // Docker's rule: the first component is a registry if it has a dot or a port, or is localhost.
  const hasRegistry = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  const registry = hasRegistry ? first : undefined;
  const repository = (hasRegistry ? parts.slice(1) : parts).join('/');
  return { registry, repository, tag, digest };
}

/** Whether the node agent can run this image (the streamkeeper image, any registry and tag). */
export function isRunnableImage(image: string | undefined): boolean {
  if (image === undefined || image === '') return false;
  return parseImageReference(image).repository === runnableRepository;
}

/** Why an image cannot run here, as the message of an ErrImagePull waiting state. */
export function imagePullMessage(image: string | undefined): string {
  return `Failed to pull image "${image ?? ''}": the local node agent has no container runtime; it runs only ${runnableRepository} images (any registry and tag), as processes of this checkout's CLI`;
}

/**
 * Expands `$(VAR)` references as the kubelet does: defined variables are substituted, `$$`
 * becomes `$`, and a reference to an undefined variable stays as written.
 */
export function expandReferences(text: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text.charAt(i);
    if (ch !== '$' || i + 1 >= text.length) {
      out += ch;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const close = text.indexOf(')', i + 2);
      if (close < 0) {
        out += text.slice(i);
        break;
      }
      const name = text.slice(i + 2, close);
      const value = lookup(name);
      out += value ?? `$(${name})`;
      i = close;
    } else {
      out += ch;
    }
  }
  return out;
}

/** The CLI arguments to run for a container, or why it cannot run. */
export function containerArguments(container: Container, env: Readonly<Record<string, string>>): { args: string[] } | { error: string } {
  const command = container.command ?? [];
  if (command.length > 0 && !isImageEntrypoint(command)) {
    return { error: `container ${container.name} sets command ${JSON.stringify(command)}; the local node agent runs only the image entrypoint (${imageEntrypoint.join(' ')}), so give the subcommand in args` };
  }
  const lookup = (name: string): string | undefined => env[name];
  return { args: (container.args ?? []).map((arg) => expandReferences(arg, lookup)) };
}

function isImageEntrypoint(command: readonly string[]): boolean {
  if (command.length === 1) return command[0] === imageEntrypoint[1];
  const [program, script] = command;
  return command.length === 2 && script === imageEntrypoint[1] && (program === 'node' || (program?.endsWith('/node') ?? false));
}

/** Pod features the node agent cannot honour, as one message (undefined when there are none). */
export function unsupportedFeatures(spec: PodSpec, container: Container): string | undefined {
  const problems: string[] = [];
  if ((spec.initContainers ?? []).length > 0) problems.push('init containers');
  if ((spec.ephemeralContainers ?? []).length > 0) problems.push('ephemeral containers');
  const volumes = new Map((spec.volumes ?? []).map((volume) => [volume.name, volume]));
  for (const mount of container.volumeMounts ?? []) {
    const volume = volumes.get(mount.name);
    // emptyDir is scratch space (the pod's own directory serves); the projected ServiceAccount
    // token volume is added to every pod by admission and is not needed by local processes.
    if (volume?.emptyDir !== undefined) continue;
    if (volume?.projected !== undefined && mount.name.startsWith('kube-api-access-')) continue;
    problems.push(`volume mount ${mount.name} at ${mount.mountPath} (pass the data through env instead)`);
  }
  for (const [kind, probe] of [
    ['readiness', container.readinessProbe],
    ['startup', container.startupProbe],
    ['liveness', container.livenessProbe],
  ] as const) {
    if (probe?.exec !== undefined || probe?.grpc !== undefined) problems.push(`${kind} probe of type ${probe.exec === undefined ? 'grpc' : 'exec'} (only httpGet and tcpSocket)`);
  }
  for (const variable of container.env ?? []) {
    if (variable.valueFrom?.resourceFieldRef !== undefined) problems.push(`env ${variable.name} from resourceFieldRef`);
    if (variable.valueFrom?.fileKeyRef !== undefined) problems.push(`env ${variable.name} from fileKeyRef`);
  }
  return problems.length === 0 ? undefined : `the local node agent cannot honour ${problems.join('; ')}`;
}

/** Secrets and ConfigMaps a container's environment reads, by name. */
export function envSources(container: Container): { secrets: string[]; configMaps: string[] } {
  const secrets = new Set<string>();
  const configMaps = new Set<string>();
  for (const source of container.envFrom ?? []) {
    if (source.secretRef?.name !== undefined) secrets.add(source.secretRef.name);
    if (source.configMapRef?.name !== undefined) configMaps.add(source.configMapRef.name);
  }
  for (const variable of container.env ?? []) {
    if (variable.valueFrom?.secretKeyRef?.name !== undefined) secrets.add(variable.valueFrom.secretKeyRef.name);
    if (variable.valueFrom?.configMapKeyRef?.name !== undefined) configMaps.add(variable.valueFrom.configMapKeyRef.name);
  }
  return { secrets: [...secrets], configMaps: [...configMaps] };
}

/** What the environment is built from: the pod, and each referenced object (null when absent). */
export interface EnvInputs {
  readonly pod: Pod;
  readonly podIP: string;
  readonly hostIP: string;
  readonly secrets: ReadonlyMap<string, Secret | null>;
  readonly configMaps: ReadonlyMap<string, ConfigMap | null>;
}

/** Environment variable names the kubelet accepts from envFrom (others are skipped). */
const envName = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

function decodeSecretData(secret: Secret): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(secret.data ?? {})) values[key] = Buffer.from(value, 'base64').toString('utf8');
  return values;
}

function configMapData(configMap: ConfigMap): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(configMap.binaryData ?? {})) values[key] = Buffer.from(value, 'base64').toString('utf8');
  return { ...values, ...(configMap.data ?? {}) };
}

const selectorKey = /^metadata\.(labels|annotations)\['(.*)'\]$/;

/** A downward-API field, or undefined when the path is not one the kubelet supports for env. */
export function downwardField(pod: Pod, fieldPath: string, podIP: string, hostIP: string): string | undefined {
  const meta = pod.metadata ?? {};
  switch (fieldPath) {
    case 'metadata.name':
      return meta.name ?? '';
    case 'metadata.namespace':
      return meta.namespace ?? '';
    case 'metadata.uid':
      return meta.uid ?? '';
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.podIP':
    case 'status.podIPs':
      return podIP;
    case 'status.hostIP':
    case 'status.hostIPs':
      return hostIP;
    default: {
      const match = selectorKey.exec(fieldPath);
      if (match === null) return undefined;
      const map = match[1] === 'labels' ? meta.labels : meta.annotations;
      return map?.[match[2] ?? ''] ?? '';
    }
  }
}

/**
 * The container's environment as the kubelet builds it: envFrom sources first (with their
 * prefix), then env entries in order, each value able to refer to earlier ones with `$(VAR)`.
 * A missing Secret, ConfigMap or key is an error unless the reference is optional.
 */
export function containerEnvironment(container: Container, inputs: EnvInputs): { env: Record<string, string> } | { error: string } {
  const env: Record<string, string> = {};
  const namespace = inputs.pod.metadata?.namespace ?? '';
  for (const source of container.envFrom ?? []) {
    const prefix = source.prefix ?? '';
    let values: Record<string, string> | undefined;
    if (source.secretRef !== undefined) {
      const secret = inputs.secrets.get(source.secretRef.name ?? '');
      if (secret === null || secret === undefined) {
        if (source.secretRef.optional === true) continue;
        return { error: `secret "${source.secretRef.name}" not found` };
      }
      values = decodeSecretData(secret);
    } else if (source.configMapRef !== undefined) {
      const configMap = inputs.configMaps.get(source.configMapRef.name ?? '');
      if (configMap === null || configMap === undefined) {
        if (source.configMapRef.optional === true) continue;
        return { error: `configmap "${source.configMapRef.name}" not found` };
      }
      values = configMapData(configMap);
    }
    for (const [key, value] of Object.entries(values ?? {})) {
      if (envName.test(`${prefix}${key}`)) env[`${prefix}${key}`] = value;
    }
  }
  const lookup = (name: string): string | undefined => env[name];
  for (const variable of container.env ?? []) {
    const from = variable.valueFrom;
    if (from === undefined) {
      env[variable.name] = expandReferences(variable.value ?? '', lookup);
    } else if (from.fieldRef !== undefined) {
      const value = downwardField(inputs.pod, from.fieldRef.fieldPath, inputs.podIP, inputs.hostIP);
      if (value === undefined) return { error: `env ${variable.name}: unsupported fieldRef ${from.fieldRef.fieldPath}` };
      env[variable.name] = value;
    } else if (from.secretKeyRef !== undefined) {
      const ref = from.secretKeyRef;
      const secret = inputs.secrets.get(ref.name ?? '');
      const data = secret === null || secret === undefined ? undefined : decodeSecretData(secret);
      const value = data?.[ref.key];
      if (value === undefined) {
        if (ref.optional === true) continue;
        return { error: secret === null || secret === undefined ? `secret "${ref.name}" not found` : `couldn't find key ${ref.key} in Secret ${namespace}/${ref.name}` };
      }
      env[variable.name] = value;
    } else if (from.configMapKeyRef !== undefined) {
      const ref = from.configMapKeyRef;
      const configMap = inputs.configMaps.get(ref.name ?? '');
      const data = configMap === null || configMap === undefined ? undefined : configMapData(configMap);
      const value = data?.[ref.key];
      if (value === undefined) {
        if (ref.optional === true) continue;
        return { error: configMap === null || configMap === undefined ? `configmap "${ref.name}" not found` : `couldn't find key ${ref.key} in ConfigMap ${namespace}/${ref.name}` };
      }
      env[variable.name] = value;
    } else {
      return { error: `env ${variable.name}: unsupported valueFrom` };
    }
  }
  return { env };
}
