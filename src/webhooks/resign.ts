import { capturedPublicUrl } from './url.js';
import { detectSignature, schemeFor, verifySignature, type Detected } from './verify.js';
import type { ProviderName, SignableRequest, WebhookSecret } from './types.js';

/** Which of the provider's secrets made a fresh signature, told without the secret itself. */
export interface SigningSecret {
  /** Its place (from 1) among the recognised provider's configured secrets, in the order they were given. */
  readonly index: number;
  /** How many secrets that provider has. */
  readonly of: number;
  /** True: it verified the request as captured. False: none did, so the last one listed (the newest) signed. */
  readonly verified: boolean;
}

/** What resignRequest did. */
export interface Resigned {
  /** The URL to send to: unchanged, except a Twilio `bodySHA256` parameter recomputed for the body. */
  readonly url: string;
  readonly headers: string[];
  /** The provider whose signature was recognised, if any. */
  readonly provider?: ProviderName;
  /** True when a fresh signature was written. False: the headers are the ones given (unsigned, or no secret for it). */
  readonly resigned: boolean;
  /** Set when resigned: which secret signed. */
  readonly secret?: SigningSecret;
}

/**
 * Re-signs a request about to be sent again (`hooktunnel replay`, the inspector's replay and edit): when its
 * provider's signature is recognised and a secret for it is known, writes a fresh timestamp where the scheme has
 * one (a Stripe event replayed an hour later otherwise fails the 5-minute tolerance) and a new signature over
 * `body`, which may have been edited. Headers keep their names, order and position. With several secrets for the
 * provider (a key rotation) it signs with the one that verified the request as captured (`capturedBody`, the body
 * before any edit), else with the last one listed, the newest; `secret` says which. Pure: `now` is the clock in ms
 * since the epoch.
 */
export function resignRequest(request: SignableRequest, secrets: readonly WebhookSecret[], now: number = Date.now(), capturedBody: Buffer = request.body): Resigned {
  const detected = detectSignature(request.headers, secrets);
  if (!detected) return { url: request.url, headers: [...request.headers], resigned: false };
  const provider = detected.scheme.provider;
  const chosen = signingSecret(detected, { ...request, body: capturedBody });
  if (!chosen) return { url: request.url, headers: [...request.headers], provider, resigned: false };
  return { ...detected.scheme.sign(request, chosen.secret.secret, Math.floor(now / 1000)), provider, resigned: true, secret: chosen.choice };
}

/** The secret to re-sign with: the first that verifies the captured request, else the last listed. */
function signingSecret(detected: Detected, captured: SignableRequest): { secret: WebhookSecret; choice: SigningSecret } | undefined {
  const candidates = detected.secrets;
  if (candidates.length === 0) return undefined;
  const at = candidates.findIndex((s) => verifies(captured, s));
  const index = at >= 0 ? at : candidates.length - 1;
  return { secret: candidates[index]!, choice: { index: index + 1, of: candidates.length, verified: at >= 0 } };
}

/** True when `secret` made the captured request's signature. Any age: a captured timestamp is old by the time of a replay. */
function verifies(captured: SignableRequest, secret: WebhookSecret): boolean {
  const check = verifySignature(captured.headers, captured.body, { secrets: [secret], toleranceSeconds: Number.MAX_SAFE_INTEGER }, [captured.url]);
  return check.status === 'valid';
}

/**
 * What re-signing did, in words for the replay's output: `re-signed for stripe with a fresh timestamp, with
 * secret 2 of 3 (it verified the captured request)`; for a recognised signature without a secret, that it goes as
 * captured. Undefined for an unsigned request. Never shows a secret. `brief` leaves out the timestamp (the
 * inspector's status line is short).
 */
export function describeResign(r: Resigned, brief = false): string | undefined {
  if (!r.provider) return undefined;
  if (!r.resigned || !r.secret) return `the ${r.provider} signature is sent as captured: no secret for it`;
  const timestamped = !brief && (r.provider === 'stripe' || r.provider === 'slack' || r.provider === 'standard');
  const { index, of, verified } = r.secret;
  const which = of === 1
    ? verified ? '' : ' (its secret did not verify the captured request)'
    : verified ? `, with secret ${index} of ${of} (it verified the captured request)` : `, with secret ${index} of ${of}, the newest (none verified the captured request)`;
  return `re-signed for ${r.provider}${timestamped ? ' with a fresh timestamp' : ''}${which}`;
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
export function resignCaptured(
  captured: CapturedRequest, body: Buffer, secrets: readonly WebhookSecret[], now: number = Date.now(), capturedBody: Buffer = body,
): Resigned & { readonly path: string } {
  const base = capturedPublicUrl(captured.requestHeaders, captured.tunnel) ?? 'http://localhost';
  const result = resignRequest({ url: base + captured.path, headers: captured.requestHeaders, body }, secrets, now, capturedBody);
  return { ...result, path: result.url.startsWith(base) ? result.url.slice(base.length) : captured.path };
}

/**
 * The secrets with `secret` (a `--secret` flag) added last for the provider recognised in `headers`: the one-off
 * way to give the secret of whatever signed this request. Last, so that re-signing uses it unless a configured
 * secret verified the capture (see resignRequest). Unchanged when no signature is recognised.
 */
export function withSecretFor(headers: readonly string[], secrets: readonly WebhookSecret[], secret: string | undefined): WebhookSecret[] {
  if (secret === undefined) return [...secrets];
  const detected = detectSignature(headers, secrets);
  if (detected?.scheme.provider === 'generic') return [...secrets, { ...detected.secrets[0]!, secret }];
  const scheme = detected?.scheme;
  return scheme ? [...secrets, { provider: scheme.provider, secret }] : [...secrets];
}
