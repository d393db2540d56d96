import { describe, expect, it } from '@jest/globals';
import { fromRdkafka } from '../../../../src/runtime/kafka/rdkafka-client.js';

describe('librdkafka errors in the project vocabulary', () => {
  it.each([
    [-195, 'Local: Broker transport failure', 'SK_KAFKA_UNREACHABLE'],
    [-187, 'Local: All broker connections are down', 'SK_KAFKA_UNREACHABLE'],
    [-193, 'Local: Host resolution failure', 'SK_KAFKA_UNREACHABLE'],
    [3, 'Broker: Unknown topic or partition', 'SK_KAFKA_UNKNOWN_TOPIC'],
    [-185, 'Local: Timed out', 'SK_TIMEOUT'],
  ])('maps code %d (%s) to %s', (code, message, expected) => {
    expect(fromRdkafka(Object.assign(new Error(message), { code }), 'sending').code).toBe(expected);
  });
});
