import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCode } from '../../errors.js';
import { sendError } from '../respond.js';
import { normaliseHost } from '../routing.js';
import type { CertStore } from './store.js';

const CHALLENGE_PREFIX = '/.well-known/acme-challenge/';
const TOKEN = /^[A-Za-z0-9_-]{1,256}$/;

/** The plain-HTTP port of an ACME relay. */
export interface ChallengePort {
  readonly port: number;
  close(): Promise<void>;
}

/** What the plain-HTTP port needs. */
export interface ChallengePortOptions {
  readonly port: number;
  readonly host: string;
  readonly domain: string;
  /** The HTTPS port redirects point at (left out of the URL when it is 443). */
  readonly httpsPort: number;
  readonly store: CertStore;
}

/**
 * Listens on the relay's `--http-port` (80): answers HTTP-01 challenges (`/.well-known/acme-challenge/<token>`)
 * from the store, and redirects every other request for the domain or its subdomains to https (301 for GET and
 * HEAD, 308 otherwise, so a webhook's POST keeps its method and body). Other hosts get 404 `tunnel_not_found`.
 */
export async function listenChallengePort(options: ChallengePortOptions): Promise<ChallengePort> {
  const server = createServer({ requestTimeout: 10_000, headersTimeout: 10_000 }, (req, res) => void answer(req, res, options));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      return closed;
    },
  };
}

async function answer(req: IncomingMessage, res: ServerResponse, options: ChallengePortOptions): Promise<void> {
  req.resume();
  res.on('error', () => undefined);
  const url = req.url ?? '/';
  if (url.startsWith(CHALLENGE_PREFIX)) {
    const token = url.slice(CHALLENGE_PREFIX.length);
    const keyAuthorization = TOKEN.test(token) ? await options.store.getChallenge(token).catch(() => undefined) : undefined;
    if (keyAuthorization === undefined) return sendError(res, ErrorCode.TunnelNotFound, 'no such ACME challenge');
    res.writeHead(200, { 'content-type': 'text/plain' });
    return void res.end(keyAuthorization);
  }
  const host = normaliseHost(req.headers.host);
  const { domain, httpsPort } = options;
  if (!url.startsWith('/') || host === undefined || (host !== domain && !host.endsWith(`.${domain}`))) {
    return sendError(res, ErrorCode.TunnelNotFound, `this relay serves ${domain} and its subdomains over https only`);
  }
  const status = req.method === 'GET' || req.method === 'HEAD' ? 301 : 308;
  res.writeHead(status, { location: `https://${host}${httpsPort === 443 ? '' : `:${httpsPort}`}${url}`, 'content-length': '0' });
  res.end();
}
