/**
 * How to reach a Kafka cluster. TLS and SASL values come from Kubernetes Secrets at runtime, so
 * this module also decides the only view of the settings that may be logged.
 */
import { StreamkeeperError } from '../../errors/index.js';

export type SaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';
export const saslMechanisms: readonly SaslMechanism[] = ['plain', 'scram-sha-256', 'scram-sha-512'];

export interface KafkaTlsSettings {
  /** PEM bundle to trust instead of the system's CAs. */
  readonly ca?: string;
  /** Host name to verify the broker certificates against, when it differs from the address used. */
  readonly servername?: string;
}

export interface KafkaSaslSettings {
  readonly mechanism: SaslMechanism;
  readonly username: string;
  readonly password: string;
}

export interface KafkaConnectionSettings {
  /** Bootstrap `host:port` addresses. */
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** Present: connect with TLS. */
  readonly tls?: KafkaTlsSettings;
  readonly sasl?: KafkaSaslSettings;
  readonly connectionTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
}

/** What may appear in logs and messages: no credential and no certificate material. */
export interface ConnectionSummary {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly tls: boolean;
  readonly saslMechanism: SaslMechanism | undefined;
}

export function describeConnection(settings: KafkaConnectionSettings): ConnectionSummary {
  return { brokers: [...settings.brokers], clientId: settings.clientId, tls: settings.tls !== undefined, saslMechanism: settings.sasl?.mechanism };
}

function invalid(message: string): StreamkeeperError {
  return new StreamkeeperError('SK_KAFKA_INVALID_REQUEST', message);
}

/** Rejects settings no connection could work with; messages never quote a credential. */
export function checkConnectionSettings(settings: KafkaConnectionSettings): void {
  if (settings.brokers.length === 0) throw invalid('at least one bootstrap broker (host:port) is required');
  for (const broker of settings.brokers) {
    const port = /^(?:\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):(\d{1,5})$/.exec(broker)?.[1];
    if (port === undefined || Number(port) < 1 || Number(port) > 65535) throw invalid(`bootstrap broker "${broker}" is not host:port`);
  }
  if (settings.clientId.trim() === '') throw invalid('clientId must not be empty');
  const { sasl } = settings;
  if (sasl !== undefined) {
    if (!saslMechanisms.includes(sasl.mechanism)) throw invalid(`SASL mechanism "${sasl.mechanism}" is not one of ${saslMechanisms.join(', ')}`);
    if (sasl.username === '') throw invalid('SASL username must not be empty');
    if (sasl.password === '') throw invalid('SASL password must not be empty');
  }
  for (const [name, value] of [['connectionTimeoutMs', settings.connectionTimeoutMs], ['requestTimeoutMs', settings.requestTimeoutMs]] as const) {
    if (value !== undefined && (!Number.isFinite(value) || value <= 0)) throw invalid(`${name} must be a positive number of milliseconds (got ${value})`);
  }
}
