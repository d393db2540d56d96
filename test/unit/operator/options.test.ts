import { describe, expect, it } from '@jest/globals';
import { parseDuration, parseOperatorOptions } from '../../../src/operator/options.js';

const env = { ZK_CONNECT: '127.0.0.1:2181' };

describe('operator options', () => {
  it('has defaults a cluster-wide install can run with', () => {
    const options = parseOperatorOptions({}, { ...env, POD_NAME: 'op-0', POD_NAMESPACE: 'sk' });
    expect(options).toMatchObject({
      namespaces: [],
      metricsHost: '0.0.0.0',
      metricsPort: 8080,
      zkConnect: '127.0.0.1:2181',
      zkRoot: '/streamkeeper',
      insecureZkOpenAcl: false,
      leaderElect: true,
      leaderElectionNamespace: 'sk',
      leaderElectionId: 'streamkeeper-operator',
      identity: 'op-0',
      workers: 4,
      resyncPeriodMs: 300_000,
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      progressRefreshPeriodMs: 30_000,
    });
  });

  it('takes the progress refresh period from --progress-refresh-period, down to 1s', () => {
    expect(parseOperatorOptions({ 'progress-refresh-period': '2s' }, env).progressRefreshPeriodMs).toBe(2_000);
    expect(parseOperatorOptions({ 'progress-refresh-period': '1000ms' }, env).progressRefreshPeriodMs).toBe(1_000);
    expect(parseOperatorOptions({ 'progress-refresh-period': '5m' }, env).progressRefreshPeriodMs).toBe(300_000);
  });

  it('takes the Lease timings from flags', () => {
    const options = parseOperatorOptions({ 'leader-election-lease-duration': '4s', 'leader-election-renew-deadline': '3s', 'leader-election-retry-period': '1s' }, env);
    expect(options).toMatchObject({ leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 1_000 });
  });

  it('takes flags over the environment', () => {
    const options = parseOperatorOptions({ namespaces: 'a, b', 'zk-connect': 'zk:2181/chroot', 'metrics-addr': '127.0.0.1:9090', 'leader-elect': 'false' }, { ...env, WATCH_NAMESPACES: 'c' });
    expect(options.namespaces).toEqual(['a', 'b']);
    expect(options.zkConnect).toBe('zk:2181/chroot');
    expect(options).toMatchObject({ metricsHost: '127.0.0.1', metricsPort: 9090, leaderElect: false });
  });

  it.each([
    [{}, {}, /--zk-connect/],
    [{ namespaces: 'Bad_NS' }, env, /not a valid namespace/],
    [{ 'metrics-addr': '8080' }, env, /\[HOST\]:PORT/],
    [{ 'zk-root': 'streamkeeper' }, env, /absolute znode path/],
    [{ workers: '0' }, env, /positive integer/],
    [{ 'resync-period': '5 minutes' }, env, /duration/],
    [{ 'leader-elect': 'yes' }, env, /true or false/],
    [{ 'leader-election-lease-duration': '15' }, env, /--leader-election-lease-duration must be a duration/],
    [{ 'leader-election-retry-period': '0s' }, env, /--leader-election-retry-period must be longer than 0/],
    [{ 'leader-election-lease-duration': '10s' }, env, /--leader-election-renew-deadline \(10000 ms\) must be shorter than --leader-election-lease-duration/],
    [{ 'leader-election-renew-deadline': '20s' }, env, /--leader-election-renew-deadline \(20000 ms\) must be shorter than --leader-election-lease-duration/],
    [{ 'leader-election-retry-period': '9s' }, env, /--leader-election-retry-period \(9000 ms\) must be shorter than --leader-election-renew-deadline/],
    [{ 'leader-election-lease-duration': '4s', 'leader-election-renew-deadline': '3s', 'leader-election-retry-period': '2500ms' }, env, /--leader-election-retry-period/],
    [{ 'progress-refresh-period': '30' }, env, /--progress-refresh-period must be a duration/],
    [{ 'progress-refresh-period': '999ms' }, env, /--progress-refresh-period must be at least 1s/],
    [{ 'progress-refresh-period': '0s' }, env, /--progress-refresh-period must be at least 1s/],
  ])('rejects %j with a usage error naming the flag', (values, environment, message) => {
    expect(() => parseOperatorOptions(values, environment)).toThrow(message);
    try {
      parseOperatorOptions(values, environment);
    } catch (err) {
      expect(err).toMatchObject({ code: 'SK_USAGE' });
    }
  });

  it('parses durations', () => {
    expect(parseDuration('250ms', 'x')).toBe(250);
    expect(parseDuration('30s', 'x')).toBe(30_000);
    expect(parseDuration('1h', 'x')).toBe(3_600_000);
  });
});
