/**
 * `streamkeeper operator`: the StreamingJob controller. The controller's modules load only when it
 * runs (see commands/index.ts).
 */
import { operatorFlagHelp, operatorOptionSpec, parseOperatorOptions } from '../../operator/options.js';
import type { Command } from '../command.js';

export const operatorCommand: Command = {
  name: 'operator',
  summary: 'run the StreamingJob controller (one active replica via a Lease)',
  usage: '--zk-connect HOSTS [--namespaces NS,...] [--metrics-addr ADDR] [flags]',
  flagHelp: operatorFlagHelp,
  options: operatorOptionSpec,
  async run(args, ctx) {
    const options = parseOperatorOptions(args.values, ctx.io.env);
    const [{ enableProcessMetrics, operatorRegistry }, { Operator }, { productionRuntime }] = await Promise.all([import('../../metrics/index.js'), import('../../operator/operator.js'), import('../../operator/production-runtime.js')]);
    const runtime = await productionRuntime(options, ctx.logger, ctx.io.env);
    enableProcessMetrics(operatorRegistry);
    ctx.logger.info({ namespaces: options.namespaces.length === 0 ? 'all' : options.namespaces, identity: options.identity, workers: options.workers }, 'starting the operator');
    return new Operator(options, runtime).run(ctx.signal);
  },
};
