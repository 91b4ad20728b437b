import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backoffMs } from '../../src/agent/connect.js';
import { basicAuthDigest } from '../../src/protocol/index.js';
import type { IncomingMessage } from 'node:http';
import { TokenSet, allowed, bearer, checkBasicAuth, isLoopback, parseAllowList, senderAddress, viaProxy } from '../../src/relay/auth.js';
import { TokenUsage } from '../../src/relay/limits.js';

/** The parts of a request senderAddress and viaProxy read. */
const incoming = (peer: string, headers: Record<string, string | string[]> = {}): IncomingMessage =>
  ({ socket: { remoteAddress: peer }, headers }) as unknown as IncomingMessage;

describe('sender address behind a proxy', () => {
  it('is the socket peer unless the proxy is trusted; then the last X-Forwarded-For entry, the one the proxy added', () => {
    const req = incoming('127.0.0.1', { 'x-forwarded-for': '10.0.0.9, 203.0.113.7' });
    expect(senderAddress(req, false)).toBe('127.0.0.1');
    expect(senderAddress(req, true)).toBe('203.0.113.7');
    expect(senderAddress(incoming('127.0.0.1', { 'x-forwarded-for': ['1.1.1.1', ' 2001:db8::5 '] }), true)).toBe('2001:db8::5');
    // Garbage in the header, or no header: the peer.
    expect(senderAddress(incoming('127.0.0.1', { 'x-forwarded-for': '203.0.113.7, not-an-ip' }), true)).toBe('127.0.0.1');
    expect(senderAddress(incoming('::1'), true)).toBe('::1');
  });

  it('notices a proxy by X-Forwarded-For or Forwarded', () => {
    expect(viaProxy(incoming('127.0.0.1', { 'x-forwarded-for': '203.0.113.7' }))).toBe(true);
    expect(viaProxy(incoming('127.0.0.1', { forwarded: 'for=203.0.113.7' }))).toBe(true);
    expect(viaProxy(incoming('127.0.0.1'))).toBe(false);
  });
});

describe('agent admission', () => {
  it('counts only loopback addresses as this machine', () => {
    for (const a of ['127.0.0.1', '127.9.9.9', '::1', '::ffff:127.0.0.1']) expect(isLoopback(a), a).toBe(true);
    for (const a of ['10.0.0.1', '192.168.1.1', '::ffff:10.0.0.1', '2001:db8::1', '', undefined]) expect(isLoopback(a), String(a)).toBe(false);
  });

  it('matches tokens from the list and the file, and rereads the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ht-tokens-'));
    try {
      const file = join(dir, 'tokens');
      writeFileSync(file, '# comment\n  file-token  \n\n');
      const set = new TokenSet(['listed'], file);
      expect(set.match('listed')).toBeDefined();
      expect(set.match('file-token')).toBeDefined();
      expect(set.match('listed')).not.toBe(set.match('file-token'));
      expect(set.match('other')).toBeUndefined();
      expect(set.match(undefined)).toBeUndefined();
      writeFileSync(file, 'new-token\n');
      expect(set.reload()).toBe(2);
      expect(set.match('file-token')).toBeUndefined();
      expect(set.match('new-token')).toBeDefined();
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('reads bearer tokens', () => {
    expect(bearer('Bearer abc')).toBe('abc');
    expect(bearer('bearer abc ')).toBe('abc');
    expect(bearer('Basic abc')).toBeUndefined();
    expect(bearer(undefined)).toBeUndefined();
  });
});

describe('tunnel access', () => {
  it('checks basic auth against the digest only', () => {
    const digest = basicAuthDigest('alice:pa55');
    const header = (s: string): string => `Basic ${Buffer.from(s).toString('base64')}`;
    expect(checkBasicAuth(header('alice:pa55'), digest)).toBe(true);
    expect(checkBasicAuth(header('alice:nope'), digest)).toBe(false);
    expect(checkBasicAuth('Bearer x', digest)).toBe(false);
    expect(checkBasicAuth(undefined, digest)).toBe(false);
  });

  it('matches IPv4, IPv6 and mapped addresses against CIDR ranges, and refuses junk', () => {
    const list = parseAllowList(['203.0.113.0/24', '2001:db8::/32', '127.0.0.1']);
    expect(allowed(list, '203.0.113.7')).toBe(true);
    expect(allowed(list, '::ffff:203.0.113.7')).toBe(true);
    expect(allowed(list, '2001:db8::5')).toBe(true);
    expect(allowed(list, '127.0.0.1')).toBe(true);
    expect(allowed(list, '203.0.114.1')).toBe(false);
    expect(allowed(list, '::1')).toBe(false);
    for (const bad of ['nope', '10.0.0.0/33', '::/129', '1.2.3.4/x']) expect(() => parseAllowList([bad]), bad).toThrow(/not an IP address or CIDR/);
  });
});

describe('per-token limits', () => {
  it('counts tunnels and requests per minute, with the seconds to wait', async () => {
    const usage = new TokenUsage({ tunnelsPerToken: 1, requestsPerMinute: 2 });
    expect(await usage.canOpen('a')).toBe(true);
    usage.count('a', 1);
    expect(await usage.canOpen('a')).toBe(false);
    expect(await usage.canOpen('b')).toBe(true);
    usage.count('a', -1);
    expect(await usage.canOpen('a')).toBe(true);

    expect(usage.request('a', 0)).toBe(0);
    expect(usage.request('a', 1000)).toBe(0);
    expect(usage.request('a', 30_000)).toBe(30);
    expect(usage.request('a', 60_000)).toBe(0);
  });
});

describe('reconnect backoff', () => {
  it('doubles from 0.5 s to a 30 s cap, jittered to 50-100 %', () => {
    expect(backoffMs(1, () => 1)).toBe(500);
    expect(backoffMs(1, () => 0)).toBe(250);
    expect(backoffMs(4, () => 1)).toBe(4000);
    expect(backoffMs(20, () => 1)).toBe(30_000);
    expect(backoffMs(20, () => 0)).toBe(15_000);
  });
});
