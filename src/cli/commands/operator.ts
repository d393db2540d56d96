/** `streamkeeper operator`: the StreamingJob controller. */
import { enableProcessMetrics, operatorRegistry } from '../../metrics/index.js';
import { Operator } from '../../operator/operator.js';
import { operatorFlagHelp, operatorOptionSpec, parseOperatorOptions } from '../../operator/options.js';
import { productionRuntime } from '../../operator/production-runtime.js';
import type { Command } from '../command.js';

export const operatorCommand: Command = {
  name: 'operator',
  summary: 'run the StreamingJob controller (one active replica via a Lease)',
  usage: '--zk-connect HOSTS [--namespaces NS,...] [--metrics-addr ADDR] [flags]',
  flagHelp: operatorFlagHelp,
  options: operatorOptionSpec,
  async run(args, ctx) {
    const options = parseOperatorOptions(args.values, ctx.io.env);
    const runtime = await productionRuntime(options, ctx.logger, ctx.io.env);
    enableProcessMetrics(operatorRegistry);
    ctx.logger.info({ namespaces: options.namespaces.length === 0 ? 'all' : options.namespaces, identity: options.identity, workers: options.workers }, 'starting the operator');
    return new Operator(options, runtime).run(ctx.signal);
  },
};
