import type { CaptureWithBodies } from './har.js';

/**
 * Quotes a string of bytes (each char code below 256, as headers are decoded: latin1) for bash. Printable ASCII
 * goes in single quotes; anything else in `$'…'` with `\xNN` escapes, so bash passes exactly those bytes on.
 */
export function shellQuote(s: string): string {
  if (/^[\x20-\x7e]*$/.test(s)) return `'${s.replace(/'/g, `'\\''`)}'`;
  let out = "$'";
  for (const ch of s) {
    const code = ch.charCodeAt(0);
    if (code > 0xff) out += [...Buffer.from(ch, 'utf8')].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('');
    else if (code < 0x20 || code > 0x7e) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch === "'" || ch === '\\' ? `\\${ch}` : ch;
  }
  return `${out}'`;
}

/** Header names curl manages itself or that must not be replayed as captured. */
const SKIP = new Set(['content-length', 'transfer-encoding', 'connection', 'expect', 'host', 'keep-alive', 'te', 'trailer', 'upgrade']);

/** Headers curl adds on its own unless told not to (`-H 'Name:'`). */
const CURL_DEFAULTS = ['User-Agent', 'Accept'];

function headerArgs(raw: readonly string[], hasBody: boolean): string[] {
  const args: string[] = [];
  const present = new Set<string>();
  let host: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lower = name.toLowerCase();
    present.add(lower);
    if (lower === 'host') host ??= value;
    if (SKIP.has(lower)) continue;
    // "Name;" is curl's way to send a header with an empty value.
    args.push('-H', shellQuote(value === '' ? `${name};` : `${name}: ${value}`));
  }
  if (host !== undefined) args.push('-H', shellQuote(`Host: ${host}`));
  for (const name of CURL_DEFAULTS) if (!present.has(name.toLowerCase())) args.push('-H', shellQuote(`${name}:`));
  // With a body, curl must not add a Content-Type of its own or wait for 100-continue.
  if (hasBody) args.push('-H', shellQuote('Expect:'), ...(present.has('content-type') ? [] : ['-H', shellQuote('Content-Type:')]));
  return args;
}

/**
 * A runnable bash command that sends the captured request again, byte for byte: method, path as is (no dot
 * segments resolved), headers in order, and the body through `base64 -d` into `--data-binary @-`, so binary
 * bodies, NUL bytes and trailing newlines survive any shell. Sent to the target the request was forwarded to.
 */
export function toCurl({ capture: c, requestBody }: CaptureWithBodies): string {
  const url = `${c.target.replace(/\/+$/, '')}${c.path}`;
  const method = c.method === 'HEAD' ? ['--head'] : ['-X', shellQuote(c.method)];
  const parts = ['curl', '--silent', '--show-error', '--path-as-is', ...method, ...headerArgs(c.requestHeaders, requestBody.length > 0)];
  if (requestBody.length === 0) return `${parts.join(' ')} ${shellQuote(url)}`;
  parts.push('--data-binary', '@-', shellQuote(url));
  return `printf %s ${shellQuote(requestBody.toString('base64'))} | base64 -d | ${parts.join(' ')}`;
}
