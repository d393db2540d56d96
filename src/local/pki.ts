/**
 * The certificates and kubeconfigs of a local control plane: a throwaway CA, serving certificates
 * for kube-apiserver and kube-controller-manager, client certificates whose subject is the
 * identity (CN = user, O = group), and the ServiceAccount token signing key pair. Keys come from
 * node:crypto; openssl signs the certificates (Node.js can read X.509 but not issue it).
 */
import { execFile } from 'node:child_process';
import { generateKeyPair, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { StreamkeeperError } from '../errors/index.js';

const run = promisify(execFile);
const generate = promisify(generateKeyPair);

/** Names the kube-apiserver serving certificate answers to (loopback, and the in-cluster Service). */
const serverNames = [
  'IP:127.0.0.1',
  'DNS:localhost',
  'IP:10.0.0.1',
  'DNS:kubernetes',
  'DNS:kubernetes.default',
  'DNS:kubernetes.default.svc',
  'DNS:kubernetes.default.svc.cluster.local',
];

const opensslConfig = `[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = ${serverNames.join(', ')}
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

/** A certificate and its key, as files. */
export interface CertificateFiles {
  readonly cert: string;
  readonly key: string;
}

/** Every file of a control plane's PKI. */
export interface ControlPlanePki {
  readonly dir: string;
  readonly ca: CertificateFiles;
  readonly apiserver: CertificateFiles;
  /** CN=streamkeeper-admin, O=system:masters: bypasses RBAC. */
  readonly admin: CertificateFiles;
  /** CN=system:kube-controller-manager, bound by the bootstrap RBAC policy. */
  readonly controllerManager: CertificateFiles;
  readonly controllerManagerServing: CertificateFiles;
  /** CN=system:kube-scheduler, bound by the bootstrap RBAC policy. */
  readonly scheduler: CertificateFiles;
  readonly schedulerServing: CertificateFiles;
  /** How kube-apiserver authenticates to kubelets (logs, exec): O=system:masters. */
  readonly apiserverKubeletClient: CertificateFiles;
  /** ServiceAccount token signing pair (RSA 2048, as kubeadm makes it). */
  readonly serviceAccountKey: string;
  readonly serviceAccountPublicKey: string;
}

type Profile = 'server' | 'client';

async function ecKey(file: string): Promise<void> {
  const { privateKey } = await generate('ec', { namedCurve: 'P-256', privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  writeFileSync(file, privateKey, { mode: 0o600 });
}

function serial(): string {
  // Positive: the top bit clear, so DER needs no sign byte and openssl takes it as given.
  const bytes = randomBytes(8);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return `0x${bytes.toString('hex')}`;
}

async function openssl(args: readonly string[], what: string): Promise<void> {
  try {
    await run('openssl', [...args], { timeout: 30_000 });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new StreamkeeperError(
      missing ? 'SK_PREREQUISITE_MISSING' : 'SK_SERVER_START_FAILED',
      missing ? 'openssl is required to make the local control plane certificates (tools/kube/install.sh installs it)' : `openssl failed to make ${what}: ${stderr.trim()}`,
      { cause: err },
    );
  }
}

/** Makes a fresh PKI in `dir` (created with mode 0700). Takes a few tenths of a second. */
export async function createControlPlanePki(dir: string): Promise<ControlPlanePki> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const config = join(dir, 'openssl.cnf');
  writeFileSync(config, opensslConfig);
  const files = (name: string): CertificateFiles => ({ cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) });
  const pki: ControlPlanePki = {
    dir,
    ca: files('ca'),
    apiserver: files('apiserver'),
    admin: files('admin'),
    controllerManager: files('controller-manager'),
    controllerManagerServing: files('controller-manager-serving'),
    apiserverKubeletClient: files('apiserver-kubelet-client'),
    scheduler: files('scheduler'),
    schedulerServing: files('scheduler-serving'),
    serviceAccountKey: join(dir, 'sa.key'),
    serviceAccountPublicKey: join(dir, 'sa.pub'),
  };
  const leaves: readonly (readonly [CertificateFiles, string, Profile])[] = [
    [pki.apiserver, '/CN=kube-apiserver', 'server'],
    [pki.admin, '/O=system:masters/CN=streamkeeper-admin', 'client'],
    [pki.controllerManager, '/CN=system:kube-controller-manager', 'client'],
    [pki.controllerManagerServing, '/CN=kube-controller-manager', 'server'],
    [pki.apiserverKubeletClient, '/O=system:masters/CN=kube-apiserver-kubelet-client', 'client'],
    [pki.scheduler, '/CN=system:kube-scheduler', 'client'],
    [pki.schedulerServing, '/CN=kube-scheduler', 'server'],
  ];
  const serviceAccount = generate('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).then(({ privateKey, publicKey }) => {
    writeFileSync(pki.serviceAccountKey, privateKey, { mode: 0o600 });
    writeFileSync(pki.serviceAccountPublicKey, publicKey);
  });
  await Promise.all([ecKey(pki.ca.key), ...leaves.map(([leaf]) => ecKey(leaf.key))]);
  const days = ['-days', '3650', '-sha256', '-config', config];
  await openssl(['req', '-x509', '-new', '-key', pki.ca.key, '-subj', '/CN=streamkeeper-local-ca', '-set_serial', serial(), ...days, '-extensions', 'ca', '-out', pki.ca.cert], 'the CA');
  await Promise.all([
    ...leaves.map(([leaf, subject, profile]) =>
      openssl(['req', '-x509', '-new', '-key', leaf.key, '-subj', subject, '-CA', pki.ca.cert, '-CAkey', pki.ca.key, '-set_serial', serial(), ...days, '-extensions', profile, '-out', leaf.cert], subject),
    ),
    serviceAccount,
  ]);
  return pki;
}

/** A kubelet's two certificates: its client identity and the serving certificate of its API. */
export interface NodeCertificates {
  /** CN=system:node:<node>, O=system:nodes: what the Node authorizer and NodeRestriction expect. */
  readonly client: CertificateFiles;
  /** For the node's address, signed by the cluster CA (kube-apiserver verifies it). */
  readonly serving: CertificateFiles;
}

/** Issues a node's certificates from the control plane's CA into `dir`. */
export async function issueNodeCertificates(pki: ControlPlanePki, dir: string, nodeName: string, nodeIP: string): Promise<NodeCertificates> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const config = join(dir, 'openssl.cnf');
  // The serving certificate names this node's address, so it cannot use the shared [server] section.
  writeFileSync(config, `${opensslConfig}[node]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = IP:${nodeIP}, DNS:${nodeName}
`);
  const files = (name: string): CertificateFiles => ({ cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) });
  const certificates: NodeCertificates = { client: files('kubelet-client'), serving: files('kubelet') };
  await Promise.all([ecKey(certificates.client.key), ecKey(certificates.serving.key)]);
  const days = ['-days', '3650', '-sha256', '-config', config];
  const issue = (leaf: CertificateFiles, subject: string, section: string): Promise<void> =>
    openssl(['req', '-x509', '-new', '-key', leaf.key, '-subj', subject, '-CA', pki.ca.cert, '-CAkey', pki.ca.key, '-set_serial', serial(), ...days, '-extensions', section, '-out', leaf.cert], subject);
  await Promise.all([issue(certificates.client, `/O=system:nodes/CN=system:node:${nodeName}`, 'client'), issue(certificates.serving, `/CN=${nodeName}`, 'node')]);
  return certificates;
}

/** How a kubeconfig user proves who it is. */
export type KubeconfigCredentials = { readonly clientCertificate: CertificateFiles } | { readonly token: string };

export interface KubeconfigSpec {
  readonly server: string;
  /** The cluster's CA, base64 PEM; omitted only with `insecureSkipTlsVerify`. */
  readonly certificateAuthorityData?: string;
  readonly insecureSkipTlsVerify?: boolean;
  readonly user: string;
  readonly credentials: KubeconfigCredentials;
  /** The context's default namespace. */
  readonly namespace?: string;
}

export function base64File(file: string): string {
  return readFileSync(file).toString('base64');
}

/** A self-contained kubeconfig (CA and credentials embedded), as kubectl and client-node read it. */
export function renderKubeconfig(spec: KubeconfigSpec): string {
  const user =
    'token' in spec.credentials
      ? { token: spec.credentials.token }
      : { 'client-certificate-data': base64File(spec.credentials.clientCertificate.cert), 'client-key-data': base64File(spec.credentials.clientCertificate.key) };
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'streamkeeper-local',
        cluster: {
          server: spec.server,
          ...(spec.certificateAuthorityData === undefined ? {} : { 'certificate-authority-data': spec.certificateAuthorityData }),
          ...(spec.insecureSkipTlsVerify === true ? { 'insecure-skip-tls-verify': true } : {}),
        },
      },
    ],
    users: [{ name: spec.user, user }],
    contexts: [{ name: 'streamkeeper-local', context: { cluster: 'streamkeeper-local', user: spec.user, ...(spec.namespace === undefined ? {} : { namespace: spec.namespace }) } }],
    'current-context': 'streamkeeper-local',
    preferences: {},
  });
}

/** Writes a kubeconfig readable only by its owner (it holds credentials). */
export function writeKubeconfig(file: string, spec: KubeconfigSpec): void {
  writeFileSync(file, renderKubeconfig(spec), { mode: 0o600 });
  chmodSync(file, 0o600);
}

/** A CA of its own and one serving certificate signed by it, for a local server's TLS listener. */
export interface ServingPki {
  readonly dir: string;
  readonly ca: CertificateFiles;
  readonly server: CertificateFiles;
  /** The server's key followed by its certificate: the PEM keystore file Java servers read. */
  readonly keystore: string;
}

/**
 * Makes a throwaway CA and a serving certificate for loopback (`IP:127.0.0.1`, `DNS:localhost`)
 * plus `extraNames` (openssl subjectAltName entries such as `IP:10.244.0.1`) into `dir`.
 */
export async function createServingPki(dir: string, commonName: string, extraNames: readonly string[] = []): Promise<ServingPki> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const config = join(dir, 'openssl.cnf');
  // Only the CA and [serving] sections are used; [server] names the kube-apiserver's Service.
  writeFileSync(config, `${opensslConfig}[serving]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = ${['IP:127.0.0.1', 'DNS:localhost', ...extraNames].join(', ')}
`);
  const files = (name: string): CertificateFiles => ({ cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) });
  const pki: ServingPki = { dir, ca: files('ca'), server: files('server'), keystore: join(dir, 'keystore.pem') };
  await Promise.all([ecKey(pki.ca.key), ecKey(pki.server.key)]);
  const days = ['-days', '3650', '-sha256', '-config', config];
  await openssl(['req', '-x509', '-new', '-key', pki.ca.key, '-subj', `/CN=${commonName} CA`, '-set_serial', serial(), ...days, '-extensions', 'ca', '-out', pki.ca.cert], `the ${commonName} CA`);
  await openssl(['req', '-x509', '-new', '-key', pki.server.key, '-subj', `/CN=${commonName}`, '-CA', pki.ca.cert, '-CAkey', pki.ca.key, '-set_serial', serial(), ...days, '-extensions', 'serving', '-out', pki.server.cert], commonName);
  writeFileSync(pki.keystore, `${readFileSync(pki.server.key, 'utf8')}${readFileSync(pki.server.cert, 'utf8')}`, { mode: 0o600 });
  return pki;
}
