import { Redis } from 'ioredis';
import { ErrorCode, HooktunnelError } from '../../errors.js';
import { RedisCertStore } from '../acme/redis-store.js';
import type { RelayLimits } from '../limits.js';
import type { OfflineLimits } from '../offline.js';
import { RedisDirectory } from './redis-directory.js';
import { RedisInbox } from './redis-inbox.js';
import { redactRedisUrl } from './redis-url.js';
import { RedisUsage } from './redis-usage.js';
import type { RelayStore } from './types.js';

/** What openRedisStore needs besides the URL. */
export interface RedisStoreOptions {
  /** Prefix of every key (several relay deployments can share one Redis). Default `hooktunnel:`. */
  readonly prefix?: string;
  readonly reservationMs: number;
  readonly offline: Pick<OfflineLimits, 'maxCount' | 'maxBytes' | 'ttlMs'>;
  readonly limits: Pick<RelayLimits, 'tunnelsPerToken' | 'requestsPerMinute'>;
  /** How long a tunnel stays held by a relay that stopped renewing (died). Default 15 s (three heartbeats). */
  readonly leaseMs?: number;
  /** How often each relay adds its request counts to the shared per-token counts. Default 1 s. */
  readonly usageFlushMs?: number;
  /** This relay's cluster URL (`--cluster-url`): recorded as the holder of the tunnels connected here. */
  readonly nodeUrl?: string;
  /** How long the first connection may take. Default 5 s. */
  readonly connectTimeoutMs?: number;
}

export { redactRedisUrl } from './redis-url.js';

/**
 * Connects to Redis (`redis://`, `rediss://`, a password in the URL) and returns the relay's store there: tunnel
 * directory and inbox. Commands fail at once while Redis is unreachable (no offline queue): the relay answers what
 * it cannot decide with `relay_store_unavailable` instead of holding requests. Per-token limits hold across the
 * relays on this Redis (RedisUsage). Rejects with `invalid_argument` when Redis cannot be reached at start.
 */
export async function openRedisStore(url: string, options: RedisStoreOptions): Promise<RelayStore> {
  const prefix = options.prefix ?? 'hooktunnel:';
  const redis = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: options.connectTimeoutMs ?? 5000 });
  // ioredis reports connection errors as events too; the commands' rejections are what the relay acts on.
  redis.on('error', () => {});
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw new HooktunnelError(ErrorCode.InvalidArgument, `cannot connect to Redis at ${redactRedisUrl(url)}: ${(err as Error).message}`, { cause: err });
  }
  const directory = new RedisDirectory(redis, prefix, options.reservationMs, options.leaseMs ?? 15_000, options.nodeUrl);
  const usage = new RedisUsage(redis, prefix, directory, options.limits, options.usageFlushMs);
  return {
    directory,
    inbox: new RedisInbox(redis, prefix, options.offline),
    usage,
    durable: true,
    location: redactRedisUrl(url),
    certStore: () => new RedisCertStore(redis, { prefix }),
    async close() {
      usage.close();
      await usage.flush().catch(() => {});
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
