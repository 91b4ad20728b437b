import { ErrorCode, HooktunnelError } from '../../errors.js';

/** Shortest cluster secret accepted: it is all that stands between the internet and the node-to-node endpoint. */
export const MIN_SECRET_LENGTH = 16;

const bad = (message: string): never => {
  throw new HooktunnelError(ErrorCode.InvalidArgument, message);
};

/** Checks a `--redis` URL; throws `invalid_argument` with what is wrong (the password never appears). */
export function checkRedisUrl(url: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return bad('--redis is not a URL: expected redis://host:6379/0 (or rediss:// for TLS)');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') bad(`--redis must be redis:// or rediss://, not ${u.protocol}//`);
  if (!u.hostname) bad('--redis has no host: expected redis://host:6379/0');
  if (u.pathname !== '' && u.pathname !== '/' && !/^\/\d{1,2}$/.test(u.pathname)) bad(`--redis: the path must be a database number (/0 to /15), not ${u.pathname}`);
}

/**
 * Checks a `--cluster-url` and returns it without a trailing slash; throws `invalid_argument` for anything but
 * `http(s)://host:port` with no path, query or credentials.
 */
export function checkClusterUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return bad(`--cluster-url "${url}" is not a URL: expected the address other nodes reach this one at, e.g. http://10.0.0.5:8080`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') bad(`--cluster-url must be http:// or https://, not ${u.protocol}//`);
  if (u.username || u.password) bad('--cluster-url must not carry a user name or password (nodes sign their requests with --cluster-secret)');
  if ((u.pathname !== '/' && u.pathname !== '') || u.search || u.hash) bad(`--cluster-url must be a bare origin such as http://10.0.0.5:8080, without a path or query`);
  if (u.port === '0') bad('--cluster-url needs the real port other nodes connect to, not 0');
  return u.origin;
}

/** Checks a `--cluster-secret`; throws `invalid_argument` (without echoing it). */
export function checkClusterSecret(secret: string): void {
  if (secret.length < MIN_SECRET_LENGTH) bad(`--cluster-secret must be at least ${MIN_SECRET_LENGTH} characters (it is ${secret.length}); e.g. openssl rand -hex 32`);
}
