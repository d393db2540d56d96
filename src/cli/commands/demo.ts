/**
 * `streamkeeper demo`: a guided end-to-end run on a local cluster of its own. Its modules load
 * only when it runs (see commands/index.ts).
 */
import { join } from 'node:path';
import { usageError } from '../../errors/index.js';
import { localPaths } from '../../local/local-state.js';
import type { Command } from '../command.js';

/** Apart from `streamkeeper local`'s cluster, so the demo never touches a cluster someone is using. */
const demoDir = join('.streamkeeper', 'demo');
const defaultLines = 60_000;

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run the guided end-to-end demo on a local cluster',
  usage: '[--keep] [--lines N]',
  flagHelp: [
    ['--keep', `leave the demo's local cluster (${demoDir}) running afterwards, to explore with kubectl`],
    ['--lines N', `lines of text to feed the job (default ${defaultLines.toLocaleString('en-US')})`],
  ],
  options: { keep: { type: 'boolean' }, lines: { type: 'string' } },
  async run(args, ctx) {
    const linesFlag = args.values.lines;
    const lines = typeof linesFlag === 'string' ? Number(linesFlag) : defaultLines;
    if (typeof linesFlag === 'string' && !/^\d+$/.test(linesFlag)) throw usageError(`--lines must be a whole number (got "${linesFlag}")`);
    const { runDemo } = await import('../../demo/run-demo.js');
    return runDemo({
      paths: localPaths(ctx.io.cwd, demoDir),
      keep: args.values.keep === true,
      lines,
      out: (line) => ctx.io.stdout.write(`${line}\n`),
      signal: ctx.signal,
      // Kafka and ZooKeeper client chatter would drown the story; ask for it with --log-level debug.
      ...(ctx.logLevel === 'debug' || ctx.logLevel === 'trace' ? { logger: ctx.logger } : {}),
    });
  },
};
