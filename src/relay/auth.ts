import type { IncomingMessage } from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { ErrorCode, HooktunnelError } from '../errors.js';

const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * The tokens that may open tunnels: from `--token` and `--tokens-file` (one per line, `#` comments), reread by
 * reload() (the CLI calls it on SIGHUP). Comparison is constant-time: every configured token is compared as a
 * SHA-256 digest, so neither length nor content leaks through timing.
 */
export class TokenSet {
  private digests: Buffer[] = [];

  constructor(
    private readonly tokens: readonly string[],
    private readonly file?: string,
  ) {
    this.reload();
  }

  /** Rereads the tokens file; throws `invalid_argument` when it cannot be read (the old set stays in force). */
  reload(): number {
    let fromFile: string[] = [];
    if (this.file) {
      try {
        fromFile = readFileSync(this.file, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
      } catch (err) {
        throw new HooktunnelError(ErrorCode.InvalidArgument, `cannot read tokens file ${this.file}: ${(err as Error).message}`);
      }
    }
    this.digests = [...this.tokens, ...fromFile].map(sha256);
    return this.digests.length;
  }

  /** True when tokens are required at all. */
  get enabled(): boolean {
    return this.tokens.length > 0 || this.file !== undefined;
  }

  /** The matching token's digest (hex, a stable key for per-token limits), or undefined. */
  match(token: string | undefined): string | undefined {
    if (token === undefined) return undefined;
    const d = sha256(token);
    let found: Buffer | undefined;
    for (const known of this.digests) if (timingSafeEqual(known, d)) found = known;
    return found?.toString('hex');
  }
}

/** The bearer token of an `Authorization: Bearer …` header. */
export function bearer(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m?.[1];
}

/** True when a proxy forwarded the request: it carries `X-Forwarded-For` or `Forwarded`. */
export function viaProxy(req: IncomingMessage): boolean {
  return req.headers['x-forwarded-for'] !== undefined || req.headers.forwarded !== undefined;
}

/**
 * The sender's address. Without `trustProxy` it is the socket's peer. With it (`--trust-proxy`, the relay behind
 * a reverse proxy), it is the last address in `X-Forwarded-For`: the one the proxy itself appended. Earlier entries
 * come from the sender and are not believed.
 */
export function senderAddress(req: IncomingMessage, trustProxy: boolean): string | undefined {
  const peer = req.socket.remoteAddress;
  if (!trustProxy) return peer;
  const xff = req.headers['x-forwarded-for'];
  if (xff === undefined) return peer;
  const list = (Array.isArray(xff) ? xff.join(',') : xff).split(',');
  const last = list[list.length - 1]!.trim();
  return isIP(last) ? last : peer;
}

/** True for 127.0.0.0/8, ::1 and their IPv4-mapped forms: the relay's own machine. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || (isIP(a) === 4 && a.startsWith('127.'));
}

/** Parses `CIDR` strings (`203.0.113.0/24`, `2001:db8::/32`, or a bare address) into a BlockList. */
export function parseAllowList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [addr, bits] = cidr.split('/');
    const type = isIP(addr ?? '');
    const prefix = bits === undefined ? (type === 6 ? 128 : 32) : Number(bits);
    if (type === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > (type === 6 ? 128 : 32)) {
      throw new HooktunnelError(ErrorCode.InvalidArgument, `"${cidr}" is not an IP address or CIDR range`);
    }
    list.addSubnet(addr!, prefix, type === 6 ? 'ipv6' : 'ipv4');
  }
  return list;
}

/** True when `address` (as the socket reports it) is inside `list`. */
export function allowed(list: BlockList, address: string | undefined): boolean {
  if (!address) return false;
  const mapped = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  return list.check(mapped, isIP(mapped) === 6 ? 'ipv6' : 'ipv4');
}

/** True when an `Authorization: Basic …` header carries the credentials whose digest is `digest`. */
export function checkBasicAuth(header: string | undefined, digest: string): boolean {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  const got = sha256(m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '\u0000');
  return timingSafeEqual(got, Buffer.from(digest.padEnd(64, '0').slice(0, 64), 'hex')) && m !== null;
}
