import { createHmac, timingSafeEqual, type Hmac } from 'node:crypto';
import type { SignatureCheck } from '../model/signature.js';
import { Reason, type ProviderName, type SignableRequest, type SignatureReason, type SignatureVerifier } from './types.js';

/** What a verifier needs besides the headers and secrets. */
export interface VerifyContext {
  /** The clock when the request arrived, in seconds since the epoch. */
  readonly nowSeconds: number;
  /** Allowed difference between a signed timestamp and the clock, in seconds. */
  readonly toleranceSeconds: number;
  /** Twilio: the URLs the sender may have used (see url.ts). */
  readonly urls: readonly string[];
}

/** One provider's signing scheme: recognise it, verify it incrementally, sign with it. Pure: no I/O. */
export interface Scheme {
  readonly provider: ProviderName;
  /** True when the request carries this scheme's signature headers (any of them). */
  present(headers: readonly string[]): boolean;
  /** True when the provider sent the request (by its other headers) though no signature header is there. */
  hinted(headers: readonly string[]): boolean;
  /** Starts verifying a request that `present` accepted, against these secrets (at least one). */
  verifier(headers: readonly string[], secrets: readonly string[], context: VerifyContext): SignatureVerifier;
  /** The request signed with `secret` at `nowSeconds`: fresh timestamp where the scheme has one, new signature. */
  sign(request: SignableRequest, secret: string, nowSeconds: number): { url: string; headers: string[] };
}

/** What an HMAC scheme reads from the headers: the bytes signed before the body, the signatures offered, the time. */
export interface ParsedSignature {
  readonly prefix: string;
  /** Signatures from the headers, in the scheme's text encoding; any one matching is enough. */
  readonly signatures: readonly string[];
  /** The signed timestamp (seconds since the epoch), for schemes that have one. */
  readonly timestamp?: number;
}

/** The parts that make a scheme of HMAC(key, prefix + body). */
export interface HmacDefinition {
  readonly provider: ProviderName;
  readonly algorithm: 'sha256' | 'sha1';
  readonly encoding: 'hex' | 'base64';
  present(headers: readonly string[]): boolean;
  hinted(headers: readonly string[]): boolean;
  /** The signature fields, or a Reason when they are missing or unreadable. */
  parse(headers: readonly string[]): ParsedSignature | SignatureReason;
  /** The HMAC key a configured secret stands for. Default: its UTF-8 bytes. */
  key?(secret: string): Buffer;
  /** The headers with a fresh signature; `mac(prefix)` is the encoded HMAC of prefix + body. */
  sign(headers: readonly string[], nowSeconds: number, mac: (prefix: string) => string): string[];
}

/** A fixed outcome (unsigned, or invalid for a reason found in the headers alone). */
export function settled(check: SignatureCheck): SignatureVerifier {
  return { update() {}, end() {}, result: () => check };
}

/** Compares two strings in time that depends only on their length. */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Integer seconds, or undefined for anything else (`12e3`, `-`, ` 1`). */
export function parseSeconds(text: string | undefined): number | undefined {
  return text !== undefined && /^\d{1,12}$/.test(text) ? Number(text) : undefined;
}

/** Builds a Scheme from an HMAC definition: one running HMAC per secret, fed chunk by chunk. */
export function hmacScheme(def: HmacDefinition): Scheme {
  const key = (secret: string): Buffer => (def.key ? def.key(secret) : Buffer.from(secret, 'utf8'));
  return {
    provider: def.provider,
    present: def.present,
    hinted: def.hinted,
    verifier(headers, secrets, context) {
      const parsed = def.parse(headers);
      if (typeof parsed === 'string') return settled({ status: 'invalid', provider: def.provider, reason: parsed });
      const macs: Hmac[] = secrets.map((s) => createHmac(def.algorithm, key(s)).update(parsed.prefix, 'utf8'));
      return new HmacVerifier(def, macs, parsed, context);
    },
    sign(request, secret, nowSeconds) {
      const mac = (prefix: string): string => createHmac(def.algorithm, key(secret)).update(prefix, 'utf8').update(request.body).digest(def.encoding);
      return { url: request.url, headers: def.sign(request.headers, nowSeconds, mac) };
    },
  };
}

class HmacVerifier implements SignatureVerifier {
  private ended = false;
  private outcome: SignatureCheck | undefined;

  constructor(
    private readonly def: HmacDefinition,
    private readonly macs: Hmac[],
    private readonly parsed: ParsedSignature,
    private readonly context: VerifyContext,
  ) {}

  update(chunk: Buffer): void {
    if (this.ended) return;
    for (const mac of this.macs) mac.update(chunk);
  }

  end(): void {
    this.ended = true;
  }

  result(): SignatureCheck {
    const provider = this.def.provider;
    if (!this.ended) return { status: 'invalid', provider, reason: Reason.Incomplete };
    if (this.outcome) return this.outcome;
    const expected = this.macs.map((m) => m.digest(this.def.encoding));
    const matched = expected.some((e) => this.parsed.signatures.some((s) => safeEqual(e, this.def.encoding === 'hex' ? s.toLowerCase() : s)));
    const { timestamp } = this.parsed;
    // A matching signature with a stale timestamp is told apart from a wrong one: it is what a replay looks like.
    const stale = timestamp !== undefined && Math.abs(this.context.nowSeconds - timestamp) > this.context.toleranceSeconds;
    this.outcome = !matched
      ? { status: 'invalid', provider, reason: Reason.Mismatch }
      : stale
        ? { status: 'invalid', provider, reason: Reason.Timestamp }
        : { status: 'valid', provider };
    return this.outcome;
  }
}
