/** `streamkeeper version`: the package version, and the runtime it runs on. */
import { streamkeeperVersion } from '../../package-info.js';
import type { Command } from '../command.js';

export const versionCommand: Command = {
  name: 'version',
  summary: 'print the streamkeeper version',
  usage: '[--json]',
  flagHelp: [['--json', 'print {"version", "node"} as JSON']],
  options: { json: { type: 'boolean' } },
  run(args, ctx) {
    const version = streamkeeperVersion();
    ctx.io.stdout.write(args.values.json === true ? `${JSON.stringify({ version, node: process.versions.node })}\n` : `streamkeeper ${version}\n`);
    return Promise.resolve(0);
  },
};
