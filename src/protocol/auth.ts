import { createHash } from 'node:crypto';

/**
 * What the hello's `auth` field carries: the SHA-256 (hex) of `user:pass`. The relay compares the digest of the
 * sender's basic-auth credentials with it, so the password itself never leaves the agent's machine.
 */
export function basicAuthDigest(userPass: string): string {
  return createHash('sha256').update(userPass).digest('hex');
}
