import { afterAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { readJobAcl } from '../../../src/coordination/acl.js';
import { ConfigMirror, watchConfig, type JobConfigDocument } from '../../../src/coordination/config-mirror.js';
import { ExecutorMembership } from '../../../src/coordination/membership.js';
import { ensureChroot } from '../../../src/coordination/subtree.js';
import { NativeZooKeeperClient } from '../../../src/coordination/zookeeper/native-client.js';
import { digestAuth } from '../../../src/coordination/zookeeper/digest.js';
import { World, sampleConfig } from '../../contract/zookeeper/coordination-scenarios.js';
import { Deliveries } from '../../contract/zookeeper/waiting.js';
import { zkConnect } from '../../harness/servers.js';
import { expireNative, nativeConnector } from './native-target.js';

const chroot = `/sk-chroot-${randomBytes(4).toString('hex')}/platform`;
const connector = nativeConnector;
const world = new World({ connector, connectString: `${zkConnect()}${chroot}`, expire: (session) => expireNative(zkConnect(), session) });

afterAll(async () => {
  await world.closeAll();
});

describe('a chroot in the connect string', () => {
  it('keeps the whole layout under the chroot, which is created first and locked', async () => {
    await ensureChroot(connector, `${zkConnect()}${chroot}`, world.scheme.ancestors(), world.scheme.operatorAuth);
    await ensureChroot(connector, `${zkConnect()}${chroot}`, world.scheme.ancestors(), world.scheme.operatorAuth); // idempotent
    const operator = await world.operator();
    const { job, credential } = await world.job(operator);
    const pod = await world.open(credential);
    await new ExecutorMembership(pod, world.layout).register(job, 'executor-0', await readJobAcl(pod, world.layout, job));
    const seen = new Deliveries<JobConfigDocument | null>();
    watchConfig(pod, world.layout, job, seen.listener);
    const published = await new ConfigMirror(operator, world.layout).publish(job, 1, sampleConfig());
    await seen.until((d) => d?.hash === published.hash, 'config seen through the chroot');
    await world.target.expire(pod);
    await new ConfigMirror(operator, world.layout).publish(job, 2, sampleConfig({ config: { v: '2' } }));
    await seen.until((d) => d?.generation === 2, 'watch re-armed under the chroot after expiry');

    // Seen without the chroot, everything sits below it.
    const outside = await NativeZooKeeperClient.connect({ connectString: zkConnect(), auth: [digestAuth(world.operatorCredential)] });
    try {
      expect(await outside.exists(`${chroot}${world.layout.config(job)}`)).not.toBeNull();
      expect(await outside.exists(`${chroot}${world.layout.executor(job, 'executor-0')}`)).not.toBeNull();
      expect(await outside.exists(world.layout.root)).toBeNull();
      const anonymous = await NativeZooKeeperClient.connect({ connectString: zkConnect() });
      await expect(anonymous.children(chroot)).rejects.toMatchObject({ code: 'SK_ZK_NO_AUTH' });
      await anonymous.close();
    } finally {
      await outside.close();
    }
  });
});
