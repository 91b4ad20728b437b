import { EventEmitter } from 'node:events';
import type { Capture } from '../capture/queries.js';
import { ErrorCode, HooktunnelError } from '../errors.js';
import { newExchangeId, type DeliveryLedger } from '../model/exchange.js';
import { removeHeader } from '../protocol/headers.js';
import { stripHopByHop } from '../protocol/index.js';
import { forwardDetached } from './detached.js';
import type { AgentEventMap, RequestEvent } from './events.js';
import type { ExchangeHost } from './exchange.js';
import { Forwarder } from './forward.js';
import type { Target } from './target.js';
import { resignCaptured, type Resigned } from '../webhooks/resign.js';
import type { VerifyOptions, WebhookSecret } from '../webhooks/types.js';
import { capturedPublicUrl, senderUrls } from '../webhooks/url.js';
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
    /** The replay's exchange id; a fresh one by default. */
    readonly id?: string;
    readonly replayOf: string;
    readonly tunnel: string;
    readonly timeoutMs?: number;
    readonly preserveHost?: boolean;
    /** Check the replayed request's signature too (its outcome goes on the event and the capture). */
    readonly verify?: VerifyOptions;
    /** The tunnel's public URL the request was signed for (Twilio signs the URL). */
    readonly publicUrl?: string;
    /** A project run's capture: its tunnel's name and route, kept on the replay (which is forwarded: passthrough). */
    readonly tunnelName?: string;
    readonly route?: string;
    /** Marks the replay as a redelivery of what it replays (see DeliveryLedger). */
    readonly deliveries?: DeliveryLedger;
  },
): Promise<RequestEvent> {
  const forwarder = new Forwarder(target, { timeoutMs: options.timeoutMs, connections: 1 });
  const host: ExchangeHost = {
    forwarder,
    preserveHost: options.preserveHost === true,
    send: () => {},
    done: () => {},
    started: (ex, method, path, headers) =>
      events.emit('exchange-start', {
        id: ex.id, time: Date.now(), tunnel: options.tunnel, target: target.display, method, path, headers, replayOf: ex.replayOf,
        ...(options.tunnelName !== undefined ? { tunnelName: options.tunnelName } : {}),
        ...(options.route !== undefined ? { route: options.route, mode: 'passthrough' as const } : {}),
      }),
    requestBody: (ex, chunk) => events.emit('request-body', ex.id, chunk),
    requestEnded: (ex) => events.emit('request-end', ex.id),
    responded: (ex, status, headers) => events.emit('exchange-response', { id: ex.id, status, headers }),
    responseBody: (ex, chunk) => events.emit('response-body', ex.id, chunk),
    finished: (_ex, event) => events.emit('request', event),
    verifier: options.verify
      ? (head) => startVerification(head.headers, options.verify!, options.publicUrl ? senderUrls(options.publicUrl, head.path) : [])
      : undefined,
    deliveries: options.deliveries,
  };
  const headers = removeHeader(stripHopByHop(req.headers), 'content-length');
  try {
    return await forwardDetached(host, options.id ?? newExchangeId(), { method: req.method, path: req.path, headers, remote: '', host: '' }, req.body, options.replayOf);
  } finally {
    await forwarder.close();
  }
}

/** How to replay a capture (see replayCapture). */
export interface ReplayCaptureOptions {
  /** Where to send it: the capture's target, `--to`, or the running agent's. */
  readonly target: Target;
  /** The request body as stored; it also tells which secret signed the capture. */
  readonly capturedBody: Buffer;
  /** A body to send instead (`--body`, an edited one); re-signed over. Default the captured one. */
  readonly body?: Buffer;
  /** Secrets to re-sign with and to check the replay's signature against. */
  readonly secrets: readonly WebhookSecret[];
  /** False (`--no-resign`): the captured signature headers go untouched. Default true. */
  readonly resign?: boolean;
  /** Changes the headers after re-signing (`--header`: a signature given by hand wins over the re-signed one). */
  readonly editHeaders?: (headers: string[]) => string[];
  /** Keep the captured Host instead of the target's. */
  readonly preserveHost?: boolean;
  readonly timeoutMs?: number;
  /** Marks the replay as a redelivery of the capture (see DeliveryLedger). */
  readonly deliveries?: DeliveryLedger;
}

/** What a replay of a capture did. */
export interface ReplayOutcome {
  /** The replay's request event (`replayOf` the capture's id). */
  readonly event: RequestEvent;
  /** The target sent a response (the exit status of `hooktunnel replay`). */
  readonly answered: boolean;
  /** What re-signing did; undefined with `resign: false`. See describeResign. */
  readonly resign?: Resigned;
}

/**
 * Replays a captured request: the one way `hooktunnel replay` and the inspector's `r` and `e` do it. Re-signs it
 * for its provider when a secret is known (resignCaptured: a fresh timestamp, the secret that verified the capture
 * or else the newest), checks the replay's own signature, and sends it through replayRequest with the capture's
 * method, path and tunnel, `replayOf` its id. The caller has checked that `capturedBody` is whole (or brings `body`).
 * An upgraded connection's capture (WebSocket, 101) is refused with `invalid_argument`: only its handshake is stored.
 */
export async function replayCapture(events: EventEmitter<AgentEventMap>, c: Capture, options: ReplayCaptureOptions): Promise<ReplayOutcome> {
  // Its request is only the handshake: sent again without the upgrade, it would be a plain GET the target never saw.
  if (c.upgrade || c.status === 101) {
    throw new HooktunnelError(ErrorCode.InvalidArgument,
      `capture ${c.id} is an upgraded connection (${c.upgrade?.protocol ?? '101 Switching Protocols'}): its messages passed through without being captured, so it cannot be sent again`);
  }
  const body = options.body ?? options.capturedBody;
  const resign = options.resign === false ? undefined : resignCaptured(c, body, options.secrets, Date.now(), options.capturedBody);
  const signed = resign ? resign.headers : [...c.requestHeaders];
  const headers = options.editHeaders ? options.editHeaders(signed) : signed;
  const id = newExchangeId();
  let answered = false;
  const onResponse = (e: { readonly id: string }): void => void (e.id === id && (answered = true));
  events.on('exchange-response', onResponse);
  try {
    const event = await replayRequest(events, options.target, { method: c.method, path: resign?.path ?? c.path, headers, body }, {
      id, replayOf: c.id, tunnel: c.tunnel, tunnelName: c.tunnelName, route: c.route, timeoutMs: options.timeoutMs, preserveHost: options.preserveHost,
      verify: options.secrets.length > 0 ? { secrets: options.secrets } : undefined, publicUrl: capturedPublicUrl(c.requestHeaders, c.tunnel),
      deliveries: options.deliveries,
    });
    return { event, answered, resign };
  } finally {
    events.off('exchange-response', onResponse);
  }
}

/** A fresh emitter for a replay's events. */
export function replayEvents(): EventEmitter<AgentEventMap> {
  return new EventEmitter<AgentEventMap>();
}
