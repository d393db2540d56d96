// Lint rules: typescript-eslint's strict, type-aware presets, plus the project's layering rules.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.streamkeeper/', 'charts/', 'tools/kube/', 'tools/servers/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js', '*.mjs', 'tools/test/*.mjs', 'bin/*.js'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      'no-console': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // The controller machinery is generic: it must not know what a StreamingJob is.
    files: ['src/operator/machinery/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/api/**', '**/coordination/**', '**/runtime/**', '**/reconciler/**'], message: 'operator/machinery is generic controller machinery and must not depend on StreamingJob code.' }] }],
    },
  },
  {
    // Scripts, tests and benches talk to the terminal; only src/ must log through the logger.
    files: ['tools/**', 'bin/**', 'bench/**', 'test/**', '*.js', '*.mjs'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: globals.node },
  },
);
