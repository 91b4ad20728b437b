import { ErrorCode, HooktunnelError } from '../errors.js';

/** Where the agent forwards: the local server. */
export interface Target {
  /** `http://localhost:3000`: scheme, host and port only. */
  readonly origin: string;
  /** Path prefix every forwarded path gets (`/base` from `http://localhost:3000/base`), '' for none. */
  readonly basePath: string;
  /** `localhost:3000`: the Host header the target sees by default. */
  readonly host: string;
  /** Human form, `http://localhost:3000/base`. */
  readonly display: string;
}

function invalid(input: string, why: string): HooktunnelError {
  return new HooktunnelError(ErrorCode.InvalidArgument, `invalid target "${input}": ${why} (expected a port like 3000, host:port, or a URL like http://localhost:3000/base)`);
}

function checkPort(input: string, port: string): void {
  const n = Number(port);
  if (!/^\d{1,5}$/.test(port) || n < 1 || n > 65535) throw invalid(input, `port ${port} is not between 1 and 65535`);
}

/** Parses `3000`, `host:3000`, `[::1]:3000` or `http(s)://host:port/base` into a Target. */
export function parseTarget(input: string): Target {
  const text = input.trim();
  if (/^\d+$/.test(text)) {
    checkPort(input, text);
    return build(new URL(`http://localhost:${text}`), input);
  }
  if (/^https?:\/\//i.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw invalid(input, 'not a valid URL');
    }
    if (url.username || url.password) throw invalid(input, 'credentials in the URL are not supported');
    if (url.search || url.hash) throw invalid(input, 'a query or fragment cannot be a prefix');
    if (url.port) checkPort(input, url.port);
    return build(url, input);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) throw invalid(input, 'only http:// and https:// targets are supported');
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):([^:]+)$/.exec(text);
  if (!m) throw invalid(input, 'not a port, host:port or http(s) URL');
  checkPort(input, m[2]!);
  return build(new URL(`http://${m[1]}:${m[2]}`), input);
}

function build(url: URL, input: string): Target {
  if (!url.hostname) throw invalid(input, 'no host');
  const basePath = url.pathname === '/' ? '' : url.pathname.replace(/\/+$/, '');
  return { origin: url.origin, basePath, host: url.host, display: `${url.origin}${basePath}` };
}
