/**
 * ZooKeeper `digest` credentials: a client authenticates with `user:password`; ACLs name
 * `user:base64(sha1("user:password"))`, so the password itself is never stored in an ACL.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Perm, type Acl } from './client.js';

export interface DigestCredential {
  readonly user: string;
  readonly password: string;
}

export function digestId(credential: DigestCredential): string {
  const hash = createHash('sha1').update(`${credential.user}:${credential.password}`).digest('base64');
  return `${credential.user}:${hash}`;
}

/** What `addAuth('digest', …)` takes. */
export function digestAuth(credential: DigestCredential): { scheme: 'digest'; credential: string } {
  return { scheme: 'digest', credential: `${credential.user}:${credential.password}` };
}

/** Full access for each of the given principals, and nothing for anyone else. */
export function digestAcl(...credentials: readonly DigestCredential[]): Acl[] {
  return credentials.map((c) => ({ perms: Perm.all, scheme: 'digest', id: digestId(c) }));
}

/** A fresh random credential (used for per-job identities). */
export function generateCredential(user: string): DigestCredential {
  return { user, password: randomBytes(24).toString('base64url') };
}
