import { hasHeader, headerValue, setHeader } from '../protocol/headers.js';
import { hmacScheme } from './scheme.js';

/** Shopify: `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256(app secret, body)>`. No timestamp. */
export const shopify = hmacScheme({
  provider: 'shopify',
  algorithm: 'sha256',
  encoding: 'base64',
  present: (h) => hasHeader(h, 'x-shopify-hmac-sha256'),
  hinted: (h) => hasHeader(h, 'x-shopify-topic'),
  parse: (h) => ({ prefix: '', signatures: [headerValue(h, 'x-shopify-hmac-sha256')!.trim()] }),
  sign: (h, _now, mac) => setHeader(h, 'X-Shopify-Hmac-Sha256', mac('')),
});
