import type { ProviderName, SignatureCheck } from '../model/signature.js';

export { PROVIDERS, Reason, type ProviderName, type SignatureCheck, type SignatureReason } from '../model/signature.js';

/** How a `generic` signature is encoded in its header. */
export type DigestEncoding = 'hex' | 'base64';

/**
 * One configured secret (`--verify github=SECRET`). A provider may have several (a rotation): a signature made
 * with any of them is valid. `generic` secrets also name their header and encoding.
 */
export interface WebhookSecret {
  readonly provider: ProviderName;
  readonly secret: string;
  /** generic only: the header that carries the signature (any case). */
  readonly header?: string;
  /** generic only: how the HMAC-SHA256 digest is written. Default hex. */
  readonly encoding?: DigestEncoding;
}

/** Options of verification (the agent's `verify` option). */
export interface VerifyOptions {
  readonly secrets: readonly WebhookSecret[];
  /** The clock, in ms since the epoch, for timestamp tolerance. Default Date.now. */
  readonly now?: () => number;
  /** Seconds a signed timestamp may differ from the clock, either way. Default 300 (Stripe, Slack, Standard Webhooks all use 5 minutes). */
  readonly toleranceSeconds?: number;
}

/** Default timestamp tolerance in seconds. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** Checks one request's signature as its body passes, chunk by chunk; never holds the body (Twilio forms excepted, capped). */
export interface SignatureVerifier {
  /** Feeds the next request body bytes, exactly as received. */
  update(chunk: Buffer): void;
  /** The body is complete. */
  end(): void;
  /** The outcome; `incomplete` when end() was never called. */
  result(): SignatureCheck;
}

/** A request to sign (re-sign on replay, or `send`). */
export interface SignableRequest {
  /** The full URL the receiver is reached at, as the sender uses it (Twilio signs it). */
  readonly url: string;
  /** Flat header list `[name, value, …]`. */
  readonly headers: readonly string[];
  readonly body: Buffer;
}
