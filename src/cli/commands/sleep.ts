/**
 * `streamkeeper sleep --seconds N [--ignore-sigterm] [--print-env NAME,...]`: a diagnostic that
 * waits and exits. It is a long-running process of the streamkeeper image with known signal
 * behaviour, so process supervision (the local node agent's SIGTERM-then-SIGKILL on pod deletion)
 * and the environment a pod's process gets can be checked.
 */
import { usageError } from '../../errors/index.js';
import type { Command } from '../command.js';

export const sleepCommand: Command = {
  name: 'sleep',
  summary: 'diagnostic: wait N seconds and exit 0 (checks how a supervisor stops processes)',
  usage: '--seconds N [--ignore-sigterm] [--print-env NAME,...]',
  flagHelp: [
    ['--seconds N', 'how long to wait (required; fractions allowed)'],
    ['--ignore-sigterm', 'keep waiting after SIGTERM or SIGINT, so only SIGKILL ends it early'],
    ['--print-env NAME,...', 'first print these environment variables to stdout as NAME=value lines (unset ones as NAME unset)'],
  ],
  options: { seconds: { type: 'string' }, 'ignore-sigterm': { type: 'boolean' }, 'print-env': { type: 'string' } },
  async run(args, ctx) {
    const raw = args.values.seconds;
    const seconds = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
    if (!Number.isFinite(seconds) || seconds < 0) throw usageError(`--seconds must be a non-negative number (got ${typeof raw === 'string' ? `"${raw}"` : 'nothing'})`);
    const ignoreSigterm = args.values['ignore-sigterm'] === true;
    const printEnv = args.values['print-env'];
    if (typeof printEnv === 'string') {
      for (const name of printEnv.split(',').filter((n) => n !== '')) {
        const value = ctx.io.env[name];
        ctx.io.stdout.write(value === undefined ? `${name} unset\n` : `${name}=${value}\n`);
      }
    }
    ctx.logger.info({ seconds, ignoreSigterm, pid: process.pid }, 'sleeping');
    const outcome = await new Promise<'elapsed' | 'signalled'>((resolve) => {
      const timer = setTimeout(() => {
        resolve('elapsed');
      }, seconds * 1000);
      const onAbort = (): void => {
        const reason = ctx.signal.reason instanceof Error ? ctx.signal.reason.message : 'stop requested';
        if (ignoreSigterm) {
          ctx.logger.warn(`${reason}; ignoring it (--ignore-sigterm)`);
          return;
        }
        ctx.logger.info(`${reason}; exiting`);
        clearTimeout(timer);
        resolve('signalled');
      };
      if (ctx.signal.aborted) onAbort();
      else ctx.signal.addEventListener('abort', onAbort, { once: true });
    });
    ctx.logger.info({ outcome }, 'done');
    return 0;
  },
};
