import { capturedPublicUrl } from './url.js';
import { detectSignature, schemeFor } from './verify.js';
import type { ProviderName, SignableRequest, WebhookSecret } from './types.js';

/** What resignRequest did. */
export interface Resigned {
  /** The URL to send to: unchanged, except a Twilio `bodySHA256` parameter recomputed for the body. */
  readonly url: string;
  readonly headers: string[];
  /** The provider whose signature was recognised, if any. */
  readonly provider?: ProviderName;
  /** True when a fresh signature was written. False: the headers are the ones given (unsigned, or no secret for it). */
  readonly resigned: boolean;
}

/**
 * Re-signs a request about to be sent again (`hooktunnel replay`, the inspector's replay and edit): when its
 * provider's signature is recognised and a secret for it is known, writes a fresh timestamp where the scheme has
 * one (a Stripe event replayed an hour later otherwise fails the 5-minute tolerance) and a new signature over
 * `body`, which may have been edited. Headers keep their names, order and position. Pure: `now` is the clock in
 * ms since the epoch.
 */
export function resignRequest(request: SignableRequest, secrets: readonly WebhookSecret[], now: number = Date.now()): Resigned {
  const detected = detectSignature(request.headers, secrets);
  if (!detected) return { url: request.url, headers: [...request.headers], resigned: false };
  const provider = detected.scheme.provider;
  const secret = detected.secrets[0];
  if (!secret) return { url: request.url, headers: [...request.headers], provider, resigned: false };
  return { ...detected.scheme.sign(request, secret.secret, Math.floor(now / 1000)), provider, resigned: true };
}

/** Signs a request for `provider` with `secret` (`hooktunnel send`). */
export function signRequest(request: SignableRequest, secret: WebhookSecret, now: number = Date.now()): { url: string; headers: string[] } {
  return schemeFor(secret.provider, secret).sign(request, secret.secret, Math.floor(now / 1000));
}

/** A captured request, as much of it as re-signing needs (a Capture fits). */
export interface CapturedRequest {
  readonly tunnel: string;
  readonly path: string;
  readonly requestHeaders: readonly string[];
}

/**
 * resignRequest for a captured request: the URL it is signed for is the public URL the capture arrived at,
 * rebuilt from the relay's forwarding headers (capturedPublicUrl), so a Twilio handler checking its public URL
 * accepts the replay. Returns the path to send (changed only for a Twilio `bodySHA256` parameter).
 */
export function resignCaptured(captured: CapturedRequest, body: Buffer, secrets: readonly WebhookSecret[], now: number = Date.now()): Resigned & { readonly path: string } {
  const base = capturedPublicUrl(captured.requestHeaders, captured.tunnel) ?? 'http://localhost';
  const result = resignRequest({ url: base + captured.path, headers: captured.requestHeaders, body }, secrets, now);
  return { ...result, path: result.url.startsWith(base) ? result.url.slice(base.length) : captured.path };
}

/**
 * The secrets with `secret` (a `--secret` flag) put first for the provider recognised in `headers`: the one-off
 * way to give the secret of whatever signed this request. Unchanged when no signature is recognised.
 */
export function withSecretFor(headers: readonly string[], secrets: readonly WebhookSecret[], secret: string | undefined): WebhookSecret[] {
  if (secret === undefined) return [...secrets];
  const detected = detectSignature(headers, secrets);
  if (detected?.scheme.provider === 'generic') return [{ ...detected.secrets[0]!, secret }, ...secrets];
  const scheme = detected?.scheme;
  return scheme ? [{ provider: scheme.provider, secret }, ...secrets] : [...secrets];
}
