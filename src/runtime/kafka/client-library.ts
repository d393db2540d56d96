/**
 * Which library a KafkaClient is built on. librdkafka is the measured choice and the pods' default
 * (docs/compatibility.md); kafkajs stays selectable, e.g. where the native build is not available.
 */
import { StreamkeeperError } from '../../errors/index.js';
import type { Logger } from '../../logging/logger.js';
import type { KafkaConnectionSettings } from './connection-settings.js';
import type { KafkaClient } from './kafka-client.js';
import { createKafkajsClient } from './kafkajs-client.js';
import { createRdkafkaClient } from './rdkafka-client.js';

export type KafkaClientLibrary = 'librdkafka' | 'kafkajs';
export const kafkaClientLibraries: readonly KafkaClientLibrary[] = ['librdkafka', 'kafkajs'];
export const defaultKafkaClientLibrary: KafkaClientLibrary = 'librdkafka';

/** The environment variable naming the library (pods, benches, the demo). */
export const kafkaClientEnv = 'STREAMKEEPER_KAFKA_CLIENT';

export function parseKafkaClientLibrary(text: string | undefined, source = kafkaClientEnv): KafkaClientLibrary {
  if (text === undefined || text === '') return defaultKafkaClientLibrary;
  if (!(kafkaClientLibraries as readonly string[]).includes(text)) {
    throw new StreamkeeperError('SK_USAGE', `${source} must be one of ${kafkaClientLibraries.join(', ')} (got "${text}")`);
  }
  return text as KafkaClientLibrary;
}

export function createKafkaClient(library: KafkaClientLibrary, settings: KafkaConnectionSettings, options: { readonly logger?: Logger } = {}): KafkaClient {
  return library === 'librdkafka' ? createRdkafkaClient(settings, options) : createKafkajsClient(settings, options);
}
