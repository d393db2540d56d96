/**
 * The StreamingJob API, v1alpha1: what the operator, driver and executors import to read, default
 * and validate jobs, and what tools/gen-crd.mjs renders into the CRD.
 */
export * from './constants.js';
export * from './schema.js';
export type * from './types.js';
export { applyDefaults, applySchemaDefaults, effectiveAggregation, impliedWordcountAggregation, sinkCluster } from './defaults.js';
export type { DefaultedAggregation, SinkCluster } from './defaults.js';
export * from './validation.js';
export * from './processor-params.js';
export { parseDuration, parseQuantity } from './quantities.js';
export * from './crd.js';
export { fieldReferenceMarkers, renderFieldReference, withFieldReference } from './field-reference.js';
export type { CelRule } from './kube-schema.js';
