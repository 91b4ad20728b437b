import { createHmac } from 'node:crypto';
import { hasHeader, headerValue, setHeader } from '../protocol/headers.js';
import { hmacScheme, type Scheme } from './scheme.js';
import { Reason } from './types.js';

const sha256 = hmacScheme({
  provider: 'github',
  algorithm: 'sha256',
  encoding: 'hex',
  present: (h) => hasHeader(h, 'x-hub-signature-256'),
  hinted: (h) => hasHeader(h, 'x-github-event') || hasHeader(h, 'x-hub-signature'),
  parse(h) {
    const value = headerValue(h, 'x-hub-signature-256')!.trim();
    if (!value.startsWith('sha256=')) return Reason.Malformed;
    return { prefix: '', signatures: [value.slice('sha256='.length)] };
  },
  sign: (h, _now, mac) => setHeader(h, 'X-Hub-Signature-256', `sha256=${mac('')}`),
});

/**
 * GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`. No timestamp. The legacy SHA-1
 * `X-Hub-Signature` is not verified, but is re-signed when present, so that a handler still checking it accepts
 * a replay with an edited body.
 */
export const github: Scheme = {
  ...sha256,
  sign(request, secret, now) {
    const signed = sha256.sign(request, secret, now);
    if (!hasHeader(signed.headers, 'x-hub-signature')) return signed;
    const legacy = `sha1=${createHmac('sha1', secret).update(request.body).digest('hex')}`;
    return { url: signed.url, headers: setHeader(signed.headers, 'X-Hub-Signature', legacy) };
  },
};
