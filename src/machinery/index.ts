/**
 * Generic controller machinery (clock, random, backoff, work queue, controller, informer, leader
 * election, metrics endpoint). It knows Kubernetes objects but nothing about StreamingJobs,
 * ZooKeeper or Kafka; eslint enforces the layering (see docs/architecture.md).
 */
export * from './backoff.js';
export * from './clock.js';
export * from './controller.js';
export * from './informer.js';
export * from './leader-elector.js';
export * from './metrics-hooks.js';
export * from './metrics-server.js';
export * from './random.js';
export * from './rate-limiter.js';
export * from './work-queue.js';
