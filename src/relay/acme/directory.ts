import { Agent } from 'node:https';
import acme from 'acme-client';
import { ErrorCode, HooktunnelError } from '../../errors.js';

/** Let's Encrypt's production directory: the default of `--acme-directory`. */
export const LETS_ENCRYPT_PRODUCTION = acme.directory.letsencrypt.production;

/** Short names `--acme-directory` accepts instead of a URL. */
export const DIRECTORY_NAMES: Readonly<Record<string, string>> = {
  production: LETS_ENCRYPT_PRODUCTION,
  letsencrypt: LETS_ENCRYPT_PRODUCTION,
  staging: acme.directory.letsencrypt.staging,
};

/** The directory URL for `value` (a short name or an http(s) URL); throws `invalid_argument` otherwise. */
export function resolveDirectory(value: string | undefined): string {
  if (value === undefined) return LETS_ENCRYPT_PRODUCTION;
  const named = DIRECTORY_NAMES[value];
  if (named) return named;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new HooktunnelError(ErrorCode.InvalidArgument, `--acme-directory ${value} is neither a URL nor one of ${Object.keys(DIRECTORY_NAMES).join(', ')}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new HooktunnelError(ErrorCode.InvalidArgument, `--acme-directory ${value} is not an http(s) URL`);
  }
  return url.href;
}

const agents = new Map<string, Agent>();
let configured = false;

/**
 * Sets up acme-client's shared HTTP client once per process: requests to an origin given a CA here trust that CA
 * (and only it), and its own retry of a failed request is shortened. acme-client retries a refused connection
 * 5 times with 5, 10, … 25 s pauses (75 s per request); the certificate manager already retries a whole failed
 * order with its own backoff, so 3 tries 1, 2 s apart are enough here and a failure is reported sooner.
 */
function configure(): void {
  if (configured) return;
  configured = true;
  const settings = (acme.axios.defaults as unknown as { acmeSettings: { retryMaxAttempts: number; retryDefaultDelay: number } }).acmeSettings;
  settings.retryMaxAttempts = 2;
  settings.retryDefaultDelay = 1;
  acme.axios.interceptors.request.use((config) => {
    const agent = config.url ? agents.get(new URL(config.url).origin) : undefined;
    if (agent) config.httpsAgent = agent;
    return config;
  });
}

/**
 * Prepares the ACME client for `directoryUrl`; with `ca` (PEM), the directory's own HTTPS certificate is checked
 * against that CA instead of the system's (a private ACME server such as pebble; `--acme-ca`).
 */
export function useDirectory(directoryUrl: string, ca?: string | Buffer): void {
  configure();
  if (ca !== undefined) agents.set(new URL(directoryUrl).origin, new Agent({ ca, keepAlive: true }));
}
