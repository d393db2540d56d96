/**
 * The structured logger every component uses: JSON lines by default (what log collectors
 * expect), human-readable when writing to a terminal. Secret-bearing fields are redacted here so
 * that no caller can leak them by accident, and no line carries a key twice (see `mergeBindings`).
 */
import { pino, type Bindings, type ChildLoggerOptions, type DestinationStream, type LogFn, type Logger } from 'pino';
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

/**
 * The bindings of a logger made below one bound with `bound`: each key once. The process logs as
 * one `component`; a part of it that names itself a component too is its `subsystem` (nested
 * parts joined with "/"). Any other key bound again takes the newer value.
 */
function asText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export function mergeBindings(bound: Bindings, added: Bindings): Bindings {
  const merged: Record<string, unknown> = { ...bound };
  for (const [key, value] of Object.entries(added) as [string, unknown][]) {
    if (value === undefined) continue;
    if (key === 'component' && merged.component !== undefined && merged.component !== value) {
      merged.subsystem = merged.subsystem === undefined ? value : `${asText(merged.subsystem)}/${asText(value)}`;
    } else {
      merged[key] = value;
    }
  }
  return merged;
}

/** Keys bound on each logger (its own and its ancestors'), read once per logger. */
const boundKeys = new WeakMap<Logger, ReadonlySet<string>>();

function keysBound(logger: Logger): ReadonlySet<string> {
  let keys = boundKeys.get(logger);
  if (keys === undefined) {
    keys = new Set(Object.keys(logger.bindings()));
    boundKeys.set(logger, keys);
  }
  return keys;
}

function isFields(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !(value instanceof Error);
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const destination = options.destination ?? process.stdout;
  const format = options.format ?? 'auto';
  const usePretty = format === 'pretty' || (format === 'auto' && destination.isTTY === true);
  const stream: DestinationStream = usePretty
    ? pretty({ destination, colorize: destination.isTTY === true, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' })
    : (destination as DestinationStream);
  // pino appends a child's bindings to its parent's, repeating a key bound twice. Every logger
  // descends from `unbound`: a child that would repeat a key is made from it instead, with the
  // merged bindings; a line whose fields repeat a bound key is written by such a child.
  const unbound = pino(
    {
      level: options.level ?? 'info',
      redact: { paths: redactedPaths, censor: '[redacted]' },
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      hooks: {
        logMethod(args, method, level) {
          const [fields, ...rest] = args;
          const repeated = isFields(fields) ? Object.keys(fields).filter((key) => keysBound(this).has(key)) : [];
          if (!isFields(fields) || repeated.length === 0) {
            method.apply(this, args);
            return;
          }
          const own = Object.fromEntries(repeated.map((key) => [key, fields[key]]));
          const others = Object.fromEntries(Object.entries(fields).filter(([key]) => !repeated.includes(key)));
          const label = this.levels.labels[level] ?? 'info';
          const once = this.child(own);
          (once as unknown as Record<string, LogFn | undefined>)[label]?.call(once, others, ...(rest as [string | undefined]));
        },
      },
    },
    stream,
  );
  const { child: nativeChild } = unbound as unknown as { readonly child: (this: Logger, bindings: Bindings, options?: ChildLoggerOptions) => Logger };
  const childWithoutRepeats = function (this: Logger, bindings: Bindings, childOptions?: ChildLoggerOptions): Logger {
    const keys = keysBound(this);
    if (!Object.keys(bindings).some((key) => keys.has(key))) return nativeChild.call(this, bindings, childOptions);
    return nativeChild.call(unbound, mergeBindings(this.bindings(), bindings), { level: this.level, ...childOptions });
  };
  unbound.child = childWithoutRepeats as unknown as Logger['child'];
  return unbound.child({ ...(options.name === undefined ? {} : { component: options.name }), ...options.base });
}

/** A logger that discards everything, for code paths that take an optional logger. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
