import type { TunnelAccess } from './gate.js';
import type { HeldClaim } from './store/types.js';

/** A tunnel whose agent is connected to this relay process. */
export interface LocalTunnel<S> {
  readonly session: S;
  /** The access rules the agent asked for: checked on every request without a store call. */
  readonly access: TunnelAccess;
  /** The directory's epoch of the claim: the release of this connection names it. */
  readonly epoch: number;
  /** SHA-256 hex of the owner's secret: lets the heartbeat write a claim back into a store that lost it. */
  readonly secretDigest: string;
}

/**
 * The tunnels connected to this relay process and the requests waiting for an agent to come back. Synchronous and
 * never shared: the per-request path for a tunnel connected here reads only this table.
 */
export class LocalTunnels<S> {
  private readonly entries = new Map<string, LocalTunnel<S>>();
  private readonly waiters = new Map<string, Set<(session: S) => void>>();

  /** The connected tunnel `id`, if it is connected here. */
  get(id: string): LocalTunnel<S> | undefined {
    return this.entries.get(id);
  }

  /** Registers `entry` under `id` and wakes the requests waiting for it; returns the entry it replaced. */
  set(id: string, entry: LocalTunnel<S>): LocalTunnel<S> | undefined {
    const replaced = this.entries.get(id);
    this.entries.set(id, entry);
    const waiting = this.waiters.get(id);
    if (waiting) {
      this.waiters.delete(id);
      for (const w of waiting) w(entry.session);
    }
    return replaced;
  }

  /** Removes `id` if it is still `session`'s (not a newer connection's); returns the entry removed. */
  remove(id: string, session: S): LocalTunnel<S> | undefined {
    const entry = this.entries.get(id);
    if (!entry || entry.session !== session) return undefined;
    this.entries.delete(id);
    return entry;
  }

  /** Number of tunnels connected here. */
  get size(): number {
    return this.entries.size;
  }

  /** The directory claims of the tunnels connected here (what the heartbeat renews). */
  claims(): HeldClaim[] {
    return [...this.entries].map(([id, e]) => ({ id, epoch: e.epoch, secretDigest: e.secretDigest, access: e.access }));
  }

  /** All sessions connected here. */
  sessions(): S[] {
    return [...this.entries.values()].map((e) => e.session);
  }

  /** Resolves with the session that connects `id` here within `ms`, or undefined (also when `cancel` aborts). */
  whenOnline(id: string, ms: number, cancel: AbortSignal): Promise<S | undefined> {
    const now = this.entries.get(id)?.session;
    if (now || cancel.aborted) return Promise.resolve(now);
    return new Promise((resolve) => {
      const set = this.waiters.get(id) ?? new Set();
      this.waiters.set(id, set);
      const done = (session: S | undefined): void => {
        clearTimeout(timer);
        set.delete(waiter);
        if (set.size === 0 && this.waiters.get(id) === set) this.waiters.delete(id);
        cancel.removeEventListener('abort', onAbort);
        resolve(session);
      };
      const waiter = (session: S): void => done(session);
      const onAbort = (): void => done(undefined);
      const timer = setTimeout(() => done(undefined), ms);
      set.add(waiter);
      cancel.addEventListener('abort', onAbort);
    });
  }
}
