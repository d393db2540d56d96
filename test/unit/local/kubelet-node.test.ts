import { describe, expect, it } from '@jest/globals';
import { choosePodSubnet, cniConfig, containerdConfig, kubeletConfig, loopbackRedirectRules, taggedRuleDeletions } from '../../../src/local/kubelet-node.js';

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

describe('pod traffic to loopback servers', () => {
  it('redirects only the named address and port, entering from the node bridge, to 127.0.0.1', () => {
    expect(loopbackRedirectRules('sk-br-1', 'streamkeeper-node-1', [{ address: '10.0.0.1', port: 443, toPort: 36001 }])).toEqual([
      ['-t', 'nat', '-A', 'PREROUTING', '-i', 'sk-br-1', '-d', '10.0.0.1/32', '-p', 'tcp', '-m', 'tcp', '--dport', '443', '-m', 'comment', '--comment', 'streamkeeper-node-1', '-j', 'DNAT', '--to-destination', '127.0.0.1:36001'],
    ]);
  });

  it("removes this node's rules as iptables -S lists them, and no other node's", () => {
    const listing = [
      '-P PREROUTING ACCEPT',
      '-A PREROUTING -d 10.0.0.1/32 -i sk-br-1 -p tcp -m tcp --dport 443 -m comment --comment streamkeeper-node-1 -j DNAT --to-destination 127.0.0.1:36001',
      '-A PREROUTING -d 10.244.9.1/32 -i sk-br-2 -p tcp -m tcp --dport 2181 -m comment --comment streamkeeper-node-2 -j DNAT --to-destination 127.0.0.1:2181',
      '',
    ].join('\n');
    expect(taggedRuleDeletions(listing, 'streamkeeper-node-1')).toEqual([
      ['-t', 'nat', '-D', 'PREROUTING', '-d', '10.0.0.1/32', '-i', 'sk-br-1', '-p', 'tcp', '-m', 'tcp', '--dport', '443', '-m', 'comment', '--comment', 'streamkeeper-node-1', '-j', 'DNAT', '--to-destination', '127.0.0.1:36001'],
    ]);
  });
});
