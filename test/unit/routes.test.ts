import { describe, expect, it } from 'vitest';
import { BODY_MATCH_BYTES, Router, fieldAt, globRegExp } from '../../src/agent/routes.js';

const head = (method: string, path: string, headers: string[] = []): { method: string; path: string; headers: string[]; remote: string; host: string } => ({ method, path, headers, remote: '127.0.0.1', host: 'h' });

describe('routes', () => {
  const router = new Router([
    { route: 'invoices', when: { methods: ['POST'], path: '/stripe', body: { type: 'invoice.*' } } },
    { route: 'push', when: { headers: { 'X-GitHub-Event': 'push' } } },
    { route: 'json', when: { path: '/files/*.json' } },
    { route: 'order', when: { body: { 'data.items.0.sku': 'A-1', livemode: 'false' } } },
    { route: 'default', when: {} },
  ]);

  it('first match wins: method, path prefix at a segment boundary, header (any case), JSON field glob', () => {
    const invoice = Buffer.from('{"type":"invoice.paid","id":"evt_1"}');
    expect(router.match(head('POST', '/stripe?x=1'), invoice)).toBe('invoices');
    expect(router.match(head('POST', '/stripe/v2'), invoice)).toBe('invoices');
    expect(router.match(head('POST', '/stripeX'), invoice)).toBe('default');
    expect(router.match(head('GET', '/stripe'), invoice)).toBe('default');
    expect(router.match(head('POST', '/stripe'), Buffer.from('{"type":"charge.succeeded"}'))).toBe('default');
    expect(router.match(head('POST', '/gh', ['x-github-event', 'PUSH']))).toBe('push');
    expect(router.match(head('POST', '/gh', ['X-GitHub-Event', 'issues']))).toBe('default');
    expect(router.match(head('GET', '/files/a/b.json'))).toBe('json');
    expect(router.match(head('GET', '/files/a.txt'))).toBe('default');
    expect(router.match(head('POST', '/o'), Buffer.from('{"livemode":false,"data":{"items":[{"sku":"A-1"}]}}'))).toBe('order');
  });

  it('a body that is not JSON, or longer than what was read, fails body conditions only', () => {
    expect(router.match(head('POST', '/stripe'), Buffer.from('type=invoice.paid'))).toBe('default');
    expect(router.match(head('POST', '/stripe'), Buffer.from('{"type":"invoice.paid"'), false)).toBe('default');
    expect(router.match(head('POST', '/stripe'), undefined)).toBe('default');
    expect(router.needsBody).toBe(true);
    expect(new Router([{ route: 1, when: { path: '/a' } }]).needsBody).toBe(false);
    expect(BODY_MATCH_BYTES).toBe(64 * 1024);
  });

  it('no route at all: undefined', () => {
    expect(new Router([{ route: 'a', when: { path: '/a' } }]).match(head('GET', '/b'))).toBeUndefined();
  });

  it('globs escape everything but * and ?; fields read through objects and arrays only', () => {
    expect(globRegExp('a.b(c)*').test('a.b(c)zz')).toBe(true);
    expect(globRegExp('a.b').test('axb')).toBe(false);
    expect(globRegExp('v?').test('v1')).toBe(true);
    expect(fieldAt({ a: [{ b: 2 }] }, 'a.0.b')).toBe('2');
    expect(fieldAt({ a: 'x' }, 'a.length')).toBeUndefined();
    expect(fieldAt({ a: { b: null } }, 'a.b')).toBeUndefined();
    expect(fieldAt({ a: { b: {} } }, 'a.b')).toBeUndefined();
  });
});
