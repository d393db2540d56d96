/**
 * Plain REST calls for setting up a cluster: server-side apply of manifests (Namespaces,
 * ServiceAccounts, RBAC, CRDs), TokenRequest, access reviews and health endpoints. These kinds
 * are outside the operator's KubeClient on purpose (it never touches them); the local cluster,
 * the test harness and tests use this instead. Any kubeconfig works, not only ours.
 */
import { HttpMethod, IsomorphicFetchHttpLibrary, KubeConfig, RequestContext } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { StreamkeeperError } from '../errors/index.js';
import { errorFromApiFailure } from '../kube/api-errors.js';

/** A manifest object as parsed from YAML. */
export interface ManifestObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [field: string]: unknown };
  [field: string]: unknown;
}

interface ApplyTarget {
  readonly plural: string;
  readonly namespaced: boolean;
}

/** The kinds `apply` knows where to put (group/version + kind → resource). */
const applyTargets: Readonly<Record<string, ApplyTarget>> = {
  'v1/Namespace': { plural: 'namespaces', namespaced: false },
  'v1/ServiceAccount': { plural: 'serviceaccounts', namespaced: true },
  'v1/ConfigMap': { plural: 'configmaps', namespaced: true },
  'v1/Secret': { plural: 'secrets', namespaced: true },
  'rbac.authorization.k8s.io/v1/ClusterRole': { plural: 'clusterroles', namespaced: false },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': { plural: 'clusterrolebindings', namespaced: false },
  'rbac.authorization.k8s.io/v1/Role': { plural: 'roles', namespaced: true },
  'rbac.authorization.k8s.io/v1/RoleBinding': { plural: 'rolebindings', namespaced: true },
  'apiextensions.k8s.io/v1/CustomResourceDefinition': { plural: 'customresourcedefinitions', namespaced: false },
};

/** `/api/v1/namespaces/ns/serviceaccounts/name` for a manifest object. */
export function objectPath(object: Pick<ManifestObject, 'apiVersion' | 'kind' | 'metadata'>): string {
  const target = applyTargets[`${object.apiVersion}/${object.kind}`];
  if (target === undefined) {
    throw new StreamkeeperError('SK_KUBE_BAD_REQUEST', `cannot apply ${object.apiVersion} ${object.kind}: only ${Object.keys(applyTargets).join(', ')}`);
  }
  const prefix = object.apiVersion.includes('/') ? `/apis/${object.apiVersion}` : `/api/${object.apiVersion}`;
  const namespace = object.metadata.namespace;
  if (target.namespaced && (namespace === undefined || namespace === '')) {
    throw new StreamkeeperError('SK_KUBE_BAD_REQUEST', `${object.kind} ${object.metadata.name} has no metadata.namespace`);
  }
  const scope = target.namespaced ? `/namespaces/${encodeURIComponent(namespace ?? '')}` : '';
  return `${prefix}${scope}/${target.plural}/${encodeURIComponent(object.metadata.name)}`;
}

export interface RestResponse {
  readonly status: number;
  readonly body: unknown;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RestOptions {
  readonly body?: unknown;
  readonly contentType?: string;
  readonly query?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

export interface AccessCheck {
  readonly verb: string;
  readonly resource: string;
  readonly group?: string;
  readonly namespace?: string;
  readonly subresource?: string;
  readonly name?: string;
}

export class KubeRest {
  private readonly http = new IsomorphicFetchHttpLibrary();

  constructor(readonly config: KubeConfig) {}

  static fromFile(kubeconfig: string): KubeRest {
    const config = new KubeConfig();
    config.loadFromFile(kubeconfig);
    return new KubeRest(config);
  }

  /** One request; any HTTP status is returned, transport failures throw. */
  async request(method: Method, path: string, options: RestOptions = {}): Promise<RestResponse> {
    const cluster = this.config.getCurrentCluster();
    if (cluster === null) throw new StreamkeeperError('SK_KUBE_CONFIG', 'the kubeconfig names no current cluster');
    const context = new RequestContext(`${cluster.server.replace(/\/+$/, '')}${path}`, HttpMethod[method]);
    for (const [name, value] of Object.entries(options.query ?? {})) context.setQueryParam(name, value);
    context.setHeaderParam('Accept', 'application/json');
    if (options.body !== undefined) {
      context.setHeaderParam('Content-Type', options.contentType ?? 'application/json');
      context.setBody(JSON.stringify(options.body));
    }
    context.setSignal(AbortSignal.timeout(options.timeoutMs ?? 30_000));
    try {
      await this.config.applySecurityAuthentication(context);
      const response = await this.http.send(context).toPromise();
      const text = await response.body.text();
      let body: unknown = text;
      try {
        body = text === '' ? undefined : JSON.parse(text);
      } catch {
        // not JSON (health endpoints answer "ok")
      }
      return { status: response.httpStatusCode, body };
    } catch (err) {
      throw new StreamkeeperError('SK_KUBE_ERROR', `${method} ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  /** A request that must succeed (2xx); failures become SK_KUBE_* errors. */
  async call(method: Method, path: string, options: RestOptions = {}): Promise<unknown> {
    const response = await this.request(method, path, options);
    if (response.status >= 200 && response.status < 300) return response.body;
    throw errorFromApiFailure({ httpStatus: response.status, body: response.body, operation: `${method} ${path}` });
  }

  /** Server-side apply (what `kubectl apply --server-side --force-conflicts` does): create or update. */
  async apply(object: ManifestObject, fieldManager = 'streamkeeper-local'): Promise<unknown> {
    return this.call('PATCH', objectPath(object), {
      body: object,
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager, force: 'true' },
    });
  }

  /** Waits until a CustomResourceDefinition is Established (its API is served). */
  async waitForCrdEstablished(name: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const crd = (await this.call('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`)) as { status?: { conditions?: { type: string; status: string }[] } };
      if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') === true) return;
      if (Date.now() > deadline) throw new StreamkeeperError('SK_TIMEOUT', `CustomResourceDefinition ${name} was not Established within ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  /** A ServiceAccount token from the TokenRequest API (what `kubectl create token` does). */
  async serviceAccountToken(namespace: string, serviceAccount: string, expirationSeconds: number): Promise<string> {
    const response = (await this.call('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`, {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds } },
    })) as { status?: { token?: string } };
    const token = response.status?.token;
    if (token === undefined || token === '') throw new StreamkeeperError('SK_KUBE_ERROR', `TokenRequest for ${namespace}/${serviceAccount} returned no token`);
    return token;
  }

  /** Whether this kubeconfig's identity may do something (a SelfSubjectAccessReview). */
  async canI(check: AccessCheck): Promise<boolean> {
    const response = (await this.call('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: { resourceAttributes: { verb: check.verb, resource: check.resource, group: check.group ?? '', namespace: check.namespace ?? '', subresource: check.subresource ?? '', name: check.name ?? '' } },
      },
    })) as { status?: { allowed?: boolean } };
    return response.status?.allowed === true;
  }

  /** GET a health endpoint (`/readyz`, `/livez`): true on 200. */
  async healthy(path: string): Promise<boolean> {
    try {
      return (await this.request('GET', path, { timeoutMs: 2000 })).status === 200;
    } catch {
      return false;
    }
  }
}
