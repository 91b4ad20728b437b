import type { Redis } from 'ioredis';
import type { RelayLimits } from '../limits.js';
import type { RedisDirectory } from './redis-directory.js';
import type { UsageCounter } from './types.js';

const MINUTE_MS = 60_000;

interface Window {
  /** The clock minute (ms since epoch / 60 000) counted. */
  minute: number;
  /** Requests counted here and not yet added in Redis. */
  unflushed: number;
  /** The count in Redis over all relays, as of the last flush. */
  shared: number;
}

/**
 * Per-token usage shared by the relays on one Redis. Tunnels per token are those the owner holds through any relay
 * (the directory's leases), asked when an agent connects. Requests per minute are counted in clock minutes: each
 * relay counts locally on the request path (no round trip) and adds its counts in Redis every `flushMs`, learning
 * the total of all relays; a token is refused once that total plus what this relay has not yet added reaches the
 * limit. Across relays the limit is therefore exact to within one flush interval of the others' traffic.
 */
export class RedisUsage implements UsageCounter {
  private readonly windows = new Map<string, Window>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly directory: RedisDirectory,
    private readonly limits: Pick<RelayLimits, 'tunnelsPerToken' | 'requestsPerMinute'>,
    flushMs = 1000,
  ) {
    this.timer = setInterval(() => void this.flush().catch(() => {}), flushMs);
    this.timer.unref();
  }

  async canOpen(owner: string): Promise<boolean> {
    return (await this.directory.heldBy(owner)) < this.limits.tunnelsPerToken;
  }

  /** Nothing to count: tunnels are counted by their leases in the directory. */
  count(): void {}

  request(owner: string, now = Date.now()): number {
    const minute = Math.floor(now / MINUTE_MS);
    let w = this.windows.get(owner);
    if (!w || w.minute !== minute) this.windows.set(owner, (w = { minute, unflushed: 0, shared: 0 }));
    if (w.shared + w.unflushed >= this.limits.requestsPerMinute) return Math.max(1, Math.ceil(((minute + 1) * MINUTE_MS - now) / 1000));
    w.unflushed++;
    return 0;
  }

  /** Adds this relay's counts in Redis and learns the totals (every `flushMs`; a failure is retried next time). */
  async flush(now = Date.now()): Promise<void> {
    const minute = Math.floor(now / MINUTE_MS);
    const due: Array<[string, Window, number]> = [];
    const pipeline = this.redis.pipeline();
    for (const [owner, w] of this.windows) {
      if (w.minute < minute) {
        this.windows.delete(owner);
        continue;
      }
      const key = `${this.prefix}rpm:${owner}:${w.minute}`;
      pipeline.incrby(key, w.unflushed).pexpire(key, 2 * MINUTE_MS);
      due.push([owner, w, w.unflushed]);
    }
    if (due.length === 0) return;
    const results = (await pipeline.exec()) ?? [];
    due.forEach(([, w, sent], i) => {
      const [err, total] = results[i * 2] ?? [new Error('no reply')];
      if (err) return;
      w.unflushed -= sent;
      w.shared = Number(total);
    });
  }

  /** Stops the flushes. */
  close(): void {
    clearInterval(this.timer);
  }
}
