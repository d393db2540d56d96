// Lint rules: typescript-eslint's strict, type-aware presets for TypeScript, the recommended
// rules for the few plain JavaScript files, plus the project's layering rules.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** src/ folders (or files) per layer, lowest first. */
export const layers = [
  { name: 'foundation', modules: ['errors', 'logging', 'package-info.ts'], why: 'the error vocabulary, the logger and the package facts everything shares' },
  { name: 'kube', modules: ['kube'], why: 'the narrow Kubernetes client' },
  { name: 'machinery', modules: ['machinery'], why: 'generic controller machinery: it must not know StreamingJobs, ZooKeeper or Kafka' },
  { name: 'api', modules: ['api'], why: 'the StreamingJob schema' },
  { name: 'coordination', modules: ['coordination'], why: 'the ZooKeeper protocol' },
  { name: 'runtime', modules: ['runtime'], why: 'what runs in the driver and executor pods' },
  { name: 'metrics', modules: ['metrics'], why: 'each process\'s Prometheus families, implementing the lower layers\' hooks' },
  { name: 'operator', modules: ['operator'], why: 'the StreamingJob controller' },
  { name: 'local', modules: ['local'], why: 'the local cluster for development and tests' },
  { name: 'entry points', modules: ['demo', 'cli'], why: 'commands: wiring only' },
  { name: 'testing', modules: ['testing'], why: 'the fakes and the manual clock, for tests and benches only' },
];

/** Third-party clients stay behind the project's own interfaces (kafkajs is barely maintained, the native zookeeper package has sharp edges its adapter blunts). */
const thirdPartyClients = [
  { name: 'kafkajs', message: 'Use the Kafka interface in src/runtime/kafka.' },
  { name: 'zookeeper', message: 'Use the ZooKeeperClient interface in src/coordination/zookeeper.' },
];
const thirdPartyAdapters = ['src/runtime/kafka/**', 'src/coordination/zookeeper/native-client.ts'];

const importPattern = (module) => (module.endsWith('.ts') ? `**/${module.replace(/\.ts$/, '.js')}` : `**/${module}/**`);
const filesOf = (module) => (module.endsWith('.ts') ? `src/${module}` : `src/${module}/**/*.ts`);

/** One no-restricted-imports block per layer: the layers above it, plus the third-party clients. */
function layerRules() {
  return layers.flatMap((layer, index) => {
    const above = layers.slice(index + 1);
    const patterns = above.map((higher) => ({
      group: higher.modules.map(importPattern),
      message: `${layer.modules.join('/')} is below ${higher.modules.join('/')} (${higher.name}) in the layers of docs/architecture.md: ${layer.name} — ${layer.why} — must not import it.`,
    }));
    const rule = (paths) => ({ 'no-restricted-imports': ['error', { paths, patterns }] });
    const files = layer.modules.map(filesOf);
    const adapters = thirdPartyAdapters.filter((adapter) => layer.modules.some((module) => adapter.startsWith(`src/${module}/`)));
    return [
      { files, ignores: thirdPartyAdapters, rules: rule(thirdPartyClients) },
      ...(adapters.length === 0 ? [] : [{ files: adapters, rules: rule([]) }]),
    ];
  });
}

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.streamkeeper/', '.test-results/', 'charts/', 'tools/kube/', 'tools/servers/'] },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [js.configs.recommended],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.strictTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      'no-console': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  // The layers of src/, lowest first (docs/architecture.md draws the same table). A module may
  // import from its own layer and the layers below it, never from a layer above: so the generic
  // machinery knows nothing of StreamingJobs, ZooKeeper or Kafka, the runtime in the pods knows
  // nothing of the operator, and only the entry points (cli, demo) see everything.
  ...layerRules(),
  {
    // Scripts, tests and benches talk to the terminal; only src/ must log through the logger.
    files: ['tools/**', 'bin/**', 'bench/**', 'test/**'],
    rules: { 'no-console': 'off' },
  },
);
