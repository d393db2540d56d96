/** `streamkeeper operator`: the StreamingJob controller. */
import { operatorFlagHelp, operatorOptionSpec, parseOperatorOptions } from '../../operator/options.js';
import type { Command } from '../command.js';
import { notBuilt } from './not-built.js';

export const operatorCommand: Command = {
  name: 'operator',
  summary: 'run the StreamingJob controller (one active replica via a Lease)',
  usage: '--zk-connect HOSTS [--namespaces NS,...] [--metrics-addr ADDR] [flags]',
  flagHelp: operatorFlagHelp,
  options: operatorOptionSpec,
  run(args, ctx) {
    parseOperatorOptions(args.values, ctx.io.env);
    return notBuilt('operator');
  },
};
