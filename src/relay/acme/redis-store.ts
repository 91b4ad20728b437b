import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RedisLock, type RedisLockOptions } from './redis-lock.js';
import type { CertStore, StoredCertificate } from './store.js';

/** How long a challenge token stays in Redis if its order's node dies before clearing it. */
const CHALLENGE_TTL_MS = 15 * 60_000;

/** What RedisCertStore needs besides the client. */
export interface RedisCertStoreOptions extends RedisLockOptions {
  /** Prefix of every key, as the relay store's (`hooktunnel:`). The ACME keys are under `<prefix>acme:`. */
  readonly prefix?: string;
}

/** Whether `certPem`'s leaf goes with `keyPem` (a pair written by a bug or by hand may not). */
function matches(certPem: string, keyPem: string): boolean {
  try {
    return new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

/**
 * The CertStore of a cluster, in the Redis its relays share: `<prefix>acme:account` (the account key, PEM),
 * `<prefix>acme:certs` (a hash: one field per name, the certificate and its key as JSON, so one HSET replaces both
 * at once), `<prefix>acme:challenge:<token>` (the key authorization, expiring after 15 min) and
 * `<prefix>acme:lock:<name>` (RedisLock). Any node answers a challenge another node's order created and serves a
 * certificate another node obtained; one node at a time orders a given name. Redis then holds private keys:
 * protect it as you would the files (a password, TLS, no public address).
 */
export class RedisCertStore implements CertStore {
  private readonly prefix: string;
  private readonly lock: RedisLock;

  constructor(
    private readonly redis: Redis,
    options: RedisCertStoreOptions = {},
  ) {
    this.prefix = `${options.prefix ?? 'hooktunnel:'}acme:`;
    this.lock = new RedisLock(redis, options);
  }

  async loadAccountKey(): Promise<Buffer | undefined> {
    return (await this.redis.getBuffer(`${this.prefix}account`)) ?? undefined;
  }

  async saveAccountKey(pem: Buffer): Promise<void> {
    await this.redis.set(`${this.prefix}account`, pem);
  }

  async loadCertificates(): Promise<StoredCertificate[]> {
    const all = await this.redis.hgetall(`${this.prefix}certs`);
    return Object.entries(all).flatMap(([name, value]) => {
      const cert = decode(name, value);
      return cert ? [cert] : [];
    });
  }

  /** Undefined also for an entry that is not a matching certificate and key: it is ordered again. */
  async loadCertificate(name: string): Promise<StoredCertificate | undefined> {
    const value = await this.redis.hget(`${this.prefix}certs`, name);
    return value === null ? undefined : decode(name, value);
  }

  async saveCertificate(cert: StoredCertificate): Promise<void> {
    await this.redis.hset(`${this.prefix}certs`, cert.name, JSON.stringify({ certPem: cert.certPem, keyPem: cert.keyPem }));
  }

  async deleteCertificate(name: string): Promise<void> {
    await this.redis.hdel(`${this.prefix}certs`, name);
  }

  async setChallenge(token: string, keyAuthorization: string): Promise<void> {
    await this.redis.set(`${this.prefix}challenge:${token}`, keyAuthorization, 'PX', CHALLENGE_TTL_MS);
  }

  async getChallenge(token: string): Promise<string | undefined> {
    return (await this.redis.get(`${this.prefix}challenge:${token}`)) ?? undefined;
  }

  async clearChallenge(token: string): Promise<void> {
    await this.redis.del(`${this.prefix}challenge:${token}`);
  }

  withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.lock.withLock(`${this.prefix}lock:${name}`, fn);
  }
}

function decode(name: string, value: string): StoredCertificate | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  const { certPem, keyPem } = (parsed ?? {}) as { certPem?: unknown; keyPem?: unknown };
  if (typeof certPem !== 'string' || typeof keyPem !== 'string' || !matches(certPem, keyPem)) return undefined;
  return { name, certPem, keyPem };
}
