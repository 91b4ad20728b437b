import type { CaptureWithBodies } from './har.js';

/** Quotes a string for a POSIX shell: single quotes, with embedded ones closed, escaped and reopened. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Header names that curl manages itself or that must not be replayed as captured. */
const SKIP = new Set(['content-length', 'transfer-encoding', 'connection', 'expect', 'host']);

/**
 * A runnable curl command that reproduces the captured request byte for byte: the body goes through
 * `base64 -d` into `--data-binary @-`, so binary bodies, NUL bytes and trailing newlines survive any shell.
 */
export function toCurl({ capture: c, requestBody }: CaptureWithBodies): string {
  const url = `${c.target.replace(/\/+$/, '')}${c.path}`;
  const parts = ['curl', '--silent', '--show-error', '--path-as-is', '-X', shellQuote(c.method)];
  let host: string | undefined;
  let typed = false;
  for (let i = 0; i < c.requestHeaders.length; i += 2) {
    const name = c.requestHeaders[i]!;
    const value = c.requestHeaders[i + 1]!;
    if (name.toLowerCase() === 'host') host = value;
    if (name.toLowerCase() === 'content-type') typed = true;
    if (SKIP.has(name.toLowerCase())) continue;
    // "Name;" is curl's way to send a header with an empty value.
    parts.push('-H', shellQuote(value === '' ? `${name};` : `${name}: ${value}`));
  }
  if (host) parts.push('-H', shellQuote(`Host: ${host}`));
  // Without a body, curl must not send one; with one, it must not add a Content-Type of its own or an Expect.
  if (requestBody.length === 0) return `${parts.join(' ')} ${shellQuote(url)}`;
  parts.push('-H', shellQuote('Expect:'));
  if (!typed) parts.push('-H', shellQuote('Content-Type:'));
  parts.push('--data-binary', '@-', shellQuote(url));
  return `printf %s ${shellQuote(requestBody.toString('base64'))} | base64 -d | ${parts.join(' ')}`;
}
