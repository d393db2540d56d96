import { describe, expect, it } from '@jest/globals';
import { StreamkeeperError, classify, errorCatalogue, invalidSpec } from '../../../src/errors/index.js';

describe('error vocabulary', () => {
  it('names the field an invalid spec is about', () => {
    const err = invalidSpec('spec.executors.replicas', 'must be at least 1');
    expect(err.toString()).toBe('SK_INVALID_SPEC: spec.executors.replicas: must be at least 1');
    expect(classify(err)).toMatchObject({ kind: 'invalid-spec', code: 'SK_INVALID_SPEC' });
  });

  it('treats unknown errors as transient', () => {
    expect(classify(new Error('socket hang up'))).toEqual({ kind: 'transient', code: 'UNKNOWN', message: 'socket hang up', retryAfterMs: undefined });
    expect(classify('bare string').kind).toBe('transient');
  });

  it('carries a retry delay for transient errors', () => {
    const err = new StreamkeeperError('SK_ZK_CONNECTION_LOSS', 'lost', { retryAfterMs: 250 });
    expect(classify(err)).toMatchObject({ kind: 'transient', retryAfterMs: 250 });
  });

  it('has a stable SK_ code and a summary for every entry', () => {
    for (const [code, entry] of Object.entries(errorCatalogue)) {
      expect(code).toMatch(/^SK_[A-Z_]+$/);
      expect(entry.summary.length).toBeGreaterThan(0);
    }
  });
});
