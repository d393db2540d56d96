/**
 * Entry point of the `streamkeeper` CLI: global flags, subcommand dispatch, help, and the
 * mapping from errors to exit codes (2 for usage errors, 1 for everything else).
 */
import { parseArgs } from 'node:util';
import { StreamkeeperError, classify, usageError } from '../errors/index.js';
import { createLogger, logLevels, resolveLogLevel, type LogFormat } from '../logging/logger.js';
import type { CliIo, Command, CommandContext, OptionSpec } from './command.js';
import { commands } from './commands/index.js';

export const exitCodes = { ok: 0, failure: 1, usage: 2 } as const;

const globalOptions: OptionSpec = {
  help: { type: 'boolean', short: 'h' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
};

const globalFlagHelp: readonly (readonly [string, string])[] = [
  ['-h, --help', 'show help'],
  ['--log-level LEVEL', `one of ${logLevels.join(', ')} (env STREAMKEEPER_LOG_LEVEL; default info)`],
  ['--log-format FORMAT', 'json, pretty or auto (pretty on a terminal; default auto)'],
];

function formatFlags(flags: readonly (readonly [string, string])[]): string {
  const width = Math.max(...flags.map(([flag]) => flag.length));
  return flags.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`).join('\n');
}

export function topLevelHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'streamkeeper — runs micro-batch Kafka streaming jobs on Kubernetes, coordinated through ZooKeeper',
    '',
    'Usage: streamkeeper <command> [flags]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Global flags:',
    formatFlags(globalFlagHelp),
    '',
    'Run `streamkeeper <command> --help` for a command\'s flags.',
    '',
  ].join('\n');
}

export function commandHelp(command: Command): string {
  return [
    `streamkeeper ${command.name} — ${command.summary}`,
    '',
    `Usage: streamkeeper ${command.name} ${command.usage}`.trimEnd(),
    '',
    'Flags:',
    formatFlags([...command.flagHelp, ...globalFlagHelp]),
    '',
  ].join('\n');
}

function parseLogFormat(value: string | undefined): LogFormat {
  if (value === undefined) return 'auto';
  if (value === 'json' || value === 'pretty' || value === 'auto') return value;
  throw usageError(`--log-format must be json, pretty or auto (got "${value}")`);
}

function toUsageError(err: unknown): unknown {
  // node:util parseArgs reports unknown flags and missing values with ERR_PARSE_ARGS_* codes.
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
    return usageError((err as Error).message);
  }
  return err;
}

export async function main(argv: readonly string[], io: CliIo, signal: AbortSignal = new AbortController().signal): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(topLevelHelp());
    return name === undefined ? exitCodes.usage : exitCodes.ok;
  }
  const command = commands.find((c) => c.name === name);
  if (command === undefined) {
    io.stderr.write(`streamkeeper: unknown command "${name}"\n\n${topLevelHelp()}`);
    return exitCodes.usage;
  }
  try {
    const parsed = (() => {
      try {
        return parseArgs({
          args: [...rest],
          options: { ...globalOptions, ...command.options },
          allowPositionals: command.allowPositionals ?? false,
          strict: true,
        });
      } catch (err) {
        throw toUsageError(err);
      }
    })();
    if (parsed.values.help === true) {
      io.stdout.write(commandHelp(command));
      return exitCodes.ok;
    }
    const logLevelFlag = parsed.values['log-level'];
    const logFormatFlag = parsed.values['log-format'];
    let logLevel;
    try {
      logLevel = resolveLogLevel(typeof logLevelFlag === 'string' ? logLevelFlag : undefined, io.env);
    } catch (err) {
      throw usageError((err as Error).message);
    }
    const logFormat = parseLogFormat(typeof logFormatFlag === 'string' ? logFormatFlag : undefined);
    const logger = createLogger({ name: command.name, level: logLevel, format: logFormat, destination: io.stderr });
    const ctx: CommandContext = { io, logger, logLevel, logFormat, signal };
    return await command.run({ values: parsed.values, positionals: parsed.positionals }, ctx);
  } catch (err) {
    const classified = classify(err);
    if (classified.kind === 'usage') {
      io.stderr.write(`streamkeeper ${command.name}: ${err instanceof StreamkeeperError ? err.message : classified.message}\n`);
      io.stderr.write(`Run \`streamkeeper ${command.name} --help\` for usage.\n`);
      return exitCodes.usage;
    }
    io.stderr.write(`streamkeeper ${command.name}: ${classified.message}\n`);
    return exitCodes.failure;
  }
}
