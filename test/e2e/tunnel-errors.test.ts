import { createServer, type AddressInfo, type Socket } from 'node:net';
import { createServer as createHttpServer, request } from 'node:http';
import WebSocket from 'ws';
import { describe, expect, it, onTestFinished } from 'vitest';
import { connectAgent, ErrorCode, isHooktunnelError } from '../../src/index.js';
import { runCli, startAgent, startRelay, startTarget, startTunnel } from '../helpers/servers.js';
import { send, splitPublicUrl } from '../helpers/http.js';

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

function errorOf(res: { headers: Record<string, unknown>; body: Buffer }): { header: unknown; code: string; message: string } {
  const body = JSON.parse(res.body.toString()) as { error: { code: string; message: string } };
  return { header: res.headers['x-hooktunnel-error'], ...body.error };
}

describe('errors the sender sees', () => {
  it('404 tunnel_not_found for an unknown tunnel', async () => {
    const relay = await startRelay();

    const res = await send(relay.url, '/t/nosuchtunnel1/hook', { method: 'POST', body: '{}' });

    expect(res.status).toBe(404);
    expect(errorOf(res)).toMatchObject({ header: 'tunnel_not_found', code: 'tunnel_not_found' });
  });

  it('502 upstream_unreachable when the target refuses, and the agent carries on', async () => {
    const relay = await startRelay();
    const port = await closedPort();
    const agent = await startAgent(relay, `127.0.0.1:${port}`);
    const events: unknown[] = [];
    agent.events.on('request', (e) => events.push(e));
    const { base, prefix } = splitPublicUrl(agent.publicUrl);

    const res = await send(base, `${prefix}/hook`, { method: 'POST', body: '{}' });

    expect(res.status).toBe(502);
    const err = errorOf(res);
    expect(err.header).toBe('upstream_unreachable');
    expect(err.message).toContain(`POST /hook -> http://127.0.0.1:${port} failed: connection refused`);
    expect(events).toMatchObject([{ type: 'request', status: 502, error: 'upstream_unreachable' }]);
    // The agent carries on: the next request gets the same clear answer.
    const again = await send(base, `${prefix}/hook`);
    expect(again.status).toBe(502);
  });

  it('504 upstream_timeout when the target is too slow', async () => {
    const pending: Array<() => void> = [];
    const target = await startTarget((_req, res) => pending.push(() => res.end('late')));
    const relay = await startRelay();
    const agent = await startAgent(relay, target.url, { timeoutMs: 300 });
    const { base, prefix } = splitPublicUrl(agent.publicUrl);

    const started = Date.now();
    const res = await send(base, `${prefix}/slow`);

    expect(res.status).toBe(504);
    expect(errorOf(res).header).toBe('upstream_timeout');
    expect(Date.now() - started).toBeLessThan(5000);
    for (const p of pending) p();
  });

  // A chunked response is the case that could pass for complete: its end is the relay's last chunk, not a length.
  it.each([
    ['a Content-Length body, reset', { 'content-length': '100000' }, 'destroy'],
    ['a chunked body, reset', {}, 'destroy'],
    ['a chunked body, closed', {}, 'end'],
  ] as const)('an aborted response when the target stops mid-response (%s), never one that looks complete', async (_name, headers, how) => {
    const { agent } = await startTunnel((_req, res) => {
      res.writeHead(200, headers);
      res.write(Buffer.alloc(30_000, 1));
      setTimeout(() => (how === 'destroy' ? res.socket?.destroy() : res.socket?.end()), 50);
    });
    const { base, prefix } = splitPublicUrl(agent.publicUrl);
    const url = new URL(base);

    const outcome = await new Promise<string>((resolve) => {
      const req = request({ host: url.hostname, port: url.port, path: `${prefix}/x`, agent: false }, (res) => {
        let n = 0;
        res.on('data', (c: Buffer) => (n += c.length));
        res.on('end', () => resolve(`complete ${n}`));
        res.on('aborted', () => resolve('aborted'));
        res.on('error', () => resolve('aborted'));
      });
      req.on('error', () => resolve('aborted'));
      req.end();
    });

    expect(outcome).toBe('aborted');
  });

  it('502 agent_disconnected when the agent goes away mid-exchange, quickly', async () => {
    let arrived: () => void = () => {};
    const got = new Promise<void>((r) => (arrived = r));
    const target = await startTarget(() => arrived());
    const relay = await startRelay();
    const agent = await connectAgent({ relay: relay.url, target: target.url });
    const { base, prefix } = splitPublicUrl(agent.publicUrl);

    const pending = send(base, `${prefix}/hang`);
    await got;
    const closedAt = Date.now();
    await agent.close();
    const res = await pending;

    expect(res.status).toBe(502);
    expect(errorOf(res).header).toBe('agent_disconnected');
    expect(Date.now() - closedAt).toBeLessThan(3000);
  });
});

