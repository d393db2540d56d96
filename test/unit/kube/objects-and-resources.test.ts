import { describe, expect, it } from '@jest/globals';
import { objectKey, parseObjectKey } from '../../../src/kube/objects.js';
import { apiVersionOf, resourcePath, resources } from '../../../src/kube/resources.js';

describe('object keys', () => {
  it.each([
    [{ namespace: 'ns', name: 'job' }, 'ns/job'],
    [{ name: 'node-1' }, 'node-1'],
    [{ namespace: '', name: 'node-1' }, 'node-1'],
  ])('%j has the key %s', (ref, key) => {
    expect(objectKey(ref)).toBe(key);
  });

  it('reads a key back into a reference', () => {
    expect(parseObjectKey('ns/job')).toEqual({ namespace: 'ns', name: 'job' });
    expect(parseObjectKey('node-1')).toEqual({ name: 'node-1' });
  });

  it.each(['/job', 'ns/', 'a/b/c'])('rejects the malformed key %j', (key) => {
    expect(() => parseObjectKey(key)).toThrow(RangeError);
  });
});

describe('resource paths', () => {
  it.each([
    [resources.Pod, {}, '/api/v1/pods'],
    [resources.Pod, { namespace: 'ns' }, '/api/v1/namespaces/ns/pods'],
    [resources.Pod, { namespace: 'ns', name: 'p', subresource: 'status' as const }, '/api/v1/namespaces/ns/pods/p/status'],
    [resources.Node, { name: 'n1' }, '/api/v1/nodes/n1'],
    [resources.Node, { namespace: 'ignored', name: 'n1' }, '/api/v1/nodes/n1'],
    [resources.Lease, { namespace: 'kube-system', name: 'streamkeeper' }, '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/streamkeeper'],
    [resources.Event, { namespace: 'ns' }, '/apis/events.k8s.io/v1/namespaces/ns/events'],
    [resources.StreamingJob, { namespace: 'ns', name: 'j', subresource: 'status' as const }, '/apis/streamkeeper.io/v1alpha1/namespaces/ns/streamingjobs/j/status'],
  ])('%#: %j at %j is %s', (descriptor, target, path) => {
    expect(resourcePath(descriptor, target)).toBe(path);
  });

  it('gives each kind its apiVersion', () => {
    expect(apiVersionOf(resources.Pod)).toBe('v1');
    expect(apiVersionOf(resources.StreamingJob)).toBe('streamkeeper.io/v1alpha1');
  });
});
