import { describe, expect, it } from '@jest/globals';
import { ensemblePeers } from '../../../src/local/zookeeper-ensemble.js';
import { ensembleConfig, modeOf, sessionsOf } from '../../../src/local/zookeeper-server.js';

describe('a ZooKeeper ensemble on loopback', () => {
  it('gives each member a myid from 1 and its own client, quorum and election ports', () => {
    expect(ensemblePeers(3, [11, 12, 13, 21, 22, 23, 31, 32, 33])).toEqual([
      { id: 1, clientPort: 11, quorumPort: 12, electionPort: 13 },
      { id: 2, clientPort: 21, quorumPort: 22, electionPort: 23 },
      { id: 3, clientPort: 31, quorumPort: 32, electionPort: 33 },
    ]);
  });

  it('refuses too few ports, ports used twice and sizes ZooKeeper cannot number', () => {
    expect(() => ensemblePeers(3, [1, 2, 3, 4, 5, 6, 7, 8])).toThrow('needs 9 distinct ports');
    expect(() => ensemblePeers(2, [1, 2, 3, 4, 5, 5])).toThrow('needs 6 distinct ports');
    expect(() => ensemblePeers(0, [])).toThrow('1 to 255 members, not 0');
  });

  it('lists every member as server.<myid>=quorum:election;client in each member configuration', () => {
    const config = ensembleConfig({ id: 2, peers: ensemblePeers(2, [11, 12, 13, 21, 22, 23]) });
    expect(config).toContain('server.1=127.0.0.1:12:13;127.0.0.1:11\n');
    expect(config).toContain('server.2=127.0.0.1:22:23;127.0.0.1:21\n');
    expect(config).toMatch(/^initLimit=\d+$/m);
    expect(config).toMatch(/^syncLimit=\d+$/m);
  });

  it('reads the mode from srvr, and anything else as not serving', () => {
    expect(modeOf('Zookeeper version: 3.9.5\nLatency min/avg/max: 0/0.0/0\nMode: leader\nNode count: 5\n')).toBe('leader');
    expect(modeOf('Mode: follower\n')).toBe('follower');
    expect(modeOf('Mode: standalone\n')).toBe('standalone');
    expect(modeOf('This ZooKeeper instance is not currently serving requests\n')).toBe('not serving');
    expect(modeOf('Mode: observer\n')).toBe('not serving');
  });

  it('reads the connected sessions from cons as ephemeral owners spell them', () => {
    const reply = [
      ' /127.0.0.1:41236[1](queued=0,recved=12,sent=12,sid=0x100005a3c1e0001,lop=PING,est=1765140000000,to=10000,lcxid=0x3,lzxid=0x20000000a,lresp=5,llat=0,minlat=0,avglat=0.1,maxlat=1)',
      ' /127.0.0.1:41240[1](queued=0,recved=3,sent=3,sid=0x2000001ABC,lop=GETD,est=1765140000001,to=10000)',
      ' /127.0.0.1:41250[0](queued=0,recved=1,sent=0)',
      '',
    ].join('\n');
    expect(sessionsOf(reply)).toEqual(['100005a3c1e0001', '2000001abc']);
    expect(sessionsOf('')).toEqual([]);
  });
});
