import { describe, expect, it } from '@jest/globals';
import {
  credentialSecretLabels,
  driverPodName,
  driverServiceName,
  executorOrdinal,
  executorPodName,
  executorSelector,
} from '../../../../src/operator/reconciler/naming.js';

describe('pod names', () => {
  it('gives the driver and each executor ordinal a stable name', () => {
    expect(driverPodName('wordcount')).toBe('wordcount-driver');
    expect(executorPodName('wordcount', 0)).toBe('wordcount-executor-0');
    expect(executorPodName('wordcount', 12)).toBe('wordcount-executor-12');
    expect(() => executorPodName('wordcount', -1)).toThrow(RangeError);
  });

  const ordinals: [string, string, number | undefined][] = [
    ['wordcount', 'wordcount-executor-0', 0],
    ['wordcount', 'wordcount-executor-17', 17],
    ['wordcount', 'wordcount-executor-07', undefined],
    ['wordcount', 'wordcount-executor-', undefined],
    ['wordcount', 'wordcount-executor-1x', undefined],
    ['wordcount', 'wordcount-driver', undefined],
    ['wordcount', 'other-executor-1', undefined],
    ['a.b', 'a.b-executor-3', 3],
  ];
  it.each(ordinals)('reads the ordinal of job %s pod %s as %s', (job, pod, ordinal) => {
    expect(executorOrdinal(job, pod)).toBe(ordinal);
  });
});

describe('the driver Service name', () => {
  const dns1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
  const cases: [string, string][] = [
    ['wordcount', 'wordcount-driver'],
    ['a'.repeat(56), `${'a'.repeat(56)}-driver`],
  ];
  it.each(cases)('is <job>-driver when that is a DNS-1035 label: %s', (job, name) => {
    expect(driverServiceName(job)).toBe(name);
  });

  it.each(['a'.repeat(57), 'a'.repeat(63), 'team.wordcount', '9lives', 'x.y.z-'.repeat(10).slice(0, 60) + 'q'])('is made into a label, unique per job, when the job name is not one: %s', (job) => {
    const name = driverServiceName(job);
    expect(name).toMatch(dns1035);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name.endsWith('-driver')).toBe(true);
    expect(driverServiceName(job)).toBe(name);
  });

  it('keeps two long job names that share a prefix apart', () => {
    expect(driverServiceName(`${'a'.repeat(60)}-one`)).not.toBe(driverServiceName(`${'a'.repeat(60)}-two`));
  });
});

describe('the credential Secret', () => {
  it('is labelled as the job\'s, with a component of its own', () => {
    expect(credentialSecretLabels('wordcount')).toEqual({
      'app.kubernetes.io/name': 'streamkeeper',
      'app.kubernetes.io/instance': 'wordcount',
      'app.kubernetes.io/component': 'credentials',
      'app.kubernetes.io/managed-by': 'streamkeeper-operator',
    });
  });
});

describe('the executor selector', () => {
  it('selects exactly the job\'s executor pods', () => {
    expect(executorSelector('wordcount')).toBe(
      'app.kubernetes.io/component=executor,app.kubernetes.io/instance=wordcount,app.kubernetes.io/managed-by=streamkeeper-operator,app.kubernetes.io/name=streamkeeper',
    );
  });
});
