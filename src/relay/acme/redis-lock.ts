import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

// Compare-and-delete and compare-and-extend: a holder whose lock ran out (and was taken by another) must neither
// release nor extend the new holder's lock. Each runs atomically on the Redis server.
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;
const EXTEND = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;

/** How a RedisLock behaves; every field has a default. */
export interface RedisLockOptions {
  /** How long the lock outlives a holder that stopped renewing it (died). Default 30 s; renewed every third of it. */
  readonly ttlMs?: number;
  /**
   * How long a contender waits for the lock before giving up. Default 6 min: an order can take a minute, and a
   * DNS-01 hook up to 5 minutes to publish its record.
   */
  readonly waitMs?: number;
  /** Pause between two attempts to take it. Default 250 ms. */
  readonly pollMs?: number;
}

/** A lock taken; `release()` gives it back if it is still this holder's. */
export interface HeldLock {
  readonly key: string;
  readonly token: string;
  /** True once a renewal found the lock gone or taken by another (the holder lost it: Redis was unreachable too long). */
  readonly lost: boolean;
  /** Stops renewing and deletes the lock if it is still ours; resolves with whether it was. */
  release(): Promise<boolean>;
}

/**
 * A lock in Redis shared by the relays of a cluster: `SET key token NX PX ttl` takes it, a Lua compare-and-delete
 * gives it back, and the holder extends it (compare-and-PEXPIRE) every third of the TTL while it works, so a
 * long order keeps it and a holder that dies frees it within the TTL. Single Redis instance (not Redlock).
 */
export class RedisLock {
  private readonly ttlMs: number;
  private readonly waitMs: number;
  private readonly pollMs: number;

  constructor(
    private readonly redis: Redis,
    options: RedisLockOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 30_000;
    this.waitMs = options.waitMs ?? 360_000;
    this.pollMs = options.pollMs ?? 250;
  }

  /** Takes the lock `key` if it is free; undefined when another holds it. Rejects when Redis does not answer. */
  async tryAcquire(key: string): Promise<HeldLock | undefined> {
    const token = randomBytes(16).toString('hex');
    const taken = await this.redis.set(key, token, 'PX', this.ttlMs, 'NX');
    return taken === 'OK' ? this.held(key, token) : undefined;
  }

  /** Takes the lock `key`, waiting (bounded by `waitMs`) while another holds it. */
  async acquire(key: string): Promise<HeldLock> {
    const deadline = Date.now() + this.waitMs;
    for (;;) {
      const held = await this.tryAcquire(key);
      if (held) return held;
      if (Date.now() >= deadline) throw new Error(`the lock ${key} has been held by another relay for more than ${Math.round(this.waitMs / 1000)} s`);
      // A little jitter, so that contenders do not retry in step.
      await new Promise((r) => setTimeout(r, this.pollMs * (0.75 + Math.random() / 2)));
    }
  }

  /** Runs `fn` while holding `key`; released after it, whatever it does. */
  async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const lock = await this.acquire(key);
    try {
      return await fn();
    } finally {
      // A release that cannot reach Redis leaves the lock to its TTL.
      await lock.release().catch(() => false);
    }
  }

  private held(key: string, token: string): HeldLock {
    const { redis, ttlMs } = this;
    let lost = false;
    const timer = setInterval(() => {
      redis.eval(EXTEND, 1, key, token, ttlMs).then(
        (kept) => {
          if (kept !== 1) {
            lost = true;
            clearInterval(timer);
          }
        },
        // Unreachable now: the next tick tries again; past the TTL the lock is gone, and the next tick says so.
        () => undefined,
      );
    }, Math.max(10, Math.floor(ttlMs / 3)));
    timer.unref();
    return {
      key,
      token,
      get lost() {
        return lost;
      },
      async release() {
        clearInterval(timer);
        return (await redis.eval(RELEASE, 1, key, token)) === 1;
      },
    };
  }
}
