import { createHmac, timingSafeEqual } from 'node:crypto';

/** Where one node reaches another: `/_hooktunnel/cluster/tunnel/<id><path>` and `/_hooktunnel/cluster/deliver/<id>`. */
export const CLUSTER_PREFIX = '/_hooktunnel/cluster/';

/** Header carrying a node-to-node request's signature: `v1 <unix ms> <hex HMAC-SHA256>`. */
export const AUTH_HEADER = 'x-hooktunnel-cluster-auth';
/** Header carrying the original sender's address (trusted only on a signed request). */
export const REMOTE_HEADER = 'x-hooktunnel-cluster-remote';
/** Header saying the node added Host itself (the sender sent none), so the receiving node drops it again. */
export const ADDED_HOST_HEADER = 'x-hooktunnel-cluster-added-host';
/** Header of the receiving node's answer when it does not hold the tunnel (any more): the sender retries the lookup. */
export const NOT_HERE_HEADER = 'x-hooktunnel-cluster-not-here';

/**
 * How far a signature's clock may be from the receiving node's. Short: a captured request can be replayed only
 * within it. Nodes need clocks within this of each other (NTP).
 */
export const SIGNATURE_WINDOW_MS = 30_000;

function mac(secret: string, method: string, url: string, remote: string, at: number): Buffer {
  return createHmac('sha256', secret).update(`${method}\n${url}\n${remote}\n${at}`).digest();
}

/** The auth header value for a request from one node to another. */
export function sign(secret: string, method: string, url: string, remote: string, now = Date.now()): string {
  return `v1 ${now} ${mac(secret, method, url, remote, now).toString('hex')}`;
}

/**
 * True when `header` is a signature of method, URL and sender address by a node knowing `secret`, made within the
 * window. Compared in constant time.
 */
export function verify(secret: string, header: string | undefined, method: string, url: string, remote: string, now = Date.now()): boolean {
  const m = /^v1 (\d{1,16}) ([0-9a-f]{64})$/.exec(header ?? '');
  if (!m) return false;
  const at = Number(m[1]);
  if (Math.abs(now - at) > SIGNATURE_WINDOW_MS) return false;
  return timingSafeEqual(mac(secret, method, url, remote, at), Buffer.from(m[2]!, 'hex'));
}
