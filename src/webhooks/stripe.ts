import { hasHeader, headerValue, setHeader } from '../protocol/headers.js';
import { hmacScheme, parseSeconds } from './scheme.js';
import { Reason } from './types.js';

/**
 * Stripe: `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "t." + body)>[,v1=…][,v0=…]`. The
 * `whsec_…` endpoint secret is the key as written (not decoded). Several `v1` appear while a secret is rolled;
 * any one matching is enough. Only `v1` is checked (`v0` is a test-mode scheme Stripe no longer signs with).
 */
export const stripe = hmacScheme({
  provider: 'stripe',
  algorithm: 'sha256',
  encoding: 'hex',
  present: (h) => hasHeader(h, 'stripe-signature'),
  hinted: (h) => /^Stripe\//.test(headerValue(h, 'user-agent') ?? ''),
  parse(h) {
    let timestamp: number | undefined;
    const signatures: string[] = [];
    for (const item of headerValue(h, 'stripe-signature')!.split(',')) {
      const eq = item.indexOf('=');
      const [k, v] = [item.slice(0, eq).trim(), item.slice(eq + 1).trim()];
      if (k === 't') timestamp = parseSeconds(v);
      else if (k === 'v1') signatures.push(v);
    }
    if (timestamp === undefined || signatures.length === 0) return Reason.Malformed;
    return { prefix: `${timestamp}.`, signatures, timestamp };
  },
  sign: (h, now, mac) => setHeader(h, 'Stripe-Signature', `t=${now},v1=${mac(`${now}.`)}`),
});
