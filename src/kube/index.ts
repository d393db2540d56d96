/**
 * The Kubernetes access layer: one narrow client interface (client.ts), its real adapter
 * (adapter.ts, loaded separately because it pulls in @kubernetes/client-node); its in-memory
 * fake (fake.ts) is for tests, through src/testing. Import the adapter and config loader from
 * their own modules.
 */
export * from './api-errors.js';
export * from './client.js';
export * from './event-channel.js';
export * from './merge-patch.js';
export * from './objects.js';
export * from './resources.js';
export * from './selectors.js';
