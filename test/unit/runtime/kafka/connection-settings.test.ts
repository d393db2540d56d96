import { describe, expect, it } from '@jest/globals';
import { silentLogger } from '../../../../src/logging/logger.js';
import { checkConnectionSettings, describeConnection, type KafkaConnectionSettings } from '../../../../src/runtime/kafka/connection-settings.js';
import { kafkajsConfig } from '../../../../src/runtime/kafka/kafkajs-client.js';

const base: KafkaConnectionSettings = { brokers: ['kafka-0.kafka:9092', '10.0.0.7:9093'], clientId: 'streamkeeper-orders' };
function rejection(settings: KafkaConnectionSettings): unknown {
  try {
    checkConnectionSettings(settings);
  } catch (err) {
    return err;
  }
  return undefined;
}

const secret = { mechanism: 'scram-sha-512', username: 'orders-app', password: 'p4ss-w0rd' } as const;

describe('Kafka connection settings', () => {
  it('accepts host:port brokers, including IPv6', () => {
    expect(() => {
      checkConnectionSettings({ ...base, brokers: [...base.brokers, '[::1]:9092'] });
    }).not.toThrow();
  });

  it.each<[string, KafkaConnectionSettings, RegExp]>([
    ['no brokers', { ...base, brokers: [] }, /at least one bootstrap broker/],
    ['a broker without port', { ...base, brokers: ['kafka-0'] }, /"kafka-0" is not host:port/],
    ['a port out of range', { ...base, brokers: ['kafka-0:70000'] }, /not host:port/],
    ['an empty client id', { ...base, clientId: ' ' }, /clientId/],
    ['an unknown SASL mechanism', { ...base, sasl: { ...secret, mechanism: 'gssapi' as 'plain' } }, /SASL mechanism "gssapi"/],
    ['an empty SASL password', { ...base, sasl: { ...secret, password: '' } }, /password must not be empty/],
    ['a zero timeout', { ...base, requestTimeoutMs: 0 }, /requestTimeoutMs/],
  ])('rejects %s with SK_KAFKA_INVALID_REQUEST', (_what, settings, message) => {
    const err = rejection(settings);
    expect(err).toMatchObject({ code: 'SK_KAFKA_INVALID_REQUEST' });
    expect((err as Error).message).toMatch(message);
  });

  it('never quotes a credential in a rejection', () => {
    expect((rejection({ ...base, sasl: { ...secret, mechanism: 'gssapi' as 'plain' } }) as Error).message).not.toMatch(/p4ss|orders-app/);
  });

  it('describes a connection for logs without credentials or certificates', () => {
    const described = describeConnection({ ...base, sasl: secret, tls: { ca: '-----BEGIN CERTIFICATE-----' } });
    expect(described).toEqual({ brokers: base.brokers, clientId: 'streamkeeper-orders', tls: true, saslMechanism: 'scram-sha-512' });
    expect(JSON.stringify(described)).not.toMatch(/orders-app|p4ss|CERTIFICATE/);
  });

  it('hands TLS and SASL to kafkajs', () => {
    expect(kafkajsConfig(base, silentLogger())).toMatchObject({ brokers: base.brokers, clientId: 'streamkeeper-orders', ssl: false });
    expect(kafkajsConfig(base, silentLogger())).not.toHaveProperty('sasl');
    expect(kafkajsConfig({ ...base, tls: {} }, silentLogger()).ssl).toBe(true);
    expect(kafkajsConfig({ ...base, tls: { ca: 'PEM', servername: 'kafka.example' } }, silentLogger()).ssl).toEqual({ ca: ['PEM'], servername: 'kafka.example' });
    expect(kafkajsConfig({ ...base, sasl: secret }, silentLogger()).sasl).toEqual(secret);
  });

  it('keeps kafkajs at warn unless told otherwise', () => {
    expect(kafkajsConfig(base, silentLogger()).logLevel).toBe(2);
    expect(kafkajsConfig(base, silentLogger(), 'debug').logLevel).toBe(5);
  });
});
