import { EventEmitter } from 'node:events';
import { removeHeader } from '../protocol/headers.js';
import { stripHopByHop } from '../protocol/index.js';
import { newExchangeId } from './connect.js';
import { forwardDetached } from './detached.js';
import type { AgentEventMap, RequestEvent } from './events.js';
import type { ExchangeHost } from './exchange.js';
import { Forwarder } from './forward.js';
import type { Target } from './target.js';
import type { VerifyOptions } from '../webhooks/types.js';
import { senderUrls } from '../webhooks/url.js';
import { startVerification } from '../webhooks/verify.js';

/** A request to send again. */
export interface ReplayRequest {
  readonly method: string;
  readonly path: string;
  /** Flat header list; hop-by-hop headers and Content-Length are recomputed, Host is set to the target's. */
  readonly headers: readonly string[];
  readonly body: Buffer;
}

/**
 * Sends a captured request again through the agent's own forwarding code (the same exchange and undici
 * forwarder as live traffic). `events` receives the same events as an agent's, so a recorder attached to it
 * captures the replay with `replayOf` set. Host is set to the target's unless `preserveHost`. Resolves with the
 * replay's request event.
 */
export async function replayRequest(
  events: EventEmitter<AgentEventMap>,
  target: Target,
  req: ReplayRequest,
  options: {
    readonly replayOf: string;
    readonly tunnel: string;
    readonly timeoutMs?: number;
    readonly preserveHost?: boolean;
    /** Check the replayed request's signature too (its outcome goes on the event and the capture). */
    readonly verify?: VerifyOptions;
    /** The tunnel's public URL the request was signed for (Twilio signs the URL). */
    readonly publicUrl?: string;
  },
): Promise<RequestEvent> {
  const forwarder = new Forwarder(target, { timeoutMs: options.timeoutMs, connections: 1 });
  const host: ExchangeHost = {
    forwarder,
    preserveHost: options.preserveHost === true,
    send: () => {},
    done: () => {},
    started: (ex, method, path, headers) =>
      events.emit('exchange-start', { id: ex.id, time: Date.now(), tunnel: options.tunnel, target: target.display, method, path, headers, replayOf: ex.replayOf }),
    requestBody: (ex, chunk) => events.emit('request-body', ex.id, chunk),
    requestEnded: (ex) => events.emit('request-end', ex.id),
    responded: (ex, status, headers) => events.emit('exchange-response', { id: ex.id, status, headers }),
    responseBody: (ex, chunk) => events.emit('response-body', ex.id, chunk),
    finished: (_ex, event) => events.emit('request', event),
    verifier: options.verify
      ? (head) => startVerification(head.headers, options.verify!, options.publicUrl ? senderUrls(options.publicUrl, head.path) : [])
      : undefined,
  };
  const headers = removeHeader(stripHopByHop(req.headers), 'content-length');
  try {
    return await forwardDetached(host, newExchangeId(), { method: req.method, path: req.path, headers, remote: '', host: '' }, req.body, options.replayOf);
  } finally {
    await forwarder.close();
  }
}

/** A fresh emitter for a replay's events. */
export function replayEvents(): EventEmitter<AgentEventMap> {
  return new EventEmitter<AgentEventMap>();
}
