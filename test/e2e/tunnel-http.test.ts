import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readBody, startAgent, startRelay, startTarget, startTunnel } from '../helpers/servers.js';
import { pausedResponse, rawExchange, send, splitPublicUrl, valuesOf } from '../helpers/http.js';

interface Seen {
  method: string;
  url: string;
  rawHeaders: string[];
  body: Buffer;
}

/** A target that records what it received and answers with the request body. */
function recordingTarget(seen: Seen[]) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    seen.push({ method: req.method!, url: req.url!, rawHeaders: req.rawHeaders, body });
    res.writeHead(200, ['Content-Type', 'application/octet-stream', 'Set-Cookie', 'a=1', 'X-Order', 'first', 'Set-Cookie', 'b=2', 'X-Order', 'second']);
    res.end(body);
  };
}

describe('a request through the tunnel', () => {
  it('reaches the target byte for byte, and the sender gets the real answer', async () => {
    const seen: Seen[] = [];
    const { agent } = await startTunnel(recordingTarget(seen));
    const { base, prefix } = splitPublicUrl(agent.publicUrl);
    const binary = Buffer.concat([randomBytes(200_000), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0x00])]);

    const res = await send(base, `${prefix}/hooks/github?x=1&y=%2F`, { method: 'POST', body: binary, headers: { 'content-type': 'application/octet-stream' } });

    expect(res.status).toBe(200);
    expect(res.body.equals(binary)).toBe(true);
    expect(seen[0]!.url).toBe('/hooks/github?x=1&y=%2F');
    expect(seen[0]!.body.equals(binary)).toBe(true);
  });

  it('carries gzip and invalid UTF-8 bodies unchanged in both directions', async () => {
    const seen: Seen[] = [];
    const { agent } = await startTunnel(recordingTarget(seen));
    const { base, prefix } = splitPublicUrl(agent.publicUrl);
    const gz = gzipSync(Buffer.from(JSON.stringify({ event: 'push', n: 'ü'.repeat(1000) })));
    const latin = Buffer.from([0x80, 0x81, 0xc0, 0xaf, 0xed, 0xa0, 0x80]);

    const a = await send(base, `${prefix}/gz`, { method: 'POST', body: gz, headers: { 'content-encoding': 'gzip' } });
    const b = await send(base, `${prefix}/bad-utf8`, { method: 'PUT', body: latin });

    expect(a.body.equals(gz)).toBe(true);
    expect(b.body.equals(latin)).toBe(true);
    expect(valuesOf(seen[0]!.rawHeaders, 'content-encoding')).toEqual(['gzip']);
  });

  it('keeps header names, order and repeats both ways, and drops hop-by-hop headers', async () => {
    const seen: Seen[] = [];
    const { agent } = await startTunnel(recordingTarget(seen));
    const { base, prefix } = splitPublicUrl(agent.publicUrl);

    const res = await send(base, `${prefix}/h`, {
      method: 'POST',
      body: 'x',
      headers: ['Host', new URL(base).host, 'X-Hub-Signature-256', 'sha256=abc', 'X-Dup', 'one', 'x-dup', 'two', 'Connection', 'keep-alive, X-Secret-Hop', 'X-Secret-Hop', 'hop', 'Keep-Alive', 'timeout=5', 'TE', 'trailers', 'Proxy-Authorization', 'Basic eA==', 'Content-Length', '1'],
    });

    expect(res.status + ' ' + res.body.toString()).toBe('200 x');
    const got = seen[0]!.rawHeaders;
    expect(valuesOf(got, 'x-dup')).toEqual(['one', 'two']);
    expect(got).toContain('X-Hub-Signature-256');
    const names = got.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    expect(names.indexOf('x-hub-signature-256')).toBeLessThan(names.indexOf('x-dup'));
    for (const hop of ['x-secret-hop', 'keep-alive', 'te', 'proxy-authorization']) expect(names).not.toContain(hop);
    expect(valuesOf(res.rawHeaders, 'set-cookie')).toEqual(['a=1', 'b=2']);
    expect(valuesOf(res.rawHeaders, 'x-order')).toEqual(['first', 'second']);
  });

  it('passes a 304 with the Content-Length a 200 would have had (RFC 9110 8.6) and HEAD lengths unchanged', async () => {
    const { agent } = await startTunnel((req, res) => {
      res.writeHead(req.method === 'HEAD' ? 200 : 304, { etag: '"v1"', 'content-length': '12345' });
      res.end();
    });
    const { base, prefix } = splitPublicUrl(agent.publicUrl);
    const events: Array<{ status: number; error?: string }> = [];
    agent.events.on('request', (e) => events.push(e));

    const notModified = await send(base, `${prefix}/asset`, { headers: { 'if-none-match': '"v1"' } });
    const head = await send(base, `${prefix}/asset`, { method: 'HEAD' });

    expect(notModified.status).toBe(304);
    expect(valuesOf(notModified.rawHeaders, 'content-length')).toEqual(['12345']);
    expect(valuesOf(notModified.rawHeaders, 'etag')).toEqual(['"v1"']);
    expect(head.status).toBe(200);
    expect(valuesOf(head.rawHeaders, 'content-length')).toEqual(['12345']);
    expect(events.map((e) => e.error)).toEqual([undefined, undefined]);
  });

  it('rewrites Host to the target and says where the request came from in X-Forwarded-*', async () => {
    const seen: Seen[] = [];
    const { agent, target } = await startTunnel(recordingTarget(seen));
    const { base, prefix } = splitPublicUrl(agent.publicUrl);

    await send(base, `${prefix}/`, { headers: { 'x-forwarded-host': 'spoofed.example', 'x-forwarded-for': '203.0.113.9' } });

    const got = seen[0]!.rawHeaders;
    expect(valuesOf(got, 'host')).toEqual([`127.0.0.1:${target.port}`]);
    expect(valuesOf(got, 'x-forwarded-host')).toEqual([new URL(base).host]);
    expect(valuesOf(got, 'x-forwarded-proto')).toEqual(['http']);
    expect(valuesOf(got, 'x-forwarded-for')).toEqual(['203.0.113.9, 127.0.0.1']);
  });

  it('keeps the public Host with hostHeader preserve', async () => {
    const seen: Seen[] = [];
    const { agent } = await startTunnel(recordingTarget(seen), { agent: { hostHeader: 'preserve' } });
    const { base, prefix } = splitPublicUrl(agent.publicUrl);

    await send(base, `${prefix}/`);

    expect(valuesOf(seen[0]!.rawHeaders, 'host')).toEqual([new URL(base).host]);
  });

  it('passes paths literally: no normalisation of %2F, //, .. and never another host', async () => {
    const seen: Seen[] = [];
    const { agent, relay } = await startTunnel(recordingTarget(seen));
    const id = agent.tunnelId;
    const paths: Array<[string, string]> = [
      [`/t/${id}`, '/'],
      [`/t/${id}?q=1`, '/?q=1'],
      [`/t/${id}/a%2Fb//c/../d?e=%2e%2e`, '/a%2Fb//c/../d?e=%2e%2e'],
      [`/t/${id}//other-host/x`, '//other-host/x'],
      [`/t/${id}/\\other-host/x`, '/\\other-host/x'],
      [`/t/${id}/../other/x`, '/../other/x'],
      [`/t/${id}/%2e%2e/%2e%2e/t/x`, '/%2e%2e/%2e%2e/t/x'],
    ];
    for (const [sent] of paths) {
      const text = await rawExchange(relay.port, `GET ${sent} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      expect(text.startsWith('HTTP/1.1 200')).toBe(true);
    }
    expect(seen.map((s) => s.url)).toEqual(paths.map(([, want]) => want));
  });

  it('puts the base path of a URL target in front of every path', async () => {
    const seen: Seen[] = [];
    const target = await startTarget(recordingTarget(seen));
    const relay = await startRelay();
    const agent = await startAgent(relay, `${target.url}/base/`);
    const id = agent.tunnelId;

    for (const sent of [`/t/${id}`, `/t/${id}?q=1`, `/t/${id}/hooks/a%2Fb?x=%2e%2e`, `/t/${id}//x`]) {
      const text = await rawExchange(relay.port, `GET ${sent} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      expect(text.startsWith('HTTP/1.1 200')).toBe(true);
    }

    expect(agent.target.display).toBe(`${target.url}/base`);
    expect(seen.map((s) => s.url)).toEqual(['/base/', '/base/?q=1', '/base/hooks/a%2Fb?x=%2e%2e', '/base//x']);
  });

  it('refuses absolute-form request targets and CONNECT: the relay is not a proxy', async () => {
    const seen: Seen[] = [];
    const { relay, agent } = await startTunnel(recordingTarget(seen));

    const absolute = await rawExchange(relay.port, `GET http://127.0.0.1:${relay.port}/t/${agent.tunnelId}/x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    const connect = await rawExchange(relay.port, 'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n');

    expect(absolute).toMatch(/^HTTP\/1\.1 400/);
    expect(absolute).toMatch(/X-Hooktunnel-Error: bad_request/i);
    expect(connect).toMatch(/^HTTP\/1\.1 400/);
    expect(seen).toHaveLength(0);
  });

  it('streams chunked request bodies and answers Expect: 100-continue', async () => {
    const seen: Seen[] = [];
    const { relay, agent } = await startTunnel(recordingTarget(seen));
    const head = `POST /t/${agent.tunnelId}/chunked HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`;
    const body = '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n';

    const text = await rawExchange(relay.port, head + body);

    expect(text).toMatch(/^HTTP\/1\.1 100 Continue/);
    expect(text).toMatch(/HTTP\/1\.1 200 OK/);
    expect(seen[0]!.body.toString()).toBe('hello world');
    expect(valuesOf(seen[0]!.rawHeaders, 'expect')).toEqual([]);
  });

  it('routes by Host header with a domain, the path unchanged', async () => {
    const seen: Seen[] = [];
    const { relay, agent } = await startTunnel(recordingTarget(seen), { relay: { domain: 'tunnel.test' }, agent: { subdomain: 'myhooks' } });

    expect(agent.publicUrl).toBe(`http://myhooks.tunnel.test:${relay.port}`);
    const ok = await send(relay.url, '/hooks?x=1', { headers: { host: `MyHooks.Tunnel.Test.:${relay.port}` } });
    const evil = await send(relay.url, '/hooks', { headers: { host: 'myhooks.tunnel.test.evil.net' } });
    const nested = await send(relay.url, '/hooks', { headers: { host: 'a.myhooks.tunnel.test' } });

    expect(ok.status).toBe(200);
    expect(seen.map((s) => s.url)).toEqual(['/hooks?x=1']);
    expect(evil.status).toBe(404);
    expect(nested.status).toBe(404);
  });

  it('keeps many exchanges in flight at once and a slow large body does not stall a small one', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const { agent } = await startTunnel(async (req, res) => {
      if (req.url === '/slow') {
        // Reads the first bytes only, then stalls until the small requests are done.
        await new Promise((r) => req.once('data', r));
        req.pause();
        await gate;
        await readBody(req);
        return void res.end('slow done');
      }
      await readBody(req);
      res.end(req.url);
    });
    const { base, prefix } = splitPublicUrl(agent.publicUrl);

    const slow = send(base, `${prefix}/slow`, { method: 'POST', body: randomBytes(8 * 1024 * 1024) });
    const small = await Promise.all(Array.from({ length: 50 }, (_, i) => send(base, `${prefix}/n${i}`, { method: 'POST', body: `${i}` })));
    release();

    expect(small.map((r) => r.body.toString())).toEqual(Array.from({ length: 50 }, (_, i) => `/n${i}`));
    expect((await slow).body.toString()).toBe('slow done');
  });

  it('a large download its sender does not read does not stall small requests beside it (the window is full)', async () => {
    let started: () => void = () => {};
    const big = new Promise<void>((r) => (started = r));
    const { agent } = await startTunnel(async (req, res) => {
      if (req.url !== '/big') return void res.end(req.url);
      res.writeHead(200, { 'content-length': String(32 * 1024 * 1024) });
      // Writes until the tunnel pushes back: the stream's window and every buffer on the way are then full.
      const chunk = Buffer.alloc(64 * 1024, 2);
      const more = (): void => {
        while (res.write(chunk));
        started();
        res.once('drain', more);
      };
      more();
    });
    const { base, prefix } = splitPublicUrl(agent.publicUrl);
    const res = await pausedResponse(base, `${prefix}/big`);
    await big;

    const small = await Promise.all(Array.from({ length: 20 }, (_, i) => send(base, `${prefix}/n${i}`)));
    res.destroy();

    expect(small.map((r) => r.body.toString())).toEqual(Array.from({ length: 20 }, (_, i) => `/n${i}`));
  });

  it('makes the target wait when the sender reads slowly (backpressure, not buffering)', async () => {
    let written = 0;
    let blocked: (n: number) => void = () => {};
    const blockedAt = new Promise<number>((r) => (blocked = r));
    const chunk = Buffer.alloc(64 * 1024, 1);
    const { agent } = await startTunnel((_req, res) => {
      res.writeHead(200, { 'content-length': String(256 * 1024 * 1024) });
      const more = (): void => {
        while (written < 256 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) {
            blocked(written);
            return void res.once('drain', more);
          }
        }
        res.end();
      };
      more();
    });
    const { base, prefix } = splitPublicUrl(agent.publicUrl);
    const res = await pausedResponse(base, `${prefix}/stream`);

    await blockedAt;
    // Give the pipeline time to fill every buffer it has; the target must stay blocked well short of the body.
    await new Promise((r) => setTimeout(r, 500));
    const stalledAt = written;
    res.destroy();

    expect(stalledAt).toBeLessThan(32 * 1024 * 1024);
  });

  it('streams a large response from the target with flow control', async () => {
    const chunk = randomBytes(64 * 1024);
    const { agent } = await startTunnel((_req, res) => {
      res.writeHead(200, { 'content-length': String(chunk.length * 160) });
      let n = 0;
      const pump = (): void => {
        while (n < 160) {
          n++;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    const { base, prefix } = splitPublicUrl(agent.publicUrl);

    const res = await send(base, `${prefix}/big`);

    expect(res.body.length).toBe(chunk.length * 160);
    expect(res.body.subarray(chunk.length * 159).equals(chunk)).toBe(true);
  });
});
