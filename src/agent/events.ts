/**
 * Whether a request carried a valid webhook signature (issue 7). `provider` names the scheme recognised from the
 * headers (`github`, `stripe`, `slack`, `shopify`, `standard`, `twilio`, `generic`); `reason` says why it is invalid
 * (`mismatch`, `timestamp`, `missing_header`, `unknown_secret`, …).
 */
export interface SignatureCheck {
  readonly status: 'valid' | 'invalid' | 'unsigned';
  readonly provider?: string;
  readonly reason?: string;
}

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
 * (README, "--json events"): add fields, never rename or remove them.
 */
export interface RequestEvent {
  readonly type: 'request';
  /** The exchange id, also the capture id. */
  readonly id: string;
  readonly method: string;
  readonly path: string;
  /** The status the sender got: the target's, or the relay's error status. 0 when the sender went away first. */
  readonly status: number;
  readonly durationMs: number;
  readonly requestBytes: number;
  readonly responseBytes: number;
  /** Present when the relay answered with an error instead of the target (an ErrorCode string). */
  readonly error?: string;
  /** Present on failures: what went wrong, in words. */
  readonly message?: string;
  /** Present when this exchange re-sent an earlier one (a replay, or a missed request forwarded later). */
  readonly replayOf?: string;
  /** Present when signature verification is configured (`--verify`): the result for this request. */
  readonly signature?: SignatureCheck;
}

/**
 * The connection state. `online` means the relay confirmed, within the last 2.4 heartbeats (12 s), that this
 * connection owns the tunnel; anything else is shown as not online.
 */
export type StateEvent =
  | { readonly type: 'state'; readonly state: 'online'; readonly url: string }
  | { readonly type: 'state'; readonly state: 'reconnecting'; readonly attempt: number; readonly delayMs: number; readonly reason: string }
  | { readonly type: 'state'; readonly state: 'offline'; readonly reason: string };

/** A request that reached the relay while the agent was away; the relay answered it (`status`, 503) and kept it. */
export interface MissedEvent {
  readonly type: 'missed';
  /** The capture id (the relay's id for the kept request: a redelivery has the same id). */
  readonly id: string;
  /** When the request reached the relay (ms since the epoch). */
  readonly time: number;
  readonly tunnel: string;
  readonly target: string;
  readonly method: string;
  readonly path: string;
  readonly headers: readonly string[];
  readonly body: Buffer;
  /** The status the sender got from the relay. */
  readonly status: number;
  /** Present when signature verification is configured: the result, as of the time the request arrived. */
  readonly signature?: SignatureCheck;
}

/** Requests the relay had to drop while the agent was away (its offline limits were full). */
export interface DroppedEvent {
  readonly type: 'dropped';
  readonly count: number;
}

/** Fine-grained exchange progress, for consumers that record bodies (the capture store). */
export interface ExchangeStart {
  readonly id: string;
  /** Milliseconds since the epoch when the request arrived at the agent. */
  readonly time: number;
  readonly tunnel: string;
  readonly target: string;
  readonly method: string;
  readonly path: string;
  /** Headers as forwarded to the target: `[name, value, …]`. */
  readonly headers: readonly string[];
  /** Set when this exchange re-sends an earlier one. */
  readonly replayOf?: string;
}

/** The target's response head. */
export interface ExchangeResponse {
  readonly id: string;
  readonly status: number;
  readonly headers: readonly string[];
}

/** Events an agent emits. The UI, the line and JSON printers and the capture store all subscribe to these. */
export interface AgentEventMap {
  ready: [ReadyEvent];
  request: [RequestEvent];
  'exchange-start': [ExchangeStart];
  'request-body': [id: string, chunk: Buffer];
  'exchange-response': [ExchangeResponse];
  'response-body': [id: string, chunk: Buffer];
  /** The connection to the relay is gone; `willRetry` says whether the agent reconnects. */
  disconnected: [{ readonly reason: string; readonly willRetry: boolean }];
  state: [StateEvent];
  missed: [MissedEvent];
  dropped: [DroppedEvent];
}
