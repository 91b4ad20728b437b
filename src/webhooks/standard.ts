import { randomBytes } from 'node:crypto';
import { hasHeader, headerValue, setHeader } from '../protocol/headers.js';
import { hmacScheme, parseSeconds } from './scheme.js';
import { Reason } from './types.js';

/** The header family in use: the spec's `webhook-*`, or the `svix-*` names Svix sent before the spec. */
function family(h: readonly string[]): 'webhook' | 'svix' {
  return hasHeader(h, 'webhook-id') || hasHeader(h, 'webhook-timestamp') || hasHeader(h, 'webhook-signature') ? 'webhook' : 'svix';
}

/**
 * Standard Webhooks (Svix and others): `webhook-id`, `webhook-timestamp` (unix seconds) and
 * `webhook-signature: v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." + body)>`, several space-separated
 * while a secret is rotated. The secret is `whsec_` + the base64 key. The `svix-*` header names are accepted too.
 */
export const standard = hmacScheme({
  provider: 'standard',
  algorithm: 'sha256',
  encoding: 'base64',
  present: (h) => ['webhook', 'svix'].some((f) => ['id', 'timestamp', 'signature'].some((n) => hasHeader(h, `${f}-${n}`))),
  hinted: () => false,
  key: (secret) => Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64'),
  parse(h) {
    const f = family(h);
    const [id, stamp, signature] = ['id', 'timestamp', 'signature'].map((n) => headerValue(h, `${f}-${n}`)?.trim());
    if (!id || stamp === undefined || signature === undefined) return Reason.MissingHeader;
    const timestamp = parseSeconds(stamp);
    // Other versions (`v1a,` for asymmetric keys) are skipped, as the spec says.
    const signatures = signature.split(' ').filter((s) => s.startsWith('v1,')).map((s) => s.slice(3));
    if (timestamp === undefined || signatures.length === 0) return Reason.Malformed;
    return { prefix: `${id}.${stamp}.`, signatures, timestamp };
  },
  sign(h, now, mac) {
    const f = family(h);
    // The id is kept: it names the event, and a replay is a redelivery of the same event, as a provider's retry is.
    const id = headerValue(h, `${f}-id`) ?? `msg_${randomBytes(12).toString('hex')}`;
    let out = setHeader(h, `${f}-id`, id);
    out = setHeader(out, `${f}-timestamp`, String(now));
    return setHeader(out, `${f}-signature`, `v1,${mac(`${id}.${now}.`)}`);
  },
});
