import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { connectAgent, ErrorCode, isHooktunnelError } from '../../src/index.js';
import { readBody, runCli, startAgent, startRelay, startTarget, startTunnel } from '../helpers/servers.js';
import { rawExchange, send, splitPublicUrl } from '../helpers/http.js';

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hooktunnel-sec-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const statusOf = (text: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);

describe('opening tunnels', () => {
  it('requires a valid token when the relay has tokens; a refusal is final', async () => {
    const target = await startTarget((_req, res) => res.end('ok'));
    const relay = await startRelay({ tokens: ['s3cret-token'] });

    const none = await connectAgent({ relay: relay.url, target: target.url }).catch((e: unknown) => e);
    const wrong = await connectAgent({ relay: relay.url, target: target.url, token: 'guess' }).catch((e: unknown) => e);
    const right = await startAgent(relay, target.url, { token: 's3cret-token' });

    expect(isHooktunnelError(none, ErrorCode.Unauthorized)).toBe(true);
    expect((none as Error).message).toMatch(/needs a valid token/);
    expect(isHooktunnelError(wrong, ErrorCode.Unauthorized)).toBe(true);
    const { base, prefix } = splitPublicUrl(right.publicUrl);
    expect((await send(base, `${prefix}/`)).body.toString()).toBe('ok');
  });

  it('the CLI prints the refusal and exits 1 without retrying; secrets never appear in its output', async () => {
    const relay = await startRelay({ tokens: ['s3cret-token'] });
    const refused = runCli(['3000', '--relay', relay.url, '--token', 'wrong-token-value']);
    const accepted = runCli(['3000', '--json', '--relay', relay.url, '--auth', 'alice:pa55word'], { HOOKTUNNEL_TOKEN: 's3cret-token' });

    expect(await refused.exited()).toBe(1);
    expect(refused.stderr()).toMatch(/needs a valid token/);
    await accepted.waitForLine(/"type":"ready"/);
    const everything = refused.stdout() + refused.stderr() + accepted.stdout() + accepted.stderr();
    for (const secret of ['wrong-token-value', 's3cret-token', 'pa55word']) expect(everything).not.toContain(secret);
  });

  it('rereads --tokens-file on SIGHUP', async () => {
    const dir = tempDir();
    const file = join(dir, 'tokens');
    writeFileSync(file, '# agents\nfirst-token\n');
    const relay = runCli(['relay', '--host', '127.0.0.1', '--port', '0', '--tokens-file', file]);
    const url = `http://127.0.0.1:${/:(\d+)$/.exec(await relay.waitForLine(/listening/))![1]}`;
    const first = await connectAgent({ relay: url, target: '3000', token: 'first-token' });
    await first.close();

    writeFileSync(file, 'second-token\n');
    relay.child.kill('SIGHUP');
    await new Promise<void>((resolve) => relay.child.stderr.on('data', (d: Buffer) => /tokens reloaded: 1/.test(d.toString()) && resolve()));
    const old = await connectAgent({ relay: url, target: '3000', token: 'first-token' }).catch((e: unknown) => e);
    const fresh = await connectAgent({ relay: url, target: '3000', token: 'second-token' });
    await fresh.close();

    expect(isHooktunnelError(old, ErrorCode.Unauthorized)).toBe(true);
  });

  it('limits tunnels per token and requests per minute (429 with Retry-After)', async () => {
    const target = await startTarget((_req, res) => res.end('ok'));
    const relay = await startRelay({ tokens: ['t'], limits: { tunnelsPerToken: 1, requestsPerMinute: 3 } });
    const agent = await startAgent(relay, target.url, { token: 't' });

    const second = await connectAgent({ relay: relay.url, target: target.url, token: 't' }).catch((e: unknown) => e);
    const { base, prefix } = splitPublicUrl(agent.publicUrl);
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await send(base, `${prefix}/${i}`));

    expect(isHooktunnelError(second, ErrorCode.RateLimited)).toBe(true);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 429]);
    expect(answers[3]!.headers['x-hooktunnel-error']).toBe('rate_limited');
    expect(Number(answers[3]!.headers['retry-after'])).toBeGreaterThan(0);
  });
});

