import { describe, expect, it } from '@jest/globals';
import { isStreamkeeperError } from '../../../src/errors/index.js';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from '../../../src/kube/selectors.js';

const labels = { app: 'streamkeeper', component: 'executor', 'app.kubernetes.io/instance': 'job-a' };

describe('label selectors', () => {
  it.each([
    ['', true],
    ['app=streamkeeper', true],
    ['app==streamkeeper', true],
    ['app=other', false],
    ['app!=other', true],
    ['missing!=x', true],
    ['component in (driver,executor)', true],
    ['component in (driver)', false],
    ['component notin (driver)', true],
    ['missing notin (driver)', true],
    ['missing in (driver)', false],
    ['app', true],
    ['!app', false],
    ['!missing', true],
    ['app.kubernetes.io/instance=job-a,component in ( driver , executor ),!missing', true],
    [' app = streamkeeper , component!=driver ', true],
  ])('%j matches the executor labels: %s', (selector, expected) => {
    expect(matchesLabels(parseLabelSelector(selector), labels)).toBe(expected);
  });

  it('treats a missing label set as empty', () => {
    expect(matchesLabels(parseLabelSelector('!app'), undefined)).toBe(true);
    expect(matchesLabels(parseLabelSelector('app'), undefined)).toBe(false);
  });

  it.each(['a in (b', 'a=b=c', '=b', 'a in b', 'bad key=x', 'a=not valid'])('rejects %j with SK_KUBE_BAD_REQUEST', (selector) => {
    expect(() => parseLabelSelector(selector)).toThrow();
    try {
      parseLabelSelector(selector);
    } catch (err) {
      expect(isStreamkeeperError(err, 'SK_KUBE_BAD_REQUEST')).toBe(true);
    }
  });
});

describe('field selectors', () => {
  const pod = { metadata: { name: 'p', namespace: 'ns' }, spec: { nodeName: 'node-1' }, status: { phase: 'Running' } };
  const allowed = ['metadata.name', 'metadata.namespace', 'spec.nodeName', 'status.phase'];

  it.each([
    ['spec.nodeName=node-1', true],
    ['spec.nodeName==node-1', true],
    ['spec.nodeName=node-2', false],
    ['status.phase!=Failed', true],
    ['metadata.name=p,metadata.namespace=ns', true],
    ['spec.nodeName=', false],
  ])('%j selects the pod: %s', (selector, expected) => {
    expect(matchesFields(parseFieldSelector(selector, allowed), pod)).toBe(expected);
  });

  it('rejects a field the kind does not support', () => {
    expect(() => parseFieldSelector('spec.hostname=x', allowed)).toThrow(/field label not supported: spec.hostname/);
  });
});
