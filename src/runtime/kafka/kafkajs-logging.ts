/**
 * Routes kafkajs's own log output into the project logger, so kafkajs never writes to the console
 * and its lines carry the same structure, level and redaction as everything else.
 */
import type { logLevel as KafkajsLevel, LogEntry, logCreator } from 'kafkajs';
import type { LogLevel, Logger } from '../../logging/logger.js';
import { clientLogLevel } from './client-log-policy.js';
import { kafkajs } from './kafkajs-module.js';

/** kafkajs's level for a project level: kafkajs has no trace or fatal, `silent` is NOTHING. */
export function kafkajsLevel(level: LogLevel): KafkajsLevel {
  const levels = kafkajs().logLevel;
  switch (level) {
    case 'trace':
    case 'debug':
      return levels.DEBUG;
    case 'info':
      return levels.INFO;
    case 'warn':
      return levels.WARN;
    case 'error':
    case 'fatal':
      return levels.ERROR;
    case 'silent':
      return levels.NOTHING;
  }
}

/** Field names whose values are never passed on, whatever kafkajs puts in them. */
const secretField = /pass|secret|token|sasl|auth|credential|cert/i;

/** kafkajs attaches Error objects and nested structures; keep plain values and error messages only. */
function plain(value: unknown): unknown {
  if (value instanceof Error) return value.message;
  if (Buffer.isBuffer(value)) return `<${value.length} bytes>`;
  return value;
}

export function kafkajsFields(log: LogEntry['log']): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(log)) {
    if (name === 'message' || name === 'timestamp' || name === 'logger') continue;
    fields[name] = secretField.test(name) ? '[redacted]' : plain(value);
  }
  return fields;
}

/**
 * A kafkajs `logCreator` writing through `logger`; kafkajs filters by its own level (`asked`)
 * first. A line the policy moves below `asked` (an expected protocol event kafkajs calls a
 * warning) is left out too: below what was asked for is what nobody asked to see.
 */
export function kafkajsLogCreator(logger: Logger, asked: LogLevel = 'debug'): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const fields = kafkajsFields(log);
      const entry = { kafkajs: { namespace, ...fields } };
      const { message } = log;
      const levels = kafkajs().logLevel;
      const chosen: LogLevel = level === levels.ERROR ? 'error' : level === levels.WARN ? 'warn' : level === levels.INFO ? 'info' : 'debug';
      const decided = clientLogLevel(chosen, message, fields);
      if (kafkajsLevel(decided) > kafkajsLevel(asked)) return;
      switch (decided) {
        case 'error':
          logger.error(entry, message);
          break;
        case 'warn':
          logger.warn(entry, message);
          break;
        case 'info':
          logger.info(entry, message);
          break;
        default:
          logger.debug(entry, message);
      }
    };
}
