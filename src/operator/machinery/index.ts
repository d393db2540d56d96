/**
 * Generic controller machinery (work queue, controller, informer, leader election, metrics
 * endpoint). It knows Kubernetes objects but nothing about StreamingJobs; eslint enforces that
 * it imports nothing from api/, coordination/, runtime/ or the reconciler.
 */
export * from './backoff.js';
export * from './clock.js';
export * from './controller.js';
export * from './informer.js';
export * from './leader-elector.js';
export * from './metrics-server.js';
export * from './rate-limiter.js';
export * from './work-queue.js';
