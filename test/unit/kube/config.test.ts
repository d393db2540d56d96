import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isStreamkeeperError } from '../../../src/errors/index.js';
import { chooseKubeConfigSource, loadKubeConfig } from '../../../src/kube/config.js';

const inCluster = { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' };

describe('where the kube client configuration comes from', () => {
  it.each([
    ['an explicit file wins over everything', { explicitPath: '/k', env: { ...inCluster, KUBECONFIG: '/other' }, serviceAccountTokenExists: true }, { kind: 'file', path: '/k' }],
    ['in a pod, the service account', { explicitPath: undefined, env: { ...inCluster, KUBECONFIG: '/other' }, serviceAccountTokenExists: true }, { kind: 'in-cluster' }],
    ['in-cluster needs the mounted token', { explicitPath: undefined, env: inCluster, serviceAccountTokenExists: false }, { kind: 'default' }],
    ['in-cluster needs the service env', { explicitPath: undefined, env: {}, serviceAccountTokenExists: true }, { kind: 'default' }],
    ['an empty flag counts as absent', { explicitPath: '', env: { KUBECONFIG: '/k' }, serviceAccountTokenExists: false }, { kind: 'default' }],
  ])('%s', (_case, inputs, expected) => {
    expect(chooseKubeConfigSource(inputs)).toEqual(expected);
  });

  it('loads a kubeconfig file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sk-kubeconfig-'));
    try {
      const path = join(dir, 'config');
      writeFileSync(
        path,
        ['apiVersion: v1', 'kind: Config', 'clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]', 'users: [{name: u, user: {token: t}}]', 'contexts: [{name: x, context: {cluster: c, user: u}}]', 'current-context: x', ''].join('\n'),
      );
      expect(loadKubeConfig({ kind: 'file', path }).getCurrentCluster()?.server).toBe('https://127.0.0.1:6443');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails with SK_KUBE_CONFIG when the file is missing', () => {
    let error: unknown;
    try {
      loadKubeConfig({ kind: 'file', path: '/nonexistent/kubeconfig' });
    } catch (err) {
      error = err;
    }
    expect(isStreamkeeperError(error, 'SK_KUBE_CONFIG')).toBe(true);
    expect(String(error)).toContain('/nonexistent/kubeconfig');
  });
});
