/**
 * The structured logger every component uses: JSON lines by default (what log collectors
 * expect), human-readable when writing to a terminal. Secret-bearing fields are redacted here so
 * that no caller can leak them by accident.
 */
import { pino, type Logger, type DestinationStream } from 'pino';
import pretty from 'pino-pretty';

export type { Logger } from 'pino';

export const logLevels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];
export type LogFormat = 'json' | 'pretty' | 'auto';

export interface LoggerOptions {
  readonly name?: string;
  readonly level?: LogLevel;
  readonly format?: LogFormat;
  /** Where lines go; tests pass an in-memory stream. Defaults to stdout. */
  readonly destination?: NodeJS.WritableStream & { isTTY?: boolean };
  readonly base?: Record<string, unknown>;
}

/** Paths whose values must never reach a log line. */
export const redactedPaths = [
  'password',
  '*.password',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'credentials',
  '*.credentials',
  'sasl',
  '*.sasl',
  'auth',
  '*.auth',
  'headers.authorization',
];

export function isLogLevel(value: string): value is LogLevel {
  return (logLevels as readonly string[]).includes(value);
}

/** Level from an explicit value, else STREAMKEEPER_LOG_LEVEL, else `info`. */
export function resolveLogLevel(explicit: string | undefined, env: NodeJS.ProcessEnv): LogLevel {
  const value = explicit ?? env.STREAMKEEPER_LOG_LEVEL ?? 'info';
  if (!isLogLevel(value)) {
    throw new RangeError(`log level must be one of ${logLevels.join(', ')} (got "${value}")`);
  }
  return value;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const destination = options.destination ?? process.stdout;
  const format = options.format ?? 'auto';
  const usePretty = format === 'pretty' || (format === 'auto' && destination.isTTY === true);
  const stream: DestinationStream = usePretty
    ? pretty({ destination, colorize: destination.isTTY === true, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' })
    : (destination as DestinationStream);
  return pino(
    {
      level: options.level ?? 'info',
      redact: { paths: redactedPaths, censor: '[redacted]' },
      base: { ...(options.name === undefined ? {} : { component: options.name }), ...options.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  );
}

/** A logger that discards everything, for code paths that take an optional logger. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
