/**
 * The shape every `streamkeeper` subcommand has. Subcommands only parse flags and wire parts
 * together; the work lives in the modules they call.
 */
import type { ParseArgsConfig } from 'node:util';
import type { Logger, LogFormat, LogLevel } from '../logging/logger.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** The process's streams and environment, injectable so tests never touch the real ones. */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

export interface CommandContext {
  readonly io: CliIo;
  readonly logger: Logger;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  /** Aborted on SIGINT/SIGTERM; long-running commands stop gracefully when it fires. */
  readonly signal: AbortSignal;
}

export interface ParsedArgs {
  readonly values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  readonly positionals: string[];
}

export interface Command {
  readonly name: string;
  readonly summary: string;
  /** Usage line(s) after `streamkeeper <name>`, e.g. `[--metrics-addr ADDR]`. */
  readonly usage: string;
  /** Flag descriptions for --help, in display order: [flag, description]. */
  readonly flagHelp: readonly (readonly [string, string])[];
  readonly options: OptionSpec;
  readonly allowPositionals?: boolean;
  /** Returns the process exit code. */
  run(args: ParsedArgs, ctx: CommandContext): Promise<number>;
}
