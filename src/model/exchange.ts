import { customAlphabet } from 'nanoid';
import { ErrorCode } from '../errors.js';
import type { SignatureCheck } from './signature.js';

export type { SignatureCheck } from './signature.js';

/**
 * An exchange (a request with its response or error) as hooktunnel records it: the one definition. The agent's
 * events, the store's rows, the inspector's list rows are each a part of it (see the Pick types below and in
 * agent/events.ts, capture/schema.ts, capture/queries.ts, ui/inspector/rows.ts), so a field means the same
 * everywhere. The names that reach `--json` output are a public contract (README, "--json events").
 */
export interface Exchange {
  /** The exchange id (the agent's, see newExchangeId; for a missed request, the relay's), also the capture id. */
  readonly id: string;
  /** Milliseconds since the epoch when the request arrived (at the agent; for a missed request, at the relay). */
  readonly time: number;
  /** The tunnel id the request came through. */
  readonly tunnel: string;
  /** Where the request was forwarded (`http://localhost:3000`). */
  readonly target: string;
  readonly method: string;
  /** As the sender sent it, query included. */
  readonly path: string;
  /** Request headers as forwarded to the target: a flat `[name, value, …]` list in wire order, repeats kept. */
  readonly requestHeaders: readonly string[];
  /** The status the sender got: the target's, or the relay's error status. 0 when the sender went away first (or none yet). */
  readonly status: number;
  /** The target's response headers; undefined when the target never answered. */
  readonly responseHeaders?: readonly string[];
  /** Present when the sender got an error instead of the target's answer (an ErrorCode string). */
  readonly error?: string;
  /** Present on failures: what went wrong, in words. */
  readonly message?: string;
  /** From the request reaching the agent to the end of the response. */
  readonly durationMs: number;
  /** Body bytes that passed (more than stored when truncated); while incomplete, the bytes stored so far. */
  readonly requestBytes: number;
  readonly responseBytes: number;
  /** The stored body was cut at the capture limit. */
  readonly requestTruncated: boolean;
  readonly responseTruncated: boolean;
  /** Present when this exchange re-sent an earlier one (a replay, or a missed request forwarded later): that id. */
  readonly replayOf?: string;
  /** Arrived while the agent was away: the relay answered it (503) and kept it. */
  readonly missed: boolean;
  /** False while the exchange is in flight, or when the agent died before it ended. */
  readonly complete: boolean;
  /** True once the whole request body had arrived (and was stored), also for an exchange that never completed. */
  readonly requestComplete?: boolean;
  /** Present when signature verification was configured: the result for this request. */
  readonly signature?: SignatureCheck;
  /** A project run's: the tunnel's name in the config file (`tunnel` is its id on the relay). */
  readonly tunnelName?: string;
  /** A project run's: the route the exchange took (its `name`, `#<n>`, or `no route`). */
  readonly route?: string;
  /** A project run's: the route's response mode when the exchange arrived. */
  readonly mode?: ResponseMode;
  /** An `ack` route's background delivery: which delivery this was (1-based) of how many at most. */
  readonly ackAttempt?: DeliveryAttempt;
  /** Present when the target switched protocols (101): what passed over the upgraded connection. */
  readonly upgrade?: UpgradeSummary;
  /**
   * The provider's id of this delivery, as `provider:id` (`github:<X-GitHub-Delivery>`, `stripe:<event id>`, …; see
   * webhooks/delivery.ts); `hooktunnel:<id>` for a replay of a request that had none. Absent when there is none.
   */
  readonly deliveryId?: string;
  /** Present on a redelivery (the delivery id was seen before, or hooktunnel replayed it): the first capture's id. */
  readonly redeliveryOf?: string;
  /** With a delivery id: 1 for its first delivery, 2 for the next, and so on. */
  readonly attempt?: number;
}

/** How a route answers: forwards (passthrough), acknowledges then delivers (ack), or answers itself (mock, fail). */
export type ResponseMode = 'passthrough' | 'ack' | 'mock' | 'fail';

