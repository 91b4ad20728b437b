import { createHash, createHmac, type Hash } from 'node:crypto';
import type { SignatureCheck } from '../model/signature.js';
import { hasHeader, headerValue, setHeader } from '../protocol/headers.js';
import { safeEqual, settled, type Scheme, type VerifyContext } from './scheme.js';
import { Reason, type SignatureVerifier } from './types.js';

/**
 * Most bytes of a form body kept to read its parameters (Twilio signs the parameters, not the bytes). Twilio's own
 * requests are a few KB; past this the check is reported `too_large` instead of holding an unbounded body.
 */
export const TWILIO_FORM_CAP = 1024 * 1024;

const BODY_HASH = /([?&]bodySHA256=)([^&#]*)/;

function isForm(headers: readonly string[]): boolean {
  return /^application\/x-www-form-urlencoded\b/i.test(headerValue(headers, 'content-type') ?? '');
}

/** Form parameters as Twilio's validator sees them: repeated names collected, values de-duplicated and sorted. */
function formParams(body: Buffer): Map<string, string[]> {
  const params = new Map<string, string[]>();
  for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params.set(k, [...(params.get(k) ?? []), v]);
  return params;
}

/** The signed string: the URL, then each parameter name and value, names in code-unit order, no separators. */
function signedString(url: string, params: Map<string, string[]>): string {
  let data = url;
  for (const name of [...params.keys()].sort()) for (const value of [...new Set(params.get(name))].sort()) data += name + value;
  return data;
}

function mac(token: string, url: string, params: Map<string, string[]>): string {
  return createHmac('sha1', token).update(signedString(url, params), 'utf8').digest('base64');
}

/**
 * The URL with and without its port: Twilio's validators accept either, because some Twilio requests are signed
 * with the default port written out (`https://host:443/…`) and some without.
 */
export function portVariants(url: string): string[] {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)(\[[^\]]*\]|[^/?#:]*)(:\d+)?(.*)$/i.exec(url);
  if (!m) return [url];
  const [, scheme, host, port, rest] = m;
  const standard = scheme!.toLowerCase() === 'https://' ? ':443' : ':80';
  return [...new Set([url, `${scheme}${host}${rest}`, `${scheme}${host}${port ?? standard}${rest}`])];
}

/**
 * Twilio: `X-Twilio-Signature: <base64 HMAC-SHA1(auth token, URL + sorted form parameters)>`. The URL is the one
 * the sender called, which is the tunnel's public URL, never the local one. A JSON body is instead covered by a
 * `bodySHA256=<hex SHA-256 of the body>` query parameter inside the signed URL.
 */
export const twilio: Scheme = {
  provider: 'twilio',
  present: (h) => hasHeader(h, 'x-twilio-signature'),
  hinted: (h) => hasHeader(h, 'i-twilio-idempotency-token') || /^TwilioProxy\//.test(headerValue(h, 'user-agent') ?? ''),
  verifier(headers, secrets, context) {
    if (context.urls.length === 0) return settled({ status: 'invalid', provider: 'twilio', reason: Reason.UnknownUrl });
    return new TwilioVerifier(headerValue(headers, 'x-twilio-signature')!.trim(), isForm(headers), secrets, context);
  },
  sign(request, token) {
    let url = request.url;
    let params = new Map<string, string[]>();
    if (BODY_HASH.test(url)) url = url.replace(BODY_HASH, (_, lead: string) => lead + createHash('sha256').update(request.body).digest('hex'));
    else if (isForm(request.headers)) params = formParams(request.body);
    return { url, headers: setHeader(request.headers, 'X-Twilio-Signature', mac(token, url, params)) };
  },
};

class TwilioVerifier implements SignatureVerifier {
  private readonly bodyHash: string | undefined;
  private readonly hash: Hash | undefined;
  private parts: Buffer[] = [];
  private kept = 0;
  private tooLarge = false;
  private ended = false;
  private outcome: SignatureCheck | undefined;

  constructor(
    private readonly signature: string,
    private readonly form: boolean,
    private readonly tokens: readonly string[],
    private readonly context: VerifyContext,
  ) {
    this.bodyHash = BODY_HASH.exec(context.urls[0]!)?.[2];
    if (this.bodyHash !== undefined) this.hash = createHash('sha256');
  }

  update(chunk: Buffer): void {
    if (this.ended) return;
    if (this.hash) return void this.hash.update(chunk);
    if (!this.form || this.tooLarge) return;
    this.kept += chunk.length;
    if (this.kept > TWILIO_FORM_CAP) {
      this.tooLarge = true;
      this.parts = [];
    } else this.parts.push(chunk);
  }

  end(): void {
    this.ended = true;
  }

  result(): SignatureCheck {
    if (!this.ended) return { status: 'invalid', provider: 'twilio', reason: Reason.Incomplete };
    if (this.tooLarge) return { status: 'invalid', provider: 'twilio', reason: Reason.TooLarge };
    if (this.outcome) return this.outcome;
    const params = this.form && !this.hash ? formParams(Buffer.concat(this.parts)) : new Map<string, string[]>();
    this.parts = [];
    const urls = this.context.urls.flatMap(portVariants);
    const signed = this.tokens.some((t) => urls.some((u) => safeEqual(mac(t, u, params), this.signature)));
    const bodyOk = !this.hash || safeEqual(this.hash.digest('hex'), (this.bodyHash ?? '').toLowerCase());
    this.outcome = signed && bodyOk ? { status: 'valid', provider: 'twilio' } : { status: 'invalid', provider: 'twilio', reason: Reason.Mismatch };
    return this.outcome;
  }
}