describe('the handshake', () => {
  it('refuses another protocol version with a message the agent can print', async () => {
    const relay = await startRelay();
    const ws = new WebSocket(`${relay.url.replace('http', 'ws')}/_hooktunnel/connect`, { headers: { 'x-hooktunnel-protocol': '99' } });

    const refusal = await new Promise<{ status: number; body: string }>((resolve) => {
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      ws.on('error', () => {});
    });

    expect(refusal.status).toBe(426);
    expect(JSON.parse(refusal.body)).toMatchObject({ error: { code: 'protocol_unsupported' } });
    expect(refusal.body).toContain('speaks hooktunnel protocol 1');
  });

  it('the agent prints the refusal of a relay that speaks another protocol version and exits 1', async () => {
    // Stands in for a relay of another version: it refuses the upgrade the way every hooktunnel relay does.
    const other = createHttpServer((_req, res) => res.end());
    other.on('upgrade', (_req, socket: Socket) => {
      const body = JSON.stringify({ error: { code: 'protocol_unsupported', message: 'this relay speaks hooktunnel protocol 2, the agent speaks 1: upgrade the older side' } });
      socket.end(`HTTP/1.1 426 Upgrade Required\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    onTestFinished(() => new Promise<void>((r) => other.close(() => r())));
    const { port } = other.address() as AddressInfo;

    const cli = runCli(['3000', '--relay', `http://127.0.0.1:${port}`]);

    expect(await cli.exited()).toBe(1);
    expect(cli.stderr().trim()).toBe('error relay refused the connection: this relay speaks hooktunnel protocol 2, the agent speaks 1: upgrade the older side');
  });

  it('fails fast with relay_unreachable when nothing listens', async () => {
    const port = await closedPort();

    const err = await connectAgent({ relay: `http://127.0.0.1:${port}`, target: '3000' }).catch((e: unknown) => e);

    expect(isHooktunnelError(err, ErrorCode.RelayUnreachable)).toBe(true);
    expect((err as Error).message).toContain('connection refused');
  });

  it('gives a requested tunnel id to its owner only', async () => {
    const relay = await startRelay();
    const target = await startTarget((_req, res) => res.end('ok'));
    const first = await startAgent(relay, target.url, { subdomain: 'stable-name' });

    const thief = await connectAgent({ relay: relay.url, target: target.url, subdomain: 'stable-name' }).catch((e: unknown) => e);
    const bad = await connectAgent({ relay: relay.url, target: target.url, subdomain: 'Not_A_Label' }).catch((e: unknown) => e);
    const reserved = await connectAgent({ relay: relay.url, target: target.url, subdomain: 'admin' }).catch((e: unknown) => e);

    expect(first.tunnelId).toBe('stable-name');
    expect(isHooktunnelError(thief, ErrorCode.TunnelTaken)).toBe(true);
    expect(isHooktunnelError(bad, ErrorCode.InvalidTunnelId)).toBe(true);
    expect(isHooktunnelError(reserved, ErrorCode.InvalidTunnelId)).toBe(true);
    const owner = await startAgent(relay, target.url, { subdomain: 'stable-name', secret: first.secret });
    expect(owner.tunnelId).toBe('stable-name');
  });

  it('keeps a disconnected id reserved for its owner for --reservation, then frees it', async () => {
    const target = await startTarget((_req, res) => res.end('ok'));
    const reserving = await startRelay();
    const forgetful = await startRelay({ reservationMs: 0 });
    const ids: Record<string, string> = {};
    for (const relay of [reserving, forgetful]) {
      const first = await connectAgent({ relay: relay.url, target: target.url, subdomain: 'held-name' });
      ids[relay.url] = first.secret;
      await first.close();
    }

    const thief = await connectAgent({ relay: reserving.url, target: target.url, subdomain: 'held-name' }).catch((e: unknown) => e);
    const owner = await startAgent(reserving, target.url, { subdomain: 'held-name', secret: ids[reserving.url] });
    const newcomer = await startAgent(forgetful, target.url, { subdomain: 'held-name' });

    expect(isHooktunnelError(thief, ErrorCode.TunnelTaken)).toBe(true);
    expect(owner.tunnelId).toBe('held-name');
    expect(newcomer.tunnelId).toBe('held-name');
    expect(newcomer.secret).not.toBe(ids[forgetful.url]);
  });

  it('random tunnel ids are long, lower-case and DNS-safe', async () => {
    const { agent } = await startTunnel((_req, res) => res.end());

    expect(agent.tunnelId).toMatch(/^[a-z0-9]{12}$/);
  });
});