/** Every response mode, in the order the inspector cycles through them. */
export const RESPONSE_MODES: readonly ResponseMode[] = ['passthrough', 'ack', 'mock', 'fail'];

/** One background delivery of an acknowledged request. */
export interface DeliveryAttempt {
  /** 1 for the first delivery. */
  readonly n: number;
  /** Deliveries at most (the route's `retry.attempts`). */
  readonly of: number;
}

/**
 * Where a delivery stands: `delivered`, `retrying` (it failed, another comes), or `failed` (the last one failed:
 * nothing more is tried; the capture can be replayed). Undefined for exchanges that are not deliveries.
 */
export function deliveryState(e: Pick<Exchange, 'ackAttempt' | 'status' | 'error' | 'complete'>): 'delivered' | 'retrying' | 'failed' | undefined {
  if (!e.ackAttempt || !e.complete) return undefined;
  if (!e.error && e.status > 0 && e.status < 500) return 'delivered';
  return e.ackAttempt.n >= e.ackAttempt.of ? 'failed' : 'retrying';
}

/**
 * An upgraded connection (WebSocket) as it ended. `In` is from the sender to the target, `Out` from the target to
 * the sender. Messages are WebSocket data messages (text or binary, however fragmented; control frames are not
 * counted), 0 for another protocol; bytes are the raw bytes of the connection after the 101, frame headers included.
 */
export interface UpgradeSummary {
  /** The protocol the target switched to (`websocket`). */
  readonly protocol: string;
  readonly messagesIn: number;
  readonly messagesOut: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

/** Where an exchange stands among the deliveries of its delivery id (see DeliveryLedger). */
export type DeliveryMark = Pick<Exchange, 'deliveryId' | 'redeliveryOf' | 'attempt'>;

/**
 * Tells redeliveries apart: `place` is called once per exchange, in arrival order, with the delivery id its request
 * carries (webhooks/delivery.ts) and the id it replays, and says which attempt it is. The agent keeps one in
 * memory; with captures on, one backed by the store (capture/deliveries.ts) also knows earlier runs.
 */
export interface DeliveryLedger {
  place(id: string, deliveryId: string | undefined, replayOf: string | undefined): DeliveryMark | undefined;
}

/** What is known of an exchange when its request arrives. `headers` are its `requestHeaders`. */
export interface ExchangeOpening extends Pick<Exchange, 'id' | 'time' | 'tunnel' | 'target' | 'method' | 'path' | 'replayOf' | 'tunnelName' | 'route' | 'mode' | 'ackAttempt'> {
  /** Headers as forwarded to the target (Exchange.requestHeaders). */
  readonly headers: Exchange['requestHeaders'];
}

/** What is known of an exchange when it ends. */
export type ExchangeOutcome = Pick<Exchange,
  'status' | 'responseHeaders' | 'error' | 'message' | 'durationMs' | 'requestBytes' | 'responseBytes' | 'requestTruncated' | 'responseTruncated' |
  'requestComplete' | 'signature' | 'upgrade' | 'deliveryId' | 'redeliveryOf' | 'attempt'>;

/** The one wording of a missed request's outcome, for the store, the inspector and the printers. */
export const MISSED_MESSAGE = 'arrived while the agent was offline; the relay answered and kept it';

/**
 * The outcome fields of a missed request: the relay answered `status` (503) and no target was asked. The store and
 * the inspector's rows both build theirs with this, so they say the same.
 */
export function missedOutcome(status: number, requestBytes: number): Pick<Exchange, 'status' | 'error' | 'message' | 'durationMs' | 'requestBytes' | 'responseBytes'> {
  return { status, error: ErrorCode.AgentOffline, message: MISSED_MESSAGE, durationMs: 0, requestBytes, responseBytes: 0 };
}

/** The characters of an exchange id: lower-case letters and digits (the relay's kept-request ids use the same). */
export const EXCHANGE_ID_PATTERN = /^[a-z0-9]{1,64}$/;

/** A fresh exchange id: 12 characters of [0-9a-z] (62 bits). */
export const newExchangeId = customAlphabet('0123456789abcdefghijklmnopqrstuvwxyz', 12);
