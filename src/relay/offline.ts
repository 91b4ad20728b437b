import type { IncomingMessage, ServerResponse } from 'node:http';
import { customAlphabet } from 'nanoid';
import { ErrorCode } from '../errors.js';
import type { RequestHead } from '../protocol/index.js';
import { sendError } from './respond.js';
import type { KeptRequest } from './store/types.js';

export type { KeptRequest } from './store/types.js';

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

/** What readBounded would have made of `body`, read whole already. */
export function boundedOf(body: Buffer, max: number, room: (bytes: number) => boolean = () => true): BoundedRead {
  if (body.length > max) return { kind: 'too_large' };
  if (!room(body.length)) return { kind: 'no_room' };
  return { kind: 'body', body };
}

/** Answers a sender whose tunnel's agent is away: 503 with Retry-After and `agent_offline`, saying whether it was kept. */
export function sendOffline(res: ServerResponse, tunnel: string, outcome: 'kept' | 'too_large' | 'full' | 'stopping' | 'unstored'): void {
  const message = {
    kept: `the agent of tunnel "${tunnel}" is offline; this request was kept and will be shown to it when it reconnects`,
    too_large: `the agent of tunnel "${tunnel}" is offline, and this request is too large to keep`,
    full: `the agent of tunnel "${tunnel}" is offline, and the relay holds as many request bytes for it as it may; this request was not kept`,
    // A relay that keeps requests in memory (`--memory`) would lose them with this process: say so rather than
    // claim to keep it. A relay with a store on disk keeps it instead.
    stopping: `the agent of tunnel "${tunnel}" is offline and the relay is shutting down; this request was not kept`,
    unstored: `the agent of tunnel "${tunnel}" is offline, and the relay could not store this request; it was not kept`,
  }[outcome];
  sendError(res, ErrorCode.AgentOffline, message, { 'Retry-After': String(RETRY_AFTER_S) });
}

/** Makes the record of a kept request. */
export function keptRequest(head: RequestHead, body: Buffer, arrivedAt: number): KeptRequest {
  return { head: { ...head, id: keptId(), arrivedAt, status: 503 }, body };
}
