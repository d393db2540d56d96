/**
 * Jobs against Kafka as users' clusters serve it: the harness broker's SASL_SSL listener
 * (SCRAM-SHA-512, a certificate from the harness's CA), credentials and CA in Secrets the
 * StreamingJob references. The job streams exactly once; a wrong password makes it
 * KafkaAuthenticationFailed naming the Secret, never a crash loop; and no password reaches
 * ZooKeeper, the operator's or the pods' logs, Events or the status. The test's own checks read
 * and write the same topics through the broker's PLAINTEXT listener.
 */
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StreamingJobSpec, StreamingJobStatus } from '../../../src/api/v1alpha1/index.js';
import type { ZooKeeperSession } from '../../../src/coordination/session.js';
import { kafkaSecure } from '../../harness/servers.js';
import type { E2eWorld } from './support/e2e-world.js';
import { e2eSuite, e2eTimeoutMs } from './support/suite.js';
import { eventually } from './support/waiting.js';
import type { WordcountJob } from './support/wordcount-job.js';

const caSecret = 'kafka-ca';

/** A Secret with the SCRAM user and `password`, as a platform team hands it to a job. */
async function createSaslSecret(world: E2eWorld, name: string, password: string): Promise<void> {
  await world.admin.create('Secret', { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: world.namespace }, type: 'Opaque', stringData: { username: kafkaSecure().username, password } });
}

async function createCaSecret(world: E2eWorld): Promise<void> {
  await world.admin.create('Secret', { apiVersion: 'v1', kind: 'Secret', metadata: { name: caSecret, namespace: world.namespace }, type: 'Opaque', stringData: { 'ca.crt': kafkaSecure().caPem } });
}

/** The job's source (and so its sink, which defaults to the source's cluster) on the SASL_SSL listener. */
function overSaslSsl(saslSecret: string): (spec: StreamingJobSpec) => StreamingJobSpec {
  return (spec) => ({
    ...spec,
    source: { kafka: { ...spec.source.kafka, bootstrapServers: kafkaSecure().brokers, tls: { caSecretRef: { name: caSecret } }, sasl: { mechanism: 'scram-sha-512', secretRef: { name: saslSecret } } } },
  });
}

/** Every znode under `path` with its data, as text. */
async function subtreeText(zk: ZooKeeperSession, path: string): Promise<string> {
  const node = await zk.getIfExists(path);
  if (node === null) return '';
  const children = await zk.children(path).catch(() => []);
  const below = await Promise.all(children.map((child) => subtreeText(zk, `${path}/${child}`)));
  return [`${path} ${node.data.toString('utf8')}`, ...below].join('\n');
}

/** Where a secret value must never appear: the job's ZooKeeper subtree, status, Events, and every log. */
async function expectNowhere(world: E2eWorld, job: WordcountJob, secrets: readonly string[]): Promise<void> {
  const places: [string, string][] = [
    ['ZooKeeper', await subtreeText(await world.zookeeper(), world.layout.job(job.ref))],
    ['status', JSON.stringify((await job.get())?.status ?? {})],
    ['Events', JSON.stringify(await world.events())],
    ...world.operators.map((replica): [string, string] => [`operator log ${replica.logFile}`, readFileSync(replica.logFile, 'utf8')]),
    ...readdirSync(world.podLogDir).map((file): [string, string] => [`pod log ${file}`, readFileSync(join(world.podLogDir, file), 'utf8')]),
  ];
  expect(places[0]?.[1]).toContain(job.sourceTopic); // the subtree was read, not missed
  for (const secret of secrets) {
    for (const [place, text] of places) expect({ place, contains: text.includes(secret) }).toEqual({ place, contains: false });
  }
}

function readyOf(status: StreamingJobStatus): NonNullable<StreamingJobStatus['conditions']>[number] | undefined {
  return status.conditions?.find((c) => c.type === 'Ready');
}

describe('a job on a SASL_SSL Kafka with its credentials in Secrets', () => {
  const e2e = e2eSuite({ name: 'secure-kafka' });

  it('streams exactly once over SASL_SSL (SCRAM-SHA-512, TLS verified with the CA Secret), and no password leaves the Secret', e2e.scenario(async (world) => {
    await createCaSecret(world);
    await createSaslSecret(world, 'kafka-sasl', kafkaSecure().password);
    const job = await world.wordcountJob('secure', { executors: 2, customize: overSaslSsl('kafka-sasl') });
    await job.apply();
    await job.waitForRunning(2);
    await job.produceSample(60);
    await job.waitForAllInputCommitted();
    await job.verifyExactlyOnce();
    await expectNowhere(world, job, [kafkaSecure().password]);
    await job.delete();
  }), e2eTimeoutMs);

  it('a wrong password: KafkaAuthenticationFailed naming the Secret, one Event, no crash loop; Ready again once the Secret is fixed and the pods restarted', e2e.scenario(async (world) => {
    const wrong = 'wrong-scram-password-4f1d9c';
    await createSaslSecret(world, 'kafka-sasl-wrong', wrong);
    const job = await world.wordcountJob('refused', { executors: 1, sourcePartitions: 1, customize: overSaslSsl('kafka-sasl-wrong') });
    await job.produceSample(20);
    await job.apply();
    await job.waitForPodsReady(1);
    await job.waitFor((_job, status) => {
      expect(readyOf(status)).toMatchObject({ status: 'False', reason: 'KafkaAuthenticationFailed' });
      expect(readyOf(status)?.message).toContain('Secret kafka-sasl-wrong');
      expect(readyOf(status)?.message).toContain('spec.source.kafka.sasl.secretRef');
    }, 'Ready=False for KafkaAuthenticationFailed');
    expect(await job.condition('Stalled')).toMatchObject({ status: 'True', reason: 'KafkaAuthenticationFailed' });
    await eventually(async () => {
      const events = (await world.events(job.name)).filter((e) => e.reason === 'KafkaAuthenticationFailed');
      expect(events).toHaveLength(1);
      expect(events[0]?.type).toBe('Warning');
      expect(events[0]?.note).toContain('kafka-sasl-wrong');
    }, 'one KafkaAuthenticationFailed Event');
    // Refused, not crashing: the pods that came up are still the same processes, never restarted.
    const pods = await job.pods();
    for (const pod of pods.all) expect(pod.status?.containerStatuses?.map((c) => c.restartCount)).toEqual([0]);
    await expectNowhere(world, job, [wrong, kafkaSecure().password]);

    // The fix: the right password in the Secret; pods read Secrets when they start.
    await world.admin.patch('Secret', { namespace: world.namespace, name: 'kafka-sasl-wrong' }, { stringData: { password: kafkaSecure().password } });
    for (const pod of pods.all) await world.admin.delete('Pod', { namespace: world.namespace, name: pod.metadata.name });
    await job.waitForRunning(1);
    await job.waitForAllInputCommitted();
    await job.verifyExactlyOnce();
    expect(await job.condition('Stalled')).toBeUndefined();
    await expectNowhere(world, job, [wrong, kafkaSecure().password]);
    await job.delete();
  }), e2eTimeoutMs);
});
