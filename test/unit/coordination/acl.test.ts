import { describe, expect, it } from '@jest/globals';
import { AclScheme, credentialEnv, credentialFromSecretData, credentialSecretData, decodeJobNode, encodeJobNode, jobCredentialSecretName, jobUser, newJobCredential, readCredential, sameAcl } from '../../../src/coordination/acl.js';
import { Perm, isOpenAcl, openAcl } from '../../../src/coordination/zookeeper/client.js';
import { digestId } from '../../../src/coordination/zookeeper/digest.js';
import { createLogger } from '../../../src/logging/logger.js';
import { MemoryStream } from '../../support/memory-stream.js';
import { thrown } from '../../contract/zookeeper/waiting.js';

const operator = { user: 'streamkeeper-operator', password: 'op-secret' };
const job = { namespace: 'team-a', name: 'wordcount' };

describe('ACL scheme', () => {
  it('gives a job subtree to the operator and the job only, and the ancestors to the operator only', () => {
    const scheme = AclScheme.digest(operator);
    const credential = { user: jobUser(job), password: 'job-secret' };
    expect(scheme.job(credential)).toEqual([
      { perms: Perm.all, scheme: 'digest', id: digestId(operator) },
      { perms: Perm.all, scheme: 'digest', id: digestId(credential) },
    ]);
    expect(scheme.ancestors()).toEqual([{ perms: Perm.all, scheme: 'digest', id: digestId(operator) }]);
    expect(scheme.fence()).toEqual(scheme.ancestors());
    expect(scheme.operatorAuth).toEqual([{ scheme: 'digest', credential: 'streamkeeper-operator:op-secret' }]);
    expect(JSON.stringify(scheme.job(credential))).not.toContain('secret');
    expect(thrown(() => scheme.job(undefined))).toMatchObject({ code: 'SK_ZK_CREDENTIALS_MISSING' });
  });

  it('opens everything only when asked to, with a warning, and still fences deletions', () => {
    const sink = new MemoryStream();
    const scheme = AclScheme.insecureOpen(createLogger({ destination: sink, format: 'json' }));
    expect(sink.jsonLines()[0]).toMatchObject({ level: 'warn' });
    expect(scheme.open).toBe(true);
    expect(scheme.job(undefined)).toEqual(openAcl);
    expect(scheme.ancestors()).toEqual(openAcl);
    expect(scheme.fence()).toEqual([{ perms: Perm.read | Perm.delete | Perm.admin, scheme: 'world', id: 'anyone' }]);
    expect(scheme.operatorAuth).toEqual([]);
  });

  it('compares ACLs regardless of order and recognises the open one', () => {
    const a = { perms: 31, scheme: 'digest', id: 'a:x' };
    const b = { perms: 31, scheme: 'digest', id: 'b:y' };
    expect(sameAcl([a, b], [b, a])).toBe(true);
    expect(sameAcl([a], [a, b])).toBe(false);
    expect(isOpenAcl(openAcl)).toBe(true);
    expect(isOpenAcl([a])).toBe(false);
  });

  it('records the subtree ACL in the job node', () => {
    const acl = AclScheme.digest(operator).ancestors();
    expect(decodeJobNode(encodeJobNode(acl))).toEqual(acl);
    expect(decodeJobNode(Buffer.alloc(0))).toBeUndefined();
  });
});

describe('job credentials', () => {
  it('generates a random credential per job and stores it as Secret data', () => {
    const one = newJobCredential(job);
    const two = newJobCredential(job);
    expect(one.user).toBe('job.team-a.wordcount');
    expect(one.password).not.toBe(two.password);
    expect(one.password.length).toBeGreaterThanOrEqual(32);
    expect(jobCredentialSecretName('wordcount')).toBe('wordcount-zookeeper');
    const data = credentialSecretData(one);
    expect(data).toEqual({ user: one.user, password: one.password });
    expect(credentialFromSecretData(data, 'wordcount-zookeeper')).toEqual(one);
    expect(thrown(() => credentialFromSecretData({ user: 'u' }, 'wordcount-zookeeper'))).toMatchObject({ code: 'SK_ZK_CREDENTIALS_MISSING', field: 'wordcount-zookeeper' });
  });

  it('reads a pod\'s credential from the mounted Secret directory', () => {
    const files: Record<string, string> = { '/var/run/zk/user': 'job.team-a.wordcount\n', '/var/run/zk/password': 'pw\n' };
    const read = (path: string): string => {
      const content = files[path];
      if (content === undefined) throw new Error(`ENOENT: ${path}`);
      return content;
    };
    expect(readCredential({ [credentialEnv.dir]: '/var/run/zk' }, read)).toEqual({ user: 'job.team-a.wordcount', password: 'pw' });
    expect(thrown(() => readCredential({ [credentialEnv.dir]: '/nowhere' }, read))).toMatchObject({ code: 'SK_ZK_CREDENTIALS_MISSING' });
  });

  it('reads a credential from the environment, allows open ACLs only explicitly, and refuses to guess', () => {
    expect(readCredential({ [credentialEnv.user]: 'u', [credentialEnv.password]: 'p' })).toEqual({ user: 'u', password: 'p' });
    expect(readCredential({ [credentialEnv.insecureOpenAcl]: 'true' })).toBeUndefined();
    expect(thrown(() => readCredential({}))).toMatchObject({ code: 'SK_ZK_CREDENTIALS_MISSING' });
    expect(() => readCredential({ [credentialEnv.user]: 'u' })).toThrow(/STREAMKEEPER_ZK_PASSWORD/);
  });
});
