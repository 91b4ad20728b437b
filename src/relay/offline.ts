import type { IncomingMessage, ServerResponse } from 'node:http';
import { customAlphabet } from 'nanoid';
import { ErrorCode } from '../errors.js';
import type { MissedHead, RequestHead } from '../protocol/index.js';
import { sendError } from './respond.js';

/** How the relay treats requests for a tunnel whose agent is away. */
export interface OfflineLimits {
  /** How long a request waits for the agent to come back before the relay answers 503. */
  readonly waitMs: number;
  /** Requests kept per tunnel; beyond this the oldest is dropped. */
  readonly maxCount: number;
  /** Body bytes kept per tunnel; beyond this the oldest is dropped. A larger single body is not kept. */
  readonly maxBytes: number;
  /** How long a kept request is kept. */
  readonly ttlMs: number;
}

/** Defaults: wait 10 s, keep 100 requests or 10 MiB per tunnel, for 24 h. */
export const DEFAULT_OFFLINE_LIMITS: OfflineLimits = { waitMs: 10_000, maxCount: 100, maxBytes: 10 * 1024 * 1024, ttlMs: 24 * 3600_000 };

/** Seconds the sender is told to wait (Retry-After) when the agent is away. */
const RETRY_AFTER_S = 30;

const keptId = customAlphabet('0123456789abcdefghijklmnopqrstuvwxyz', 12);

/** A request answered by the relay while its agent was away, kept for the agent. */
export interface KeptRequest {
  readonly head: MissedHead;
  readonly body: Buffer;
}

interface Queue {
  items: KeptRequest[];
  bytes: number;
  /** Dropped since the agent last received the queue. */
  dropped: number;
}

/** Kept requests per tunnel id, bounded by count, bytes and age; the oldest go first, and are counted. */
export class OfflineQueues {
  private readonly queues = new Map<string, Queue>();
  /** Requests dropped by the limits since the relay started. */
  droppedTotal = 0;

  constructor(private readonly limits: OfflineLimits) {}

  /** Keeps a request for `tunnel`, dropping the oldest while over the limits. */
  keep(tunnel: string, item: KeptRequest): void {
    const q = this.queues.get(tunnel) ?? { items: [], bytes: 0, dropped: 0 };
    this.queues.set(tunnel, q);
    q.items.push(item);
    q.bytes += item.body.length;
    while (q.items.length > this.limits.maxCount || q.bytes > this.limits.maxBytes) this.dropOldest(q);
  }

  /** Counts a request that could not be kept at all (its body alone is over the byte limit). */
  refuse(tunnel: string): void {
    const q = this.queues.get(tunnel) ?? { items: [], bytes: 0, dropped: 0 };
    this.queues.set(tunnel, q);
    q.dropped++;
    this.droppedTotal++;
  }

  /** What is kept for `tunnel` (expired items removed), and how many were dropped since the last delivery. */
  pending(tunnel: string): { items: readonly KeptRequest[]; dropped: number } {
    const q = this.queues.get(tunnel);
    if (!q) return { items: [], dropped: 0 };
    const cutoff = Date.now() - this.limits.ttlMs;
    while (q.items.length > 0 && q.items[0]!.head.arrivedAt < cutoff) this.dropOldest(q);
    const dropped = q.dropped;
    q.dropped = 0;
    return { items: [...q.items], dropped };
  }

  /** Forgets the kept requests the agent has acknowledged. */
  ack(tunnel: string, ids: readonly string[]): void {
    const q = this.queues.get(tunnel);
    if (!q) return;
    const gone = new Set(ids);
    q.items = q.items.filter((item) => {
      if (!gone.has(item.head.id)) return true;
      q.bytes -= item.body.length;
      return false;
    });
    if (q.items.length === 0 && q.dropped === 0) this.queues.delete(tunnel);
  }

  /** Forgets a tunnel whose reservation ran out. */
  forget(tunnel: string): void {
    this.queues.delete(tunnel);
  }

  /** Requests kept across all tunnels. */
  get size(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.items.length;
    return n;
  }

  private dropOldest(q: Queue): void {
    const item = q.items.shift()!;
    q.bytes -= item.body.length;
    q.dropped++;
    this.droppedTotal++;
  }
}

/** How reading a body for an agent that is away ended. */
export type BoundedRead =
  | { readonly kind: 'body'; readonly body: Buffer }
  /** Over `max`: reading stopped, the rest is unread. */
  | { readonly kind: 'too_large' }
  /** `room` refused a chunk (the bytes held for the tunnel are at their limit): reading stopped. */
  | { readonly kind: 'no_room' }
  /** No body bytes for `idleMs`: a slow sender. */
  | { readonly kind: 'idle' }
  /** The sender went away. */
  | { readonly kind: 'aborted' };

/**
 * Reads a request body into memory, up to `max` bytes and while `room(chunk length)` agrees, giving up when the
 * sender pauses for longer than `idleMs` (the same body timeout as for a connected agent: without it a sender could
 * hold the socket open for ever).
 */
export function readBounded(req: IncomingMessage, max: number, idleMs: number, room: (bytes: number) => boolean = () => true): Promise<BoundedRead> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let size = 0;
    const done = (read: BoundedRead): void => {
      req.setTimeout(0);
      resolve(read);
    };
    req.setTimeout(idleMs, () => done({ kind: 'idle' }));
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max || !room(c.length)) {
        req.pause();
        return done({ kind: size > max ? 'too_large' : 'no_room' });
      }
      parts.push(c);
    });
    req.on('end', () => done({ kind: 'body', body: Buffer.concat(parts) }));
    req.on('error', () => done({ kind: 'aborted' }));
  });
}

/** Answers a sender whose tunnel's agent is away: 503 with Retry-After and `agent_offline`, saying whether it was kept. */
export function sendOffline(res: ServerResponse, tunnel: string, outcome: 'kept' | 'too_large' | 'full' | 'stopping'): void {
  const message = {
    kept: `the agent of tunnel "${tunnel}" is offline; this request was kept and will be shown to it when it reconnects`,
    too_large: `the agent of tunnel "${tunnel}" is offline, and this request is too large to keep`,
    full: `the agent of tunnel "${tunnel}" is offline, and the relay holds as many request bytes for it as it may; this request was not kept`,
    // Kept requests live in memory, so they would go with this process: say so rather than claim to keep it.
    stopping: `the agent of tunnel "${tunnel}" is offline and the relay is shutting down; this request was not kept`,
  }[outcome];
  sendError(res, ErrorCode.AgentOffline, message, { 'Retry-After': String(RETRY_AFTER_S) });
}

/** Makes the record of a kept request. */
export function keptRequest(head: RequestHead, body: Buffer, arrivedAt: number): KeptRequest {
  return { head: { ...head, id: keptId(), arrivedAt, status: 503 }, body };
}
