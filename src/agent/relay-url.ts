import { ErrorCode, HooktunnelError } from '../errors.js';
import { CONNECT_PATH } from '../protocol/version.js';

/**
 * Turns `http://relay:8080` into the WebSocket URL of its connect endpoint. Apart from link.ts (which loads ws) so
 * that the CLI can check `--relay` while it parses its arguments.
 */
export function connectUrl(relay: string): string {
  let url: URL;
  try {
    url = new URL(relay);
  } catch {
    throw new HooktunnelError(ErrorCode.InvalidArgument, `invalid relay URL "${relay}"`);
  }
  const scheme = { 'http:': 'ws:', 'https:': 'wss:', 'ws:': 'ws:', 'wss:': 'wss:' }[url.protocol];
  if (!scheme) throw new HooktunnelError(ErrorCode.InvalidArgument, `relay URL "${relay}" must be http(s):// or ws(s)://`);
  const base = url.pathname.replace(/\/+$/, '');
  return `${scheme}//${url.host}${base}${CONNECT_PATH}`;
}
