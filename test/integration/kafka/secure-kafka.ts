/**
 * Client settings for the harness broker's SASL_SSL listener, shared by the contract runs and the
 * authentication tests: TLS verified against the harness CA, SCRAM-SHA-512 as its user.
 */
import type { KafkaConnectionSettings } from '../../../src/runtime/kafka/index.js';
import { kafkaSecure } from '../../harness/servers.js';

export function secureSettings(clientId: string, override: { readonly password?: string; readonly caPem?: string } = {}): KafkaConnectionSettings {
  const secure = kafkaSecure();
  return {
    brokers: secure.brokers,
    clientId,
    tls: { ca: override.caPem ?? secure.caPem },
    sasl: { mechanism: secure.mechanism, username: secure.username, password: override.password ?? secure.password },
  };
}
