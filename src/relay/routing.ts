import { RELAY_PATH_PREFIX } from '../protocol/index.js';

/** Where an incoming request goes. */
export type Route =
  /** Traffic for a tunnel: `path` is what the target must see. */
  | { readonly kind: 'tunnel'; readonly tunnel: string; readonly path: string }
  /** The relay's own endpoints under `/_hooktunnel/`. */
  | { readonly kind: 'relay'; readonly path: string }
  /** The relay's front page (`/` on the relay's own host). */
  | { readonly kind: 'home' }
  /** Refused before routing; `message` says why. */
  | { readonly kind: 'bad'; readonly message: string }
  | { readonly kind: 'none' };

const PATH_PREFIX = '/t/';
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Normalises a Host header value to a bare lower-case host name: port and one trailing dot removed.
 * Returns undefined for values that are not a plain host (userinfo, spaces, empty).
 */
export function normaliseHost(host: string | undefined): string | undefined {
  if (!host || /[@\s/\\]/.test(host)) return undefined;
  let name = host.toLowerCase();
  if (name.startsWith('[')) {
    const end = name.indexOf(']');
    return end < 0 ? undefined : name.slice(0, end + 1);
  }
  const colon = name.lastIndexOf(':');
  if (colon >= 0) {
    if (!/^\d{1,5}$/.test(name.slice(colon + 1))) return undefined;
    name = name.slice(0, colon);
  }
  if (name.endsWith('.')) name = name.slice(0, -1);
  return name || undefined;
}

/**
 * Routes by Host (when the relay has a domain) or by the `/t/<id>` path prefix. The path after the tunnel id is
 * passed on byte for byte: `..`, `%2e%2e` or `//` in it stay inside the tunnel because only the literal prefix is
 * matched, never a normalised form.
 */
export function route(url: string, hostHeader: string | undefined, domain: string | undefined): Route {
  if (!url.startsWith('/')) return { kind: 'bad', message: 'only origin-form request targets are served; this relay is not a proxy' };
  // With path routing too: the Host reaches the target as X-Forwarded-Host and rebuilds public URLs (Twilio).
  const host = normaliseHost(hostHeader);
  if (hostHeader && host === undefined) return { kind: 'bad', message: 'the Host header is not a valid host' };
  if (domain) {
    if (host === undefined) return { kind: 'bad', message: 'a Host header is required' };
    if (host.endsWith(`.${domain}`)) {
      const label = host.slice(0, host.length - domain.length - 1);
      if (!LABEL.test(label)) return { kind: 'none' };
      return { kind: 'tunnel', tunnel: label, path: url };
    }
  }
  if (url.startsWith(RELAY_PATH_PREFIX)) return { kind: 'relay', path: url };
  if (url === '/' ) return { kind: 'home' };
  if (!url.startsWith(PATH_PREFIX)) return { kind: 'none' };
  const rest = url.slice(PATH_PREFIX.length);
  let end = rest.length;
  for (let i = 0; i < rest.length; i++) {
    const c = rest.charCodeAt(i);
    if (c === 0x2f /* / */ || c === 0x3f /* ? */) {
      end = i;
      break;
    }
  }
  const tunnel = rest.slice(0, end).toLowerCase();
  if (!LABEL.test(tunnel)) return { kind: 'none' };
  const tail = rest.slice(end);
  return { kind: 'tunnel', tunnel, path: tail.startsWith('/') ? tail : `/${tail}` };
}
