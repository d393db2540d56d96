/**
 * Resolves a job's keyed aggregator: the builtin aggregates of `spec.aggregation.aggregates`,
 * or the aggregator a module at `spec.aggregation.module` exports (`aggregator`, else the default
 * export). Modules are imported once per path; one that failed to load is tried again later.
 */
import { pathToFileURL } from 'node:url';
import { parseFieldPath } from '../../api/v1alpha1/index.js';
import type { AggregationConfig } from '../../coordination/config-mirror.js';
import { StreamkeeperError } from '../../errors/index.js';
import { builtinAggregator, type AggregateFunction, type KeyedAggregator } from './aggregator.js';

const required = ['initial', 'add', 'merge', 'result'] as const;

function isAggregator(value: unknown): value is KeyedAggregator {
  if (value === null || typeof value !== 'object') return false;
  const candidate = value as Record<string, unknown>;
  return required.every((name) => typeof candidate[name] === 'function') && (candidate.key === undefined || typeof candidate.key === 'function');
}

export async function loadAggregatorModule(path: string): Promise<KeyedAggregator> {
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (err) {
    throw new StreamkeeperError('SK_PROCESSOR_ERROR', `cannot load the aggregator module ${path}: ${err instanceof Error ? err.message : String(err)}`, { field: 'spec.aggregation.module', cause: err });
  }
  const found = [loaded.aggregator, loaded.default].find(isAggregator);
  if (found === undefined) {
    throw new StreamkeeperError('SK_PROCESSOR_ERROR', `the aggregator module ${path} exports no keyed aggregator: export \`aggregator\` (or a default export) with functions ${required.join(', ')} and optionally key`, { field: 'spec.aggregation.module' });
  }
  return found;
}

export class AggregatorRegistry {
  private readonly modules = new Map<string, Promise<KeyedAggregator>>();

  async resolve(aggregation: AggregationConfig): Promise<KeyedAggregator> {
    if (aggregation.module !== undefined) {
      const path = aggregation.module;
      let loading = this.modules.get(path);
      if (loading === undefined) {
        loading = loadAggregatorModule(path);
        this.modules.set(path, loading);
        loading.catch(() => this.modules.delete(path));
      }
      return loading;
    }
    return builtinAggregator({
      groupBy: aggregation.groupBy === undefined ? undefined : parseFieldPath(aggregation.groupBy),
      aggregates: (aggregation.aggregates ?? []).map((a) => ({
        name: a.name,
        function: a.function as AggregateFunction,
        field: a.field === undefined ? undefined : parseFieldPath(a.field),
      })),
    }) as KeyedAggregator;
  }
}
