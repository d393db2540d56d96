/**
 * Binds the CLI to the real process: argv, streams, environment, and signals. SIGINT/SIGTERM
 * abort the command's signal so long-running commands shut down gracefully; a second signal
 * exits at once.
 */
import { main } from './main.js';

export async function run(): Promise<void> {
  const controller = new AbortController();
  let signalled = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signalled += 1;
    if (signalled > 1) process.exit(sig === 'SIGINT' ? 130 : 143);
    controller.abort(new Error(`received ${sig}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const code = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() }, controller.signal);
  process.exitCode = code;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}
