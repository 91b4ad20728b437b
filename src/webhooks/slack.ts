import { hasHeader, headerValue, setHeader } from '../protocol/headers.js';
import { hmacScheme, parseSeconds } from './scheme.js';
import { Reason } from './types.js';

/**
 * Slack: `X-Slack-Request-Timestamp: <unix seconds>` and
 * `X-Slack-Signature: v0=<hex HMAC-SHA256(signing secret, "v0:" + timestamp + ":" + body)>`.
 */
export const slack = hmacScheme({
  provider: 'slack',
  algorithm: 'sha256',
  encoding: 'hex',
  present: (h) => hasHeader(h, 'x-slack-signature') || hasHeader(h, 'x-slack-request-timestamp'),
  hinted: () => false,
  parse(h) {
    const signature = headerValue(h, 'x-slack-signature')?.trim();
    const stamp = headerValue(h, 'x-slack-request-timestamp')?.trim();
    if (signature === undefined || stamp === undefined) return Reason.MissingHeader;
    const timestamp = parseSeconds(stamp);
    if (timestamp === undefined || !signature.startsWith('v0=')) return Reason.Malformed;
    return { prefix: `v0:${stamp}:`, signatures: [signature.slice(3)], timestamp };
  },
  sign(h, now, mac) {
    const stamped = setHeader(h, 'X-Slack-Request-Timestamp', String(now));
    return setHeader(stamped, 'X-Slack-Signature', `v0=${mac(`v0:${now}:`)}`);
  },
});
