/**
 * Stable error codes. The same strings appear in the `X-Hooktunnel-Error` header the sender sees, in the
 * agent's `--json` events and in `HooktunnelError.code`; they are a public contract (see README "Error codes").
 */
export const ErrorCode = {
  /** No tunnel with that id is connected to the relay. */
  TunnelNotFound: 'tunnel_not_found',
  /** The agent could not connect to the target (refused, DNS, reset before a response). */
  UpstreamUnreachable: 'upstream_unreachable',
  /** The target did not answer within the timeout. */
  UpstreamTimeout: 'upstream_timeout',
  /** The target failed after it had started answering; the sender sees an aborted response. */
  UpstreamAborted: 'upstream_aborted',
  /** The sender closed its connection before the exchange was complete. */
  SenderAborted: 'sender_aborted',
  /** The agent's connection to the relay went away while the exchange was in flight. */
  AgentDisconnected: 'agent_disconnected',
  /** The tunnel exists but its agent is away; the request was kept for it (or was too large to keep). */
  AgentOffline: 'agent_offline',
  /** The agent answered with something the relay refuses to pass on (bad status, bad header). */
  BadAgentResponse: 'bad_agent_response',
  /** The request itself is not acceptable (absolute-form target, CONNECT, malformed). */
  BadRequest: 'bad_request',
  /** The tunnel's agent is too old to relay upgrade requests (WebSocket); answered 501. */
  UpgradeNotSupported: 'upgrade_not_supported',
  /** An upgraded connection (WebSocket) passed no byte either way for the relay's idle timeout; both ends were closed. */
  UpgradeIdle: 'upgrade_idle_timeout',
  /** The relay speaks another protocol version than the agent. */
  ProtocolUnsupported: 'protocol_unsupported',
  /** The requested tunnel id is held by another agent. */
  TunnelTaken: 'tunnel_taken',
  /** The requested tunnel id is not a valid DNS label or is reserved. */
  InvalidTunnelId: 'invalid_tunnel_id',
  /** The relay could not be reached or the connection failed before the tunnel was ready. */
  RelayUnreachable: 'relay_unreachable',
  /** The peer broke the wire protocol (bad frame, unknown stream, window overrun). */
  ProtocolError: 'protocol_error',
  /** Missing or wrong credentials: an agent's token, or a sender's basic auth on a protected tunnel. */
  Unauthorized: 'unauthorized',
  /** The sender's address is not in the tunnel's allow list, or an agent dialled from a refused address. */
  Forbidden: 'forbidden',
  /** Too many requests or tunnels for one token. */
  RateLimited: 'rate_limited',
  /** The request body is larger than the relay allows. */
  BodyTooLarge: 'body_too_large',
  /** The request head has more header lines than the relay forwards. */
  HeadersTooLarge: 'headers_too_large',
  /** The sender was too slow sending its request. */
  RequestTimeout: 'request_timeout',
  /** The tunnel has too many requests in flight. */
  TunnelBusy: 'tunnel_busy',
  /** The relay could not read or write its store (tunnel directory, inbox): nothing was decided; try again. */
  RelayStoreUnavailable: 'relay_store_unavailable',
  /** Bad input from the command line or the library caller. */
  InvalidArgument: 'invalid_argument',
  /** The relay could not obtain a certificate from its ACME directory (unreachable, refused, challenge failed). */
  AcmeFailed: 'acme_failed',
  /** The test API: `waitFor` saw nothing matching within its timeout, or its tunnel was closed first. */
  WaitTimeout: 'wait_timeout',
} as const;

/** One of the stable error code strings. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * The only error class hooktunnel throws on purpose. `code` is stable; `message` names the operation and the
 * cause in words; the original error, if any, is in `cause`.
 */
export class HooktunnelError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HooktunnelError';
    this.code = code;
  }
}

/** True when `err` is a HooktunnelError, optionally with the given code. */
export function isHooktunnelError(err: unknown, code?: ErrorCode): err is HooktunnelError {
  return err instanceof HooktunnelError && (code === undefined || err.code === code);
}

const STATUS_FOR_CODE: Readonly<Record<string, number>> = {
  [ErrorCode.TunnelNotFound]: 404,
  [ErrorCode.UpstreamUnreachable]: 502,
  [ErrorCode.UpstreamTimeout]: 504,
  [ErrorCode.UpstreamAborted]: 502,
  [ErrorCode.AgentDisconnected]: 502,
  [ErrorCode.AgentOffline]: 503,
  [ErrorCode.BadAgentResponse]: 502,
  [ErrorCode.BadRequest]: 400,
  [ErrorCode.UpgradeNotSupported]: 501,
  [ErrorCode.ProtocolUnsupported]: 426,
  [ErrorCode.Unauthorized]: 401,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.RateLimited]: 429,
  [ErrorCode.BodyTooLarge]: 413,
  [ErrorCode.HeadersTooLarge]: 431,
  [ErrorCode.RequestTimeout]: 408,
  [ErrorCode.TunnelBusy]: 503,
  [ErrorCode.RelayStoreUnavailable]: 503,
};

/** The HTTP status the relay answers with for an error code (502 for codes without their own). */
export function statusForCode(code: string): number {
  return STATUS_FOR_CODE[code] ?? 502;
}
