import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { readRepoFile } from '../../support/packaging/manifests.js';

const doc = readRepoFile('docs/gitops.md');
const healthCheck = readRepoFile('charts/streamkeeper/health/streamingjob.lua');

function codeBlocks(language: string): string[] {
  return [...doc.matchAll(new RegExp('^```' + language + '\\n([\\s\\S]*?)^```', 'gm'))].map((m) => m[1] ?? '');
}

describe('docs/gitops.md', () => {
  it('shows the Argo CD health check exactly as the chart ships it', () => {
    expect(codeBlocks('lua')).toEqual([healthCheck]);
  });

  it('registers that same health check for streamkeeper.io/StreamingJob in argocd-cm', () => {
    const configMaps = codeBlocks('yaml')
      .map((block) => parse(block) as { kind?: string; metadata?: { name?: string }; data?: Record<string, string> })
      .filter((o) => o.kind === 'ConfigMap' && o.metadata?.name === 'argocd-cm');
    expect(configMaps).toHaveLength(1);
    expect(configMaps[0]?.data?.['resource.customizations.health.streamkeeper.io_StreamingJob']).toBe(healthCheck);
  });

  it('has only YAML examples that parse', () => {
    for (const block of codeBlocks('yaml')) {
      expect(() => {
        parse(block);
      }).not.toThrow();
    }
  });
});
