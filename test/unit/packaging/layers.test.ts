import { describe, expect, it } from '@jest/globals';
import { ESLint } from 'eslint';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// The project's own eslint.config.js, run for its import rule only: the type-aware rules need a
// TypeScript program, which the layer rule does not, and would make this test slow.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const eslint = new ESLint({
  cwd: root,
  overrideConfig: { files: ['**/*.ts'], languageOptions: { parserOptions: { projectService: false } } },
  ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports',
});

async function restrictedImports(filePath: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: join(root, filePath) });
  const messages = result?.messages ?? [];
  const fatal = messages.filter((message) => message.fatal === true);
  if (fatal.length > 0) throw new Error(`eslint could not parse ${filePath}: ${fatal.map((message) => message.message).join('; ')}`);
  return messages.filter((message) => message.ruleId === 'no-restricted-imports').map((message) => message.message);
}

/** The layers as docs/architecture.md draws them, lowest first: each a list of src/ modules. */
function documentedLayers(): string[][] {
  const doc = readFileSync(join(root, 'docs', 'architecture.md'), 'utf8');
  const section = doc.split('## The layers of `src/`')[1]?.split('\n## ')[0] ?? '';
  const rows = section.split('\n').filter((line) => /^\| [a-z]/.test(line) && !line.startsWith('| layer |'));
  return rows.map((row) => [...(row.split('|')[2] ?? '').matchAll(/`src\/([^`]+?)\/?`/g)].map((match) => match[1] ?? '')).reverse();
}

/** A path for a probe module inside `module` (a folder, or a file such as package-info.ts). */
const probePath = (module: string): string => (module.endsWith('.ts') ? `src/${module}` : `src/${module}/layer-probe.ts`);
/** How a probe in `from` imports `to`. */
function specifier(from: string, to: string): string {
  const prefix = from.endsWith('.ts') ? './' : '../';
  return to.endsWith('.ts') ? `${prefix}${to.replace(/\.ts$/, '.js')}` : `${prefix}${to}/layer-probe.js`;
}

describe('the layers of src/', () => {
  it('makes lint fail on a back-import: the pod runtime reaching into the operator', async () => {
    const messages = await restrictedImports('src/runtime/back-import.ts', "import { podUserId } from '../operator/reconciler/pod-environment.js';\nexport const uid = podUserId;\n");
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain('runtime is below operator');
  });

  it('makes lint fail when the generic machinery imports the project\'s metrics, the schema or ZooKeeper', async () => {
    for (const target of ['../metrics/index.js', '../api/v1alpha1/index.js', '../coordination/session.js', '../operator/operator.js']) {
      expect(await restrictedImports('src/machinery/back-import.ts', `import * as m from '${target}';\nexport const x = m;\n`)).toHaveLength(1);
    }
  });

  it('keeps third-party clients behind their adapters', async () => {
    expect(await restrictedImports('src/coordination/layout-probe.ts', "import { Kafka } from 'kafkajs';\nexport const k = Kafka;\n")).toHaveLength(1);
    expect(await restrictedImports('src/runtime/kafka/kafkajs-probe.ts', "import { Kafka } from 'kafkajs';\nexport const k = Kafka;\n")).toEqual([]);
  });

  it('enforces exactly the table in docs/architecture.md: down or sideways allowed, up refused', async () => {
    const layers = documentedLayers();
    expect(layers.flat()).toEqual(expect.arrayContaining(['errors', 'logging', 'package-info.ts', 'kube', 'machinery', 'api', 'coordination', 'runtime', 'metrics', 'operator', 'local', 'demo', 'cli']));
    const layerOf = new Map(layers.flatMap((modules, index) => modules.map((module) => [module, index] as const)));
    const verdicts: string[] = [];
    const expected: string[] = [];
    for (const [from, fromLayer] of layerOf) {
      const targets = [...layerOf.keys()].filter((to) => to !== from);
      const source = targets.map((to, i) => `import * as m${i} from '${specifier(from, to)}';\nexport const x${i} = m${i};\n`).join('');
      const [result] = await eslint.lintText(source, { filePath: join(root, probePath(from)) });
      const refusedLines = new Set((result?.messages ?? []).filter((message) => message.ruleId === 'no-restricted-imports').map((message) => message.line));
      targets.forEach((to, i) => {
        verdicts.push(`${from} → ${to}: ${refusedLines.has(2 * i + 1) ? 'refused' : 'allowed'}`);
        expected.push(`${from} → ${to}: ${(layerOf.get(to) ?? 0) > fromLayer ? 'refused' : 'allowed'}`);
      });
    }
    expect(verdicts).toEqual(expected);
  });
});
