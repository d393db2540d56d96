/** Runs the CLI in-process with captured streams. */
import { main } from '../../src/cli/main.js';
import { MemoryStream } from './memory-stream.js';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function runCli(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const stdout = new MemoryStream();
  const stderr = new MemoryStream();
  const code = await main(argv, { stdout, stderr, env, cwd: process.cwd() });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}
