/**
 * The frames both ends exchange over the one WebSocket. Control messages (handshake, notices) are JSON text
 * frames; everything that belongs to a stream is a binary frame with a 6-byte header, so body bytes are never
 * re-encoded:
 *
 *   byte 0     frame type (FrameType)
 *   byte 1     flags (FIN = this direction of the stream carries no more body)
 *   bytes 2-5  stream id, unsigned 32-bit big-endian, chosen by the relay
 *   bytes 6-   payload (depends on the type)
 */

/** Binary frame types. */
export const FrameType = {
  /** relay -> agent: a new stream; payload is a head (RequestHead) then optional inline body bytes. */
  Open: 1,
  /** agent -> relay: the target's response head (ResponseHead) then optional inline body bytes. */
  Response: 2,
  /** either way: body bytes of the stream, in order. */
  Data: 3,
  /** either way: the sender of this frame consumed bytes; payload is a u32 credit increment. */
  Window: 4,
  /** either way: abandon the stream; payload is JSON `{code, message}`. */
  Reset: 5,
  /**
   * relay -> agent: a request that arrived while the agent was away and was answered by the relay; payload is a
   * head (MissedHead) then the whole body. Not a stream: the stream id field is a sequence number, and the agent
   * acknowledges with `missed_ack` so the relay can forget it.
   */
  Missed: 6,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** Hello feature: the agent relays upgrade streams (WebSocket); a relay sends upgrades only to agents that say so. */
export const FEATURE_UPGRADE = 'upgrade';

/** Flag bit: the sender will send no more body bytes on this stream. */
export const FLAG_FIN = 1;

/** Bytes before the payload of every binary frame. */
export const FRAME_HEADER_BYTES = 6;

/** What the relay tells the agent about one incoming request. */
export interface RequestHead {
  readonly method: string;
  /** The path and query the target must see, exactly as sent (always begins with `/`). */
  readonly path: string;
  /** Raw header list `[name, value, name, value, …]`: original case, order and repeats, hop-by-hop removed. */
  readonly headers: readonly string[];
  /** The sender's address as the relay saw it. */
  readonly remote: string;
  /** The public host the sender used (also in X-Forwarded-Host). */
  readonly host: string;
  /**
   * Present on an upgrade stream: the sender's `Upgrade` header (`websocket`). The agent asks the target for that
   * upgrade; after a 101 the stream's Data frames carry the upgraded connection's raw bytes both ways.
   */
  readonly upgrade?: string;
}

/** A request kept by the relay while the agent was away. */
export interface MissedHead extends RequestHead {
  /** The relay's id for the kept request; the agent uses it as the capture id, so a redelivery is not a duplicate. */
  readonly id: string;
  /** Milliseconds since the epoch when the request reached the relay. */
  readonly arrivedAt: number;
  /** The status the relay answered the sender with (503). */
  readonly status: number;
}

/** What the agent tells the relay about the target's answer. */
export interface ResponseHead {
  readonly status: number;
  readonly statusText?: string;
  /** Raw header list `[name, value, …]`, hop-by-hop removed. */
  readonly headers: readonly string[];
  /** On a 101 to an upgrade stream: the protocol the target switched to (its `Upgrade` header). */
  readonly upgrade?: string;
}

/** Why a stream was abandoned. `code` is one of the ErrorCode strings. */
export interface ResetInfo {
  readonly code: string;
  readonly message: string;
}

/** A decoded binary frame; `payload` is a view into the received buffer. */
export interface Frame {
  readonly type: FrameType;
  readonly flags: number;
  readonly stream: number;
  readonly payload: Buffer;
}

/** Agent -> relay control messages (JSON text frames). */
export type AgentControl =
  /** First message after the upgrade: which tunnel the agent wants and how to prove it owns it. */
  | {
      readonly type: 'hello';
      readonly tunnel?: string;
      readonly secret?: string;
      /** SHA-256 (hex) of `user:pass`: the relay then requires that basic auth from senders. */
      readonly auth?: string;
      /** CIDR ranges senders must come from. */
      readonly allow?: readonly string[];
      /** What this agent can do beyond protocol 1's first form: `upgrade` (it relays upgrade streams). */
      readonly features?: readonly string[];
    }
  /** Heartbeat: asks the relay to confirm that this connection still owns the tunnel. */
  | { readonly type: 'ping' }
  /** The agent has recorded these missed requests; the relay may forget them. */
  | { readonly type: 'missed_ack'; readonly ids: readonly string[] };

/** Relay -> agent control messages (JSON text frames). */
export type RelayControl =
  /** The tunnel is registered: traffic to `url` now arrives as Open frames. */
  | { readonly type: 'ready'; readonly tunnel: string; readonly url: string; readonly secret: string }
  /** The hello was refused; the relay closes the connection after this. Not retried by the agent. */
  | { readonly type: 'refused'; readonly code: string; readonly message: string }
  /** The relay is shutting down; reconnect elsewhere or later. */
  | { readonly type: 'going_away'; readonly message: string }
  /** Answer to ping: `owned` is false when the relay no longer routes the tunnel to this connection. */
  | { readonly type: 'pong'; readonly owned: boolean }
  /** Sent after ready when requests were kept: `count` Missed frames follow; `dropped` were lost to the limits. */
  | { readonly type: 'missed_summary'; readonly count: number; readonly dropped: number };
