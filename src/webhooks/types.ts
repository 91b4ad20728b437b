import type { SignatureCheck } from '../agent/events.js';

export type { SignatureCheck };

/** The signing schemes hooktunnel knows. `standard` is Standard Webhooks (Svix and others). */
export const PROVIDERS = ['github', 'stripe', 'slack', 'shopify', 'standard', 'twilio', 'generic'] as const;
/** One of PROVIDERS. */
export type ProviderName = (typeof PROVIDERS)[number];

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

/** Why a signature is invalid. A stable part of `--json` output and of captures. */
export const Reason = {
  /** The signature does not match the body with any known secret. */
  Mismatch: 'mismatch',
  /** The signature matches but its timestamp is outside the tolerance (a replay, or a skewed clock). */
  Timestamp: 'timestamp',
  /** Some of the provider's signature headers are there, or the provider is recognised, but a needed one is missing. */
  MissingHeader: 'missing_header',
  /** The provider was recognised but no secret is configured for it. */
  UnknownSecret: 'unknown_secret',
  /** The signature header cannot be parsed. */
  Malformed: 'malformed',
  /** A Twilio form body over the verification cap: the parameters could not be read. */
  TooLarge: 'too_large',
  /** Twilio: the public URL the sender called is not known, so its signature cannot be checked. */
  UnknownUrl: 'unknown_url',
  /** The exchange ended before the whole request body was seen (the sender or the target gave up). */
  Incomplete: 'incomplete',
} as const;

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
