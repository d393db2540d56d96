// Lint rules: typescript-eslint's strict, type-aware presets for TypeScript, the recommended
// rules for the few plain JavaScript files, plus the project's layering rules.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

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
  {
    // Third-party clients stay behind the project's own interfaces: kafkajs is barely
    // maintained, and the native zookeeper package has sharp edges its adapter blunts.
    files: ['src/**/*.ts'],
    ignores: ['src/runtime/kafka/**', 'src/coordination/zookeeper/native-client.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [
        { name: 'kafkajs', message: 'Use the Kafka interface in src/runtime/kafka.' },
        { name: 'zookeeper', message: 'Use the ZooKeeperClient interface in src/coordination/zookeeper.' },
      ] }],
    },
  },
  {
    // The controller machinery is generic: it must not know what a StreamingJob is.
    files: ['src/machinery/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/api/**', '**/coordination/**', '**/runtime/**', '**/reconciler/**'], message: 'machinery is generic controller machinery and must not depend on StreamingJob code.' }] }],
    },
  },
  {
    // Scripts, tests and benches talk to the terminal; only src/ must log through the logger.
    files: ['tools/**', 'bin/**', 'bench/**', 'test/**'],
    rules: { 'no-console': 'off' },
  },
);