describe('calling tunnels', () => {
  it('--auth: 401 with WWW-Authenticate unless the sender has the credentials', async () => {
    const seen: string[] = [];
    const { agent } = await startTunnel((req, res) => {
      seen.push(req.url!);
      res.end('in');
    }, { agent: { auth: 'alice:pa55word' } });
    const { base, prefix } = splitPublicUrl(agent.publicUrl);
    const basic = (s: string): string => `Basic ${Buffer.from(s).toString('base64')}`;

    const none = await send(base, `${prefix}/a`);
    const wrong = await send(base, `${prefix}/b`, { headers: { authorization: basic('alice:nope') } });
    const right = await send(base, `${prefix}/c`, { headers: { authorization: basic('alice:pa55word') } });

    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Basic realm=/);
    expect(wrong.status).toBe(401);
    expect(right.status).toBe(200);
    expect(seen).toEqual(['/c']);
  });

  it('--allow-ip: 403 for senders outside the ranges', async () => {
    const outside = await startTunnel((_req, res) => res.end('in'), { agent: { allowIps: ['10.0.0.0/8', '2001:db8::/32'] } });
    const inside = await startTunnel((_req, res) => res.end('in'), { agent: { allowIps: ['127.0.0.0/8'] } });

    const refused = await send(splitPublicUrl(outside.agent.publicUrl).base, `${splitPublicUrl(outside.agent.publicUrl).prefix}/`);
    const allowed = await send(splitPublicUrl(inside.agent.publicUrl).base, `${splitPublicUrl(inside.agent.publicUrl).prefix}/`);

    expect(refused.status).toBe(403);
    expect(refused.headers['x-hooktunnel-error']).toBe('forbidden');
    expect(allowed.status).toBe(200);
  });

  it('refuses an invalid allow range when the tunnel opens', async () => {
    const relay = await startRelay();

    const err = await connectAgent({ relay: relay.url, target: '3000', allowIps: ['not-a-range'] }).catch((e: unknown) => e);

    expect(isHooktunnelError(err, ErrorCode.InvalidArgument)).toBe(true);
  });
});

