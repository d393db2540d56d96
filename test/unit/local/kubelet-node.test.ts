import { describe, expect, it } from '@jest/globals';
import { choosePodSubnet, cniConfig, containerdConfig, kubeletConfig } from '../../../src/local/kubelet-node.js';

describe('choosePodSubnet', () => {
  it('takes the first /24 of 10.244.0.0/16 from the start that no route uses', () => {
    expect(choosePodSubnet(['default', '192.0.2.0/24', '10.244.7.0/24'], 7)).toEqual({ subnet: '10.244.8.0/24', gateway: '10.244.8.1' });
  });

  it('wraps around past 255', () => {
    expect(choosePodSubnet(['10.244.255.0/24'], 255)).toEqual({ subnet: '10.244.0.0/24', gateway: '10.244.0.1' });
  });

  it('refuses when a route already covers the whole range', () => {
    expect(() => choosePodSubnet(['10.0.0.0/8'], 0)).toThrow(/no free \/24/);
  });
});

describe('the node configuration', () => {
  it('keeps containerd inside the node directory and clamps oom_score_adj', () => {
    const config = containerdConfig('/n', 'localhost/streamkeeper/pause:3.10.1');
    expect(config).toContain('root = "/n/containerd/root"');
    expect(config).toContain('address = "/n/containerd.sock"');
    expect(config).toContain('Root = "/n/containerd/runc"');
    expect(config).toContain('restrict_oom_score_adj = true');
    expect(config).toContain('sandbox_image = "localhost/streamkeeper/pause:3.10.1"');
  });

  it('uses the bridge the node made, without masquerading', () => {
    const cni = JSON.parse(cniConfig('/n', { bridge: 'sk-br-1', subnet: '10.244.3.0/24', gateway: '10.244.3.1' })) as { plugins: { bridge: string; ipMasq: boolean; ipam: { dataDir: string } }[] };
    expect(cni.plugins[0]).toMatchObject({ bridge: 'sk-br-1', ipMasq: false, ipam: { dataDir: '/n/cni/ipam' } });
  });

  it('gives the kubelet its own cgroup root and an authenticated API on the node address', () => {
    const config = JSON.parse(
      kubeletConfig({ dir: '/n', nodeIP: '10.244.3.1', port: 4000, healthzPort: 4001, caFile: '/ca.crt', serving: { cert: '/k.crt', key: '/k.key' }, cgroupRoot: '/streamkeeper-node-1' }),
    ) as Record<string, unknown>;
    expect(config).toMatchObject({ address: '10.244.3.1', port: 4000, readOnlyPort: 0, cgroupRoot: '/streamkeeper-node-1', authentication: { anonymous: { enabled: false } }, authorization: { mode: 'Webhook' } });
    expect(config.containerRuntimeEndpoint).toBe('unix:///n/containerd.sock');
  });
});
