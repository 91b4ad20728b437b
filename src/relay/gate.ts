import type { IncomingMessage } from 'node:http';
import type { BlockList } from 'node:net';
import { ErrorCode } from '../errors.js';
import { allowed, checkBasicAuth } from './auth.js';
import type { RelayLimits } from './limits.js';
import type { UsageCounter } from './store/types.js';

/** Who may call a tunnel, as its agent asked in the hello; kept while the tunnel is reserved. */
export interface TunnelAccess {
  /** The token (digest) or agent address the tunnel counts against. */
  readonly owner: string;
  /** SHA-256 hex of the `user:pass` senders must present with basic auth. */
  readonly authDigest?: string;
  /** Sender addresses allowed; everyone when absent. */
  readonly allow?: BlockList;
  /** The CIDR ranges `allow` was built from (what the state file keeps). */
  readonly allowList?: readonly string[];
}

/** Why a request is refused before anything reaches the agent. */
export interface Refusal {
  readonly code: string;
  readonly message: string;
  readonly headers?: Record<string, string>;
}

/**
 * Checks a request for a tunnel against the relay's limits and the tunnel's access rules, in the order a sender
 * can fix them: header count, address (`sender`, see senderAddress), credentials, rate, body size. Returns the refusal
 * or undefined.
 */
export function gate(req: IncomingMessage, sender: string | undefined, tunnel: string, access: TunnelAccess, limits: RelayLimits, usage: UsageCounter): Refusal | undefined {
  if (req.rawHeaders.length / 2 >= limits.maxHeaderCount) {
    return { code: ErrorCode.HeadersTooLarge, message: `more than ${limits.maxHeaderCount - 1} header lines` };
  }
  if (access.allow && !allowed(access.allow, sender)) {
    return { code: ErrorCode.Forbidden, message: `tunnel "${tunnel}" does not accept requests from your address` };
  }
  if (access.authDigest && !checkBasicAuth(req.headers.authorization, access.authDigest)) {
    return { code: ErrorCode.Unauthorized, message: `tunnel "${tunnel}" needs a user name and password`, headers: { 'WWW-Authenticate': `Basic realm="hooktunnel ${tunnel}", charset="UTF-8"` } };
  }
  const wait = usage.request(access.owner);
  if (wait > 0) {
    return { code: ErrorCode.RateLimited, message: `more than ${limits.requestsPerMinute} requests a minute for this tunnel's owner`, headers: { 'Retry-After': String(wait) } };
  }
  const length = req.headers['content-length'];
  if (length !== undefined && Number(length) > limits.maxBodyBytes) {
    return { code: ErrorCode.BodyTooLarge, message: `request body of ${length} bytes is over the relay's limit of ${limits.maxBodyBytes}` };
  }
  return undefined;
}