describe('limits, each hit once, and the relay still answers afterwards', () => {
  async function setup(limits: Parameters<typeof startRelay>[0]) {
    const seen: string[] = [];
    const hold: Array<() => void> = [];
    const { relay, agent, target } = await startTunnel(async (req, res) => {
      seen.push(req.url!);
      await readBody(req);
      if (req.url === '/hold') return void hold.push(() => res.end('held'));
      res.end('ok');
    }, { relay: limits });
    const good = async (): Promise<void> => {
      expect((await send(relay.url, `/t/${agent.tunnelId}/good`)).body.toString()).toBe('ok');
    };
    onTestFinished(() => hold.forEach((h) => h()));
    return { relay, agent, target, seen, hold, good, path: `/t/${agent.tunnelId}` };
  }

  it('431 for a request head over the size limit', async () => {
    const { relay, path, good } = await setup({ limits: { maxHeaderBytes: 4096 } });

    const text = await rawExchange(relay.port, `GET ${path}/ HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n`);

    expect(statusOf(text)).toBe(431);
    await good();
  });

  it('431 for more header lines than the relay forwards, never a truncated set', async () => {
    const { relay, path, seen, good } = await setup({});
    const many = Array.from({ length: 2100 }, (_, i) => `X-H${i}: v\r\n`).join('');

    const text = await rawExchange(relay.port, `GET ${path}/many HTTP/1.1\r\nHost: x\r\n${many}Connection: close\r\n\r\n`);

    expect(statusOf(text)).toBe(431);
    expect(text).toMatch(/headers_too_large/);
    expect(seen).not.toContain('/many');
    await good();
  });

  it('413 for a body over --max-body, by Content-Length up front and while streaming', async () => {
    const { relay, agent, seen, good } = await setup({ limits: { maxBodyBytes: 1000 } });
    const { base, prefix } = splitPublicUrl(agent.publicUrl);

    const announced = await send(base, `${prefix}/big`, { method: 'POST', body: Buffer.alloc(2000) });
    const chunked = await rawExchange(relay.port, `POST ${prefix}/chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${'800\r\n' + 'b'.repeat(0x800) + '\r\n'}0\r\n\r\n`);

    expect(announced.status).toBe(413);
    expect(announced.headers['x-hooktunnel-error']).toBe('body_too_large');
    expect(statusOf(chunked)).toBe(413);
    expect(seen).not.toContain('/big');
    await good();
  });

  it('408 for a sender too slow with its head or its body', async () => {
    const { relay, path, good } = await setup({ limits: { headersTimeoutMs: 1000, bodyIdleTimeoutMs: 1000 } });

    const head = await rawExchange(relay.port, `GET ${path}/ HTTP/1.1\r\nHost: x\r\n`, 8000);
    const body = await rawExchange(relay.port, `POST ${path}/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n${'x'.repeat(70_000)}`, 8000);

    expect(statusOf(head)).toBe(408);
    expect(statusOf(body)).toBe(408);
    expect(body).toMatch(/request_timeout/);
    await good();
  });

  it('503 tunnel_busy beyond the requests in flight per tunnel', async () => {
    const { agent, hold, good } = await setup({ limits: { maxInFlight: 2 } });
    const { base, prefix } = splitPublicUrl(agent.publicUrl);

    const held = [send(base, `${prefix}/hold`), send(base, `${prefix}/hold`)];
    while (hold.length < 2) await new Promise((r) => setTimeout(r, 10));
    const third = await send(base, `${prefix}/third`);
    hold.forEach((h) => h());
    await Promise.all(held);

    expect(third.status).toBe(503);
    expect(third.headers['x-hooktunnel-error']).toBe('tunnel_busy');
    await good();
  });

  it('while the agent is away too: 408 for a stalled body, 503 tunnel_busy beyond the requests in flight', async () => {
    const { relay, agent, target, seen, path, good } = await setup({ limits: { bodyIdleTimeoutMs: 1000, maxInFlight: 2 }, offline: { waitMs: 30_000 } });
    const { secret, tunnelId } = agent;
    await agent.close();

    const stalled = rawExchange(relay.port, `POST ${path}/stalled HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789`, 8000);
    const waits = send(relay.url, `${path}/waits`, { method: 'POST', body: 'x' });
    for (let i = 0; i < 500 && relay.stats().waiting < 2; i++) await new Promise((r) => setTimeout(r, 10));
    const third = await send(relay.url, `${path}/third`);
    const slow = await stalled;
    await startAgent(relay, target.url, { subdomain: tunnelId, secret });

    expect(third.status).toBe(503);
    expect(third.headers['x-hooktunnel-error']).toBe('tunnel_busy');
    expect(statusOf(slow)).toBe(408);
    expect(slow).toMatch(/request_timeout/);
    expect((await waits).status).toBe(200);
    expect(seen).toEqual(['/waits']);
    expect(relay.stats()).toMatchObject({ waiting: 0, kept: 0, dropped: 0 });
    await good();
  });

  it.each([
    ['conflicting Content-Length', 'POST {p}/x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde'],
    ['Content-Length with Transfer-Encoding', 'POST {p}/x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['obs-fold', 'GET {p}/x HTTP/1.1\r\nHost: x\r\nX-A: one\r\n two\r\n\r\n'],
    ['invalid header name', 'GET {p}/x HTTP/1.1\r\nHost: x\r\nBad Header: v\r\n\r\n'],
    ['bad chunk size', 'POST {p}/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n'],
    ['two Host headers', 'GET {p}/x HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n'],
  ])('400 for malformed HTTP (%s), never forwarded', async (_name, raw) => {
    const { relay, path, seen, good } = await setup({});

    const text = await rawExchange(relay.port, raw.replaceAll('{p}', path));

    expect(statusOf(text)).toBe(400);
    expect(seen).not.toContain('/x');
    await good();
  });

  it('400 for userinfo in Host (by subdomain and by path) and a missing Host in subdomain mode', async () => {
    const target = await startTarget((_req, res) => res.end('ok'));
    const relay = await startRelay({ domain: 'hooks.test' });
    await startAgent(relay, target.url, { subdomain: 'demo' });

    const userinfo = await rawExchange(relay.port, 'GET / HTTP/1.1\r\nHost: user@demo.hooks.test\r\nConnection: close\r\n\r\n');
    const plain = await startTunnel((_req, res) => res.end('ok'));
    const byPath = await rawExchange(plain.relay.port, `GET /t/${plain.agent.tunnelId}/ HTTP/1.1\r\nHost: user@127.0.0.1\r\nConnection: close\r\n\r\n`);
    const missing = await rawExchange(relay.port, 'GET / HTTP/1.0\r\n\r\n');
    const good = await send(relay.url, '/', { headers: { host: 'demo.hooks.test' } });

    expect(statusOf(userinfo)).toBe(400);
    expect(statusOf(byPath)).toBe(400);
    expect(statusOf(missing)).toBe(400);
    expect(good.body.toString()).toBe('ok');
  });
});
