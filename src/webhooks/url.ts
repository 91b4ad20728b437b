import { lastHeaderValue } from '../protocol/headers.js';

/**
 * The URLs a sender may have called for a request that reached the tunnel advertised as `publicUrl` with `path`
 * (path and query as the agent received them). Twilio signs that URL, so it must be rebuilt as the sender wrote
 * it, not as the target sees it:
 *
 * - The relay strips the tunnel's own part: `/t/<id>/hooks?x` arrives as `/hooks?x` (path routing), while on a
 *   tunnel's own host (`<id>.<domain>`) the path is unchanged. `publicUrl` carries that part back: its path is
 *   `/t/<id>` (after any `--public-url` base path) or empty.
 * - `/t/<id>`, `/t/<id>/`, `/t/<id>?q` and `/t/<id>/?q` all arrive as `/` or `/?q`: both spellings are candidates.
 * - The sender may have used another name for the relay than the one the agent dialled (`localhost` or
 *   `127.0.0.1`, a proxy's name): `senderHost` (the Host the relay received) gives a second candidate.
 */
export function senderUrls(publicUrl: string, path: string, senderHost?: string): string[] {
  const base = publicUrl.replace(/\/+$/, '');
  const bases = [base];
  if (senderHost) {
    const u = new URL(base);
    if (u.host !== senderHost.toLowerCase()) bases.push(`${u.protocol}//${senderHost}${u.pathname === '/' ? '' : u.pathname}`);
  }
  const paths = path === '/' || path.startsWith('/?') ? [path, path.slice(1)] : [path];
  return [...new Set(bases.flatMap((b) => paths.map((p) => b + p)))];
}

/**
 * The public URL a captured request was sent to, rebuilt from the headers the relay added (`X-Forwarded-Proto`,
 * `X-Forwarded-Host`) and the tunnel id: `<proto>://<id>.<domain>` when the host is the tunnel's own, else
 * `<proto>://<host>/t/<id>`. A relay advertised under a `--public-url` with a base path cannot be told from the
 * headers; undefined when the relay's headers are missing (a capture from another proxy).
 */
export function capturedPublicUrl(headers: readonly string[], tunnel: string): string | undefined {
  const host = lastHeaderValue(headers, 'x-forwarded-host');
  if (!host || !tunnel) return undefined;
  const proto = lastHeaderValue(headers, 'x-forwarded-proto') === 'https' ? 'https' : 'http';
  return host.toLowerCase().startsWith(`${tunnel.toLowerCase()}.`) ? `${proto}://${host}` : `${proto}://${host}/t/${tunnel}`;
}
