/**
 * A webhook signature check as the exchange record holds it: the providers hooktunnel recognises, the reasons a
 * signature is invalid, and the check's outcome. Here, below webhooks/, so that agent, capture, webhooks and ui all
 * import it from one place (webhooks/types.ts re-exports it).
 */

/** The signing schemes hooktunnel knows. `standard` is Standard Webhooks (Svix and others). */
export const PROVIDERS = ['github', 'stripe', 'slack', 'shopify', 'standard', 'twilio', 'generic'] as const;
/** One of PROVIDERS. */
export type ProviderName = (typeof PROVIDERS)[number];

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
/** One of the Reason values. */
export type SignatureReason = (typeof Reason)[keyof typeof Reason];

/**
 * Whether a request carried a valid webhook signature (issue 7). `provider` names the scheme recognised from the
 * headers; `reason` says why it is invalid. Read back from a capture as it was stored: a store written by another
 * version may hold a provider or reason this one does not list.
 */
export interface SignatureCheck {
  readonly status: 'valid' | 'invalid' | 'unsigned';
  readonly provider?: ProviderName;
  readonly reason?: SignatureReason;
}
