import { describe, expect, it } from '@jest/globals';
import { classify } from '../../../src/errors/index.js';
import { errorFromApiFailure, statusBody } from '../../../src/kube/api-errors.js';

describe('API server failures as SK_ errors', () => {
  it.each([
    [404, 'NotFound', 'SK_KUBE_NOT_FOUND', 'permanent'],
    [403, 'Forbidden', 'SK_KUBE_FORBIDDEN', 'permanent'],
    [409, 'Conflict', 'SK_KUBE_CONFLICT', 'transient'],
    [409, 'AlreadyExists', 'SK_KUBE_ALREADY_EXISTS', 'permanent'],
    [410, 'Expired', 'SK_KUBE_GONE', 'transient'],
    [422, 'Invalid', 'SK_KUBE_INVALID', 'invalid-spec'],
    [400, 'BadRequest', 'SK_KUBE_BAD_REQUEST', 'permanent'],
    [429, 'TooManyRequests', 'SK_KUBE_ERROR', 'transient'],
    [500, 'InternalError', 'SK_KUBE_ERROR', 'transient'],
    [503, 'ServiceUnavailable', 'SK_KUBE_ERROR', 'transient'],
    [401, 'Unauthorized', 'SK_KUBE_ERROR', 'transient'],
  ])('HTTP %i (%s) is %s, %s', (httpStatus, reason, code, kind) => {
    const err = errorFromApiFailure({ httpStatus, body: statusBody(httpStatus, reason, 'the message'), operation: 'get Pod ns/p' });
    expect(classify(err)).toMatchObject({ code, kind });
    expect(err.message).toBe('get Pod ns/p: the message');
  });

  it('names the first offending field of a 422', () => {
    const body = statusBody(422, 'Invalid', 'Pod "p" is invalid: spec.containers[0].image: Required value', [
      { field: 'spec.containers[0].image', message: 'Required value', reason: 'FieldValueRequired' },
      { field: 'metadata.labels', message: 'Invalid value', reason: 'FieldValueInvalid' },
    ]);
    const err = errorFromApiFailure({ httpStatus: 422, body, operation: 'create Pod ns/p' });
    expect(err.field).toBe('spec.containers[0].image');
    expect(err.toString()).toBe('SK_KUBE_INVALID: spec.containers[0].image: create Pod ns/p: Pod "p" is invalid: spec.containers[0].image: Required value');
  });

  it('carries Retry-After as the retry delay of a transient error', () => {
    expect(errorFromApiFailure({ httpStatus: 429, retryAfterSeconds: 3, operation: 'list Pod' }).retryAfterMs).toBe(3000);
    const body = { ...statusBody(500, 'ServerTimeout', 'slow'), details: { retryAfterSeconds: 2 } };
    expect(errorFromApiFailure({ httpStatus: 500, body, operation: 'list Pod' }).retryAfterMs).toBe(2000);
  });

  it('explains a failure without a Status body', () => {
    expect(errorFromApiFailure({ httpStatus: 502, body: 'Bad Gateway', operation: 'watch Pod' }).message).toBe('watch Pod: Bad Gateway');
    expect(errorFromApiFailure({ httpStatus: 504, operation: 'watch Pod' }).message).toBe('watch Pod: HTTP 504');
  });
});
