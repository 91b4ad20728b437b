import { hasHeader, headerValue, setHeader } from '../protocol/headers.js';
import { hmacScheme, type Scheme } from './scheme.js';
import type { DigestEncoding } from './types.js';

/** The header of a generic secret that names none (library use; the CLI always names one). */
export const DEFAULT_GENERIC_HEADER = 'X-Signature';

/** A `sha256=` label in front of the digest, as GitHub-style senders write it; kept when re-signing. */
const LABEL = 'sha256=';

/**
 * A generic HMAC-SHA256 over the body in a named header, hex or base64, optionally written `sha256=<digest>`.
 * One scheme per configured `generic:<header>[:<encoding>]` secret.
 */
export function genericScheme(header: string, encoding: DigestEncoding = 'hex'): Scheme {
  return hmacScheme({
    provider: 'generic',
    algorithm: 'sha256',
    encoding,
    present: (h) => hasHeader(h, header),
    hinted: () => false,
    parse(h) {
      const value = headerValue(h, header)!.trim();
      return { prefix: '', signatures: value.startsWith(LABEL) ? [value.slice(LABEL.length)] : [value] };
    },
    sign(h, _now, mac) {
      const labelled = headerValue(h, header)?.trim().startsWith(LABEL) ?? false;
      return setHeader(h, header, `${labelled ? LABEL : ''}${mac('')}`);
    },
  });
}
