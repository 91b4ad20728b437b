import { describe, expect, it } from 'vitest';
import { parseTarget } from '../../src/agent/target.js';
import { ErrorCode, isHooktunnelError } from '../../src/errors.js';
import { normaliseHost, route } from '../../src/relay/routing.js';
import { validateTunnelId } from '../../src/relay/tunnel-ids.js';

describe('route', () => {
  it('routes /t/<id> by literal prefix, passing the rest unchanged', () => {
    expect(route('/t/abc', undefined, undefined)).toEqual({ kind: 'tunnel', tunnel: 'abc', path: '/' });
    expect(route('/t/abc?x=1', undefined, undefined)).toEqual({ kind: 'tunnel', tunnel: 'abc', path: '/?x=1' });
    expect(route('/t/abc/../def/x', undefined, undefined)).toEqual({ kind: 'tunnel', tunnel: 'abc', path: '/../def/x' });
    expect(route('/t/ABC/x', undefined, undefined)).toEqual({ kind: 'tunnel', tunnel: 'abc', path: '/x' });
  });

  it('never routes an encoded or empty id', () => {
    expect(route('/t/%61bc/x', undefined, undefined).kind).toBe('none');
    expect(route('/t//x', undefined, undefined).kind).toBe('none');
    expect(route('/t/', undefined, undefined).kind).toBe('none');
  });

  it('keeps the relay paths for the relay', () => {
    expect(route('/_hooktunnel/health', undefined, undefined)).toEqual({ kind: 'relay', path: '/_hooktunnel/health' });
    expect(route('/t/_hooktunnel/health', undefined, undefined).kind).toBe('none');
    expect(route('/', undefined, undefined)).toEqual({ kind: 'home' });
  });

  it('refuses absolute-form and asterisk targets', () => {
    expect(route('http://evil.example/x', undefined, undefined).kind).toBe('bad');
    expect(route('*', undefined, undefined).kind).toBe('bad');
  });

  it('routes <id>.<domain> with the path unchanged, case- and trailing-dot-insensitive', () => {
    expect(route('/x?y', 'abc.tunnel.test', 'tunnel.test')).toEqual({ kind: 'tunnel', tunnel: 'abc', path: '/x?y' });
    expect(route('/x', 'ABC.Tunnel.Test.:8080', 'tunnel.test')).toEqual({ kind: 'tunnel', tunnel: 'abc', path: '/x' });
  });

  it('does not route hosts that merely contain the domain, nested labels, or userinfo', () => {
    expect(route('/x', 'abc.tunnel.test.evil.net', 'tunnel.test').kind).toBe('none');
    expect(route('/x', 'a.b.tunnel.test', 'tunnel.test').kind).toBe('none');
    expect(route('/x', 'eviltunnel.test', 'tunnel.test').kind).toBe('none');
    expect(route('/x', 'user@abc.tunnel.test', 'tunnel.test').kind).toBe('bad');
    expect(route('/x', undefined, 'tunnel.test').kind).toBe('bad');
  });

  it('refuses userinfo, spaces and slashes in Host with path routing too; an empty Host is allowed there', () => {
    for (const host of ['user@relay.test', 'user:pw@relay.test:8080', 'a b', 'relay.test/x', 'relay.test\\x', 'relay.test:http']) {
      expect(route('/t/abc/x', host, undefined)).toMatchObject({ kind: 'bad' });
    }
    expect(route('/t/abc/x', '', undefined).kind).toBe('tunnel');
    expect(route('/t/abc/x', '[::1]:8080', undefined).kind).toBe('tunnel');
  });

  it('still serves path routing on the relay host in domain mode', () => {
    expect(route('/t/abc/x', 'tunnel.test', 'tunnel.test')).toEqual({ kind: 'tunnel', tunnel: 'abc', path: '/x' });
  });
});

describe('normaliseHost', () => {
  it('lower-cases, strips the port and one trailing dot, keeps IPv6 literals', () => {
    expect(normaliseHost('Example.COM.:443')).toBe('example.com');
    expect(normaliseHost('[::1]:8080')).toBe('[::1]');
    expect(normaliseHost('a b')).toBeUndefined();
    expect(normaliseHost('h:port')).toBeUndefined();
  });
});

describe('tunnel ids', () => {
  it('accepts DNS labels and refuses the rest and reserved names', () => {
    expect(() => validateTunnelId('my-hooks-1')).not.toThrow();
    for (const bad of ['-x', 'x-', 'a_b', 'UPPER', 'a'.repeat(64), '', 'www', 'api', 'admin']) {
      let err: unknown;
      try {
        validateTunnelId(bad);
      } catch (e) {
        err = e;
      }
      expect(isHooktunnelError(err, ErrorCode.InvalidTunnelId), bad).toBe(true);
    }
  });
});

describe('parseTarget', () => {
  it('accepts a port, host:port, [v6]:port and URLs with a base path', () => {
    expect(parseTarget('3000')).toMatchObject({ origin: 'http://localhost:3000', basePath: '', host: 'localhost:3000' });
    expect(parseTarget('127.0.0.1:8080')).toMatchObject({ origin: 'http://127.0.0.1:8080', host: '127.0.0.1:8080' });
    expect(parseTarget('[::1]:3000')).toMatchObject({ origin: 'http://[::1]:3000' });
    expect(parseTarget('http://localhost:3000/base/')).toMatchObject({ origin: 'http://localhost:3000', basePath: '/base', display: 'http://localhost:3000/base' });
    expect(parseTarget('https://example.test')).toMatchObject({ origin: 'https://example.test', host: 'example.test' });
  });

  it('refuses ports out of range, junk and other schemes with invalid_argument', () => {
    for (const bad of ['abc', '70000', '0', 'ftp://x:21', 'host:', 'http://u:p@h:1', 'http://h:1/?q', ':3000']) {
      let err: unknown;
      try {
        parseTarget(bad);
      } catch (e) {
        err = e;
      }
      expect(isHooktunnelError(err, ErrorCode.InvalidArgument), bad).toBe(true);
    }
  });
});
