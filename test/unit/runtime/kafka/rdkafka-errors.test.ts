import { describe, expect, it } from '@jest/globals';
import { fromRdkafka } from '../../../../src/runtime/kafka/rdkafka-client.js';

describe('librdkafka errors in the project vocabulary', () => {
  it.each([
    [-195, 'Local: Broker transport failure', 'SK_KAFKA_UNREACHABLE'],
    [-187, 'Local: All broker connections are down', 'SK_KAFKA_UNREACHABLE'],
    [-193, 'Local: Host resolution failure', 'SK_KAFKA_UNREACHABLE'],
    [3, 'Broker: Unknown topic or partition', 'SK_KAFKA_UNKNOWN_TOPIC'],
    [-185, 'Local: Timed out', 'SK_TIMEOUT'],
    [-169, 'SASL authentication error: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512', 'SK_KAFKA_AUTHENTICATION_FAILED'],
    [58, 'Broker: SASL authentication failed', 'SK_KAFKA_AUTHENTICATION_FAILED'],
    [-195, '127.0.0.1:9093/bootstrap: SSL handshake failed: error:0A000086:SSL routines::certificate verify failed: broker certificate could not be verified', 'SK_KAFKA_AUTHENTICATION_FAILED'],
    [29, 'Broker: Topic authorization failed', 'SK_KAFKA_NOT_AUTHORIZED'],
  ])('maps code %d (%s) to %s', (code, message, expected) => {
    expect(fromRdkafka(Object.assign(new Error(message), { code }), 'sending').code).toBe(expected);
  });

  it.each([
    ['Local: Authentication failure', /authentication failed: the brokers refused the SASL credentials/],
    ['authentication failure', /authentication failed: the brokers refused the SASL credentials/],
    ['Local: SSL error', /TLS handshake failed: the broker's certificate does not verify against the configured CA/],
  ])('reads an error event without a code (%s) as a refused login, saying what to check', (message, says) => {
    const error = fromRdkafka(new Error(message), 'logging in to the brokers');
    expect(error.code).toBe('SK_KAFKA_AUTHENTICATION_FAILED');
    expect(error.message).toMatch(says);
  });
});
