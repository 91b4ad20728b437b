import { describe, expect, it } from 'vitest';
import { SIGNATURE_WINDOW_MS, sign, verify } from '../../src/relay/cluster/auth.js';
import { checkClusterSecret, checkClusterUrl, checkRedisUrl } from '../../src/relay/cluster/config.js';

const SECRET = 'the-cluster-secret-of-the-test';
const URL_ = '/_hooktunnel/cluster/tunnel/abc/hook?x=1';

describe('node-to-node signatures', () => {
  it('accepts its own signature, within the window either way', () => {
    const now = 1_700_000_000_000;
    const header = sign(SECRET, 'POST', URL_, '203.0.113.7', now);
    expect(header).toMatch(/^v1 1700000000000 [0-9a-f]{64}$/);
    expect(verify(SECRET, header, 'POST', URL_, '203.0.113.7', now)).toBe(true);
    expect(verify(SECRET, header, 'POST', URL_, '203.0.113.7', now + SIGNATURE_WINDOW_MS)).toBe(true);
    expect(verify(SECRET, header, 'POST', URL_, '203.0.113.7', now - SIGNATURE_WINDOW_MS)).toBe(true);
  });

  it.each([
    ['another secret', (h: string) => verify('another-secret-altogether', h, 'POST', URL_, '203.0.113.7')],
    ['another method', (h: string) => verify(SECRET, h, 'GET', URL_, '203.0.113.7')],
    ['another path', (h: string) => verify(SECRET, h, 'POST', `${URL_}&y=2`, '203.0.113.7')],
    ['another sender address', (h: string) => verify(SECRET, h, 'POST', URL_, '198.51.100.1')],
    ['too old', (h: string) => verify(SECRET, h, 'POST', URL_, '203.0.113.7', Date.now() + SIGNATURE_WINDOW_MS + 1000)],
    ['a changed digit', (h: string) => verify(SECRET, h.replace(/.$/, (c) => (c === '0' ? '1' : '0')), 'POST', URL_, '203.0.113.7')],
    ['malformed', () => verify(SECRET, 'v1 abc', 'POST', URL_, '203.0.113.7')],
    ['missing', () => verify(SECRET, undefined, 'POST', URL_, '203.0.113.7')],
  ])('refuses %s', (_what, check) => {
    expect(check(sign(SECRET, 'POST', URL_, '203.0.113.7'))).toBe(false);
  });
});

describe('cluster flags', () => {
  it('takes redis:// and rediss:// with a password and a database, and bare http(s) origins', () => {
    expect(() => checkRedisUrl('redis://:pw@10.0.0.9:6379/0')).not.toThrow();
    expect(() => checkRedisUrl('rediss://user:pw@redis.internal:6380')).not.toThrow();
    expect(checkClusterUrl('http://10.0.0.5:8080/')).toBe('http://10.0.0.5:8080');
    expect(checkClusterUrl('https://node-1.internal')).toBe('https://node-1.internal');
    expect(checkClusterUrl('http://[::1]:9000')).toBe('http://[::1]:9000');
    expect(() => checkClusterSecret('0123456789abcdef')).not.toThrow();
  });

  it('refuses the rest with invalid_argument, never echoing a password or the secret', () => {
    expect(() => checkRedisUrl('redis//:topsecret@host')).toThrow(expect.objectContaining({ code: 'invalid_argument', message: expect.not.stringContaining('topsecret') }));
    expect(() => checkClusterUrl('http://user:pw@10.0.0.5:8080')).toThrow(/must not carry a user name or password/);
    expect(() => checkClusterUrl('http://10.0.0.5:8080/?a=1')).toThrow(/bare origin/);
    expect(() => checkClusterSecret('tiny-secret')).toThrow(expect.objectContaining({ message: expect.not.stringContaining('tiny-secret') }));
  });
});
