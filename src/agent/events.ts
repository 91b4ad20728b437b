import type { DeliveryAttempt, Exchange, ExchangeOpening, ResponseMode } from '../model/exchange.js';

export type { SignatureCheck } from '../model/exchange.js';

/** The tunnel is up: traffic to `url` now reaches `target`. First line of `--json` output. */
export interface ReadyEvent {
  readonly type: 'ready';
  readonly url: string;
  readonly tunnel: string;
  readonly target: string;
  readonly relay: string;
}

/**
 * One completed exchange: the `{"type":"request",…}` line of `--json` output. These fields are a public contract
 * (README, "--json events"): add fields, never rename or remove them. Their meanings are the Exchange record's.
 */
export interface RequestEvent
  extends Pick<Exchange, 'id' | 'method' | 'path' | 'status' | 'durationMs' | 'requestBytes' | 'responseBytes' | 'error' | 'message' | 'replayOf' | 'signature' | 'upgrade' | 'deliveryId' | 'redeliveryOf' | 'attempt'> {
  readonly type: 'request';
  /** Present when the tunnel has routes (a config file's): the name of the route the exchange took. */
  readonly route?: string;
  /** With routes: the route's response mode when the request arrived. */
  readonly mode?: ResponseMode;
  /** An ack route's background delivery: `{"n":2,"of":5}`, the second of at most five. */
  readonly ackAttempt?: DeliveryAttempt;
  /** With `ackAttempt`: `delivered`, `retrying` (another delivery follows), or `failed` (the last one failed; replayable). */
  readonly delivery?: 'delivered' | 'retrying' | 'failed';
}

/** A route's response mode was switched while the agent runs (from the inspector): new requests get the new one. */
export interface ModeEvent {
  readonly type: 'mode';
  readonly route: string;
  readonly mode: ResponseMode;
  readonly previous: ResponseMode;
}

/**
 * The connection state. `online` means the relay confirmed, within the last 2.4 heartbeats (12 s), that this
 * connection owns the tunnel; anything else is shown as not online.
 */
export type StateEvent =
  | { readonly type: 'state'; readonly state: 'online'; readonly url: string }
  | { readonly type: 'state'; readonly state: 'reconnecting'; readonly attempt: number; readonly delayMs: number; readonly reason: string }
  | { readonly type: 'state'; readonly state: 'offline'; readonly reason: string };

/**
 * A request that reached the relay while the agent was away; the relay answered it (`status`, 503) and kept it.
 * `id` is the relay's id for the kept request (a redelivery has the same id), `time` when it reached the relay,
 * `signature` the check as of that time.
 */
export interface MissedEvent extends Omit<ExchangeOpening, 'replayOf'>, Pick<Exchange, 'status' | 'signature' | 'deliveryId' | 'redeliveryOf' | 'attempt'> {
  readonly type: 'missed';
  readonly body: Buffer;
}

/** Requests the relay had to drop while the agent was away (its offline limits were full). */
export interface DroppedEvent {
  readonly type: 'dropped';
  readonly count: number;
}

/** Fine-grained exchange progress, for consumers that record bodies (the capture store): the request has arrived. */
export type ExchangeStart = ExchangeOpening;

/** The target's response head. `headers` are the exchange's `responseHeaders`. */
export interface ExchangeResponse extends Pick<Exchange, 'id' | 'status'> {
  readonly headers: NonNullable<Exchange['responseHeaders']>;
}

/** Events an agent emits. The UI, the line and JSON printers and the capture store all subscribe to these. */
export interface AgentEventMap {
  ready: [ReadyEvent];
  request: [RequestEvent];
  'exchange-start': [ExchangeStart];
  'request-body': [id: string, chunk: Buffer];
  /** The request body has arrived whole (emitted also for an empty body, before the exchange ends). */
  'request-end': [id: string];
  'exchange-response': [ExchangeResponse];
  'response-body': [id: string, chunk: Buffer];
  /** The connection to the relay is gone; `willRetry` says whether the agent reconnects. */
  disconnected: [{ readonly reason: string; readonly willRetry: boolean }];
  state: [StateEvent];
  missed: [MissedEvent];
  dropped: [DroppedEvent];
  mode: [ModeEvent];
}
