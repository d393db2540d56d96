// Runs the KubeClient contract against a real kube-apiserver (see client-node.contract.test.ts).
// Separate from the main jest projects because it needs a cluster the harness does not start yet.
export default {
  rootDir: '../../..',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/contract/kube/*.contract.test.ts'],
  testTimeout: 60000,
};
