import type { SignatureCheck } from '../model/signature.js';
import { DEFAULT_GENERIC_HEADER, genericScheme } from './generic.js';
import { github } from './github.js';
import { settled, type Scheme } from './scheme.js';
import { shopify } from './shopify.js';
import { slack } from './slack.js';
import { standard } from './standard.js';
import { stripe } from './stripe.js';
import { twilio } from './twilio.js';
import { DEFAULT_TOLERANCE_SECONDS, Reason, type ProviderName, type SignatureVerifier, type VerifyOptions, type WebhookSecret } from './types.js';

/** The providers' schemes, in the order they are recognised. `generic` schemes come from the configured secrets. */
export const SCHEMES: readonly Scheme[] = [stripe, github, slack, shopify, standard, twilio];

/** The scheme of a provider by name; `generic` needs its configured secret (header and encoding). */
export function schemeFor(provider: ProviderName, secret?: WebhookSecret): Scheme {
  if (provider === 'generic') return genericScheme(secret?.header ?? DEFAULT_GENERIC_HEADER, secret?.encoding);
  return SCHEMES.find((s) => s.provider === provider)!;
}

/** A recognised signature: its scheme and the secrets that may have made it. */
export interface Detected {
  readonly scheme: Scheme;
  readonly secrets: readonly WebhookSecret[];
}

/**
 * Recognises the provider that signed a request from its headers: the first scheme whose signature headers are
 * present, then the configured generic headers. Undefined for an unsigned request.
 */
export function detectSignature(headers: readonly string[], secrets: readonly WebhookSecret[]): Detected | undefined {
  const scheme = SCHEMES.find((s) => s.present(headers));
  if (scheme) return { scheme, secrets: secrets.filter((s) => s.provider === scheme.provider) };
  const signedIn = (s: WebhookSecret): string => (s.header ?? DEFAULT_GENERIC_HEADER).toLowerCase();
  for (const secret of secrets) {
    if (secret.provider !== 'generic') continue;
    const generic = genericScheme(signedIn(secret), secret.encoding);
    if (generic.present(headers)) {
      const same = secrets.filter((s) => s.provider === 'generic' && signedIn(s) === signedIn(secret) && (s.encoding ?? 'hex') === (secret.encoding ?? 'hex'));
      return { scheme: generic, secrets: same };
    }
  }
  return undefined;
}

/**
 * Starts checking one request's signature from its headers; feed it the body as it passes. `urls` are the URLs
 * the sender may have called (Twilio signs the URL; see senderUrls). Never throws: the outcome says what was found.
 */
export function startVerification(headers: readonly string[], options: VerifyOptions, urls: readonly string[] = []): SignatureVerifier {
  try {
    return start(headers, options, urls);
  } catch {
    return settled({ status: 'invalid', reason: Reason.Malformed });
  }
}

function start(headers: readonly string[], options: VerifyOptions, urls: readonly string[]): SignatureVerifier {
  const detected = detectSignature(headers, options.secrets);
  if (!detected) {
    // The provider's other headers are there but its signature is not, and a secret says one was expected.
    const hinted = SCHEMES.find((s) => s.hinted(headers) && options.secrets.some((x) => x.provider === s.provider));
    return settled(hinted ? { status: 'invalid', provider: hinted.provider, reason: Reason.MissingHeader } : { status: 'unsigned' });
  }
  const { scheme, secrets } = detected;
  if (secrets.length === 0) return settled({ status: 'invalid', provider: scheme.provider, reason: Reason.UnknownSecret });
  const context = {
    nowSeconds: Math.floor((options.now ?? Date.now)() / 1000),
    toleranceSeconds: options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS,
    urls,
  };
  return guarded(scheme.verifier(headers, secrets.map((s) => s.secret), context), scheme.provider);
}

/** Verifies a whole body at once (a missed request, a test). */
export function verifySignature(headers: readonly string[], body: Buffer, options: VerifyOptions, urls: readonly string[] = []): SignatureCheck {
  const v = startVerification(headers, options, urls);
  v.update(body);
  v.end();
  return v.result();
}

/**
 * Verification runs inside forwarding: whatever goes wrong in it (it should not) is reported as the outcome and
 * never reaches the exchange.
 */
function guarded(v: SignatureVerifier, provider: ProviderName): SignatureVerifier {
  let failed = false;
  return {
    update(chunk) {
      if (failed) return;
      try {
        v.update(chunk);
      } catch {
        failed = true;
      }
    },
    end: () => v.end(),
    result() {
      if (failed) return { status: 'invalid', provider, reason: Reason.Malformed };
      try {
        return v.result();
      } catch {
        return { status: 'invalid', provider, reason: Reason.Malformed };
      }
    },
  };
}
