import type { UsageCounter } from './store/types.js';

/** Limits the relay enforces, with their defaults (README "Limits"). */
export interface RelayLimits {
  /** Tunnels one token (or, without tokens, one agent address) may hold at once. */
  readonly tunnelsPerToken: number;
  /** Requests per minute to all tunnels of one token; beyond: 429 with Retry-After. */
  readonly requestsPerMinute: number;
  /** Largest request body, checked against Content-Length up front and while streaming: 413. */
  readonly maxBodyBytes: number;
  /** Largest request head (request line and headers): 431, answered by Node's parser. */
  readonly maxHeaderBytes: number;
  /** Most header lines in one request: 431 (Node would silently keep only the first ones). */
  readonly maxHeaderCount: number;
  /** Time a sender has to send the request head: 408. */
  readonly headersTimeoutMs: number;
  /** Longest pause between two pieces of a request body: 408. */
  readonly bodyIdleTimeoutMs: number;
  /** Requests in flight per tunnel: 503 beyond. Upgraded connections (WebSocket) count while they are open. */
  readonly maxInFlight: number;
  /** An upgraded connection with no byte either way for this long is closed at both ends. */
  readonly upgradeIdleTimeoutMs: number;
}

/** Defaults of the relay's limits. */
export const DEFAULT_LIMITS: RelayLimits = {
  tunnelsPerToken: 10,
  requestsPerMinute: 6000,
  maxBodyBytes: 100 * 1024 * 1024,
  maxHeaderBytes: 16 * 1024,
  maxHeaderCount: 2000,
  headersTimeoutMs: 10_000,
  bodyIdleTimeoutMs: 30_000,
  maxInFlight: 256,
  // Long enough for WebSocket keep-alive pings, which clients and servers send every 20-60 s.
  upgradeIdleTimeoutMs: 300_000,
};

const MINUTE_MS = 60_000;

/** Per-token usage in this process: tunnels held and requests in the current minute (a fixed window per token). */
export class TokenUsage implements UsageCounter {
  private readonly tunnels = new Map<string, number>();
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(private readonly limits: Pick<RelayLimits, 'tunnelsPerToken' | 'requestsPerMinute'>) {}

  /** True when `key` may open one more tunnel. */
  async canOpen(key: string): Promise<boolean> {
    return (this.tunnels.get(key) ?? 0) < this.limits.tunnelsPerToken;
  }

  /** Counts a tunnel opened (+1) or closed (-1) by `key`. */
  count(key: string, delta: 1 | -1): void {
    const n = (this.tunnels.get(key) ?? 0) + delta;
    if (n <= 0) this.tunnels.delete(key);
    else this.tunnels.set(key, n);
  }

  /** Counts one request for `key`; returns 0 when allowed, else the seconds until the window resets. */
  request(key: string, now = Date.now()): number {
    let w = this.windows.get(key);
    if (!w || now - w.start >= MINUTE_MS) {
      w = { start: now, count: 0 };
      this.windows.set(key, w);
    }
    if (w.count >= this.limits.requestsPerMinute) return Math.max(1, Math.ceil((w.start + MINUTE_MS - now) / 1000));
    w.count++;
    return 0;
  }
}
