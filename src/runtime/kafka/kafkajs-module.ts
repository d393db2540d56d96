/**
 * The kafkajs package, loaded when the kafkajs adapter first needs it rather than when this
 * directory is imported: pods on librdkafka (the default) never load kafkajs, nor its timers that
 * warn on Node.js 24 (TimeoutNegativeWarning).
 */
import { createRequire } from 'node:module';
import type * as Kafkajs from 'kafkajs';

let loaded: typeof Kafkajs | undefined;

export function kafkajs(): typeof Kafkajs {
  loaded ??= createRequire(import.meta.url)('kafkajs') as typeof Kafkajs;
  return loaded;
}
