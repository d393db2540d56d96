// What both Kafka adapters say when the harness broker's SASL_SSL listener refuses them: a wrong
// password and a CA that did not sign the broker's certificate are SK_KAFKA_AUTHENTICATION_FAILED
// (permanent: waiting does not fix them), and no credential reaches a log line.
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServingPki } from '../../../src/local/pki.js';
import { createLogger } from '../../../src/logging/logger.js';
import { createKafkajsClient } from '../../../src/runtime/kafka/kafkajs-client.js';
import type { KafkaClient, KafkaConnectionSettings } from '../../../src/runtime/kafka/index.js';
import { createRdkafkaClient } from '../../../src/runtime/kafka/rdkafka-client.js';
import { errorCatalogue } from '../../../src/errors/index.js';
import { MemoryStream } from '../../support/memory-stream.js';
import { secureSettings } from './secure-kafka.js';

type Factory = (settings: KafkaConnectionSettings, logs: MemoryStream) => KafkaClient;

const adapters: readonly (readonly [string, Factory])[] = [
  ['librdkafka', (settings, logs) => createRdkafkaClient(settings, { logger: createLogger({ level: 'trace', destination: logs }) })],
  ['kafkajs', (settings, logs) => createKafkajsClient(settings, { logger: createLogger({ level: 'trace', destination: logs }), kafkajsLogLevel: 'debug' })],
];

async function otherCa(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'sk-other-ca-'));
  try {
    return readFileSync((await createServingPki(dir, 'another-kafka')).ca.cert, 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.each(adapters)('the %s adapter refused by a SASL_SSL listener', (_name, newClient) => {
  const wrongPassword = 'wrong-password-that-must-not-be-logged';

  it('reports a wrong password as SK_KAFKA_AUTHENTICATION_FAILED, a permanent error, without logging it', async () => {
    const logs = new MemoryStream();
    const client = newClient({ ...secureSettings('sk-refused-password', { password: wrongPassword }), connectionTimeoutMs: 5000, requestTimeoutMs: 10_000 }, logs);
    try {
      await expect(client.admin.listTopics()).rejects.toMatchObject({ code: 'SK_KAFKA_AUTHENTICATION_FAILED', message: expect.stringMatching(/authentication failed/i) as unknown });
      expect(errorCatalogue.SK_KAFKA_AUTHENTICATION_FAILED.kind).toBe('permanent');
    } finally {
      await client.close();
    }
    expect(logs.text()).not.toContain(wrongPassword);
  });

  it('reports a broker certificate its CA did not sign as SK_KAFKA_AUTHENTICATION_FAILED naming the certificate', async () => {
    const logs = new MemoryStream();
    const client = newClient({ ...secureSettings('sk-refused-ca', { caPem: await otherCa() }), connectionTimeoutMs: 5000, requestTimeoutMs: 10_000 }, logs);
    try {
      await expect(client.admin.listTopics()).rejects.toMatchObject({ code: 'SK_KAFKA_AUTHENTICATION_FAILED', message: expect.stringMatching(/certificate/i) as unknown });
    } finally {
      await client.close();
    }
    expect(logs.text()).not.toContain(secureSettings('x').sasl?.password ?? 'unset');
  });
});
