import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { RequestEvent } from '../../src/agent/events.js';
import { attachRecorder, listCaptures, openCaptureStore } from '../../src/index.js';
import { FrameType, decodeFrame, encodeHeadFrame } from '../../src/protocol/index.js';
import { rawExchange } from '../helpers/http.js';
import { startAgent, startRelay, startTarget } from '../helpers/servers.js';
import { cli, dataDir } from './capture-fixtures.js';

/** A WebSocket echo server (ws) on an ephemeral loopback port: every message comes back as it came, text or binary. */
async function echoTarget(onConnection?: (ws: WebSocket, req: IncomingMessage) => void): Promise<{ url: string; server: Server; wss: WebSocketServer }> {
  const server = createServer((_req, res) => res.end('plain'));
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws, req) => {
    if (onConnection) return onConnection(ws, req);
    ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(async () => {
    for (const c of wss.clients) c.terminate();
    server.closeAllConnections();
    await new Promise<void>((resolve) => wss.close(() => server.close(() => resolve())));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, wss };
}

/** Resolves once the relay has no stream in flight (its side of a closed connection is done), bounded. */
async function drained(relay: { stats(): { inFlight: number } }): Promise<number> {
  for (let i = 0; i < 200 && relay.stats().inFlight > 0; i++) await new Promise((r) => setTimeout(r, 10));
  return relay.stats().inFlight;
}

function wsUrl(publicUrl: string, path = '/socket'): string {
  return `${publicUrl.replace(/^http/, 'ws')}${path}`;
}

function opened(ws: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
}

function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

/** The next `request` event of the agent whose status is 101 (an upgraded connection that ended). */
function upgradeEnded(events: NodeJS.EventEmitter): Promise<RequestEvent> {
  return new Promise((resolve) => {
    const on = (e: RequestEvent): void => {
      if (e.status !== 101) return;
      events.off('request', on);
      resolve(e);
    };
    events.on('request', on);
  });
}

describe('WebSocket through a tunnel', () => {
  it('echoes 1 MiB of binary and text messages both ways byte-exact, and counts them', async () => {
    const target = await echoTarget();
    const relay = await startRelay();
    const agent = await startAgent(relay, target.url);
    const dir = dataDir();
    const store = openCaptureStore(dir);
    onTestFinished(() => store.close());
    attachRecorder(agent.events, store, (err) => {
      throw err;
    });
    const ended = upgradeEnded(agent.events);
    const ws = new WebSocket(wsUrl(agent.publicUrl));
    await opened(ws);
    const sent = createHash('sha256');
    const got = createHash('sha256');
    const messages: Array<Buffer | string> = [];
    for (let i = 0; i < 64; i++) messages.push(i % 2 === 0 ? randomBytes(16 * 1024) : `text ${i} `.padEnd(16 * 1024, "x"));
    let received = 0;
    let receivedBytes = 0;
    const all = new Promise<void>((resolve, reject) => {
      ws.on('message', (data: Buffer, isBinary) => {
        const expected = messages[received]!;
        if (isBinary !== Buffer.isBuffer(expected)) reject(new Error(`message ${received} came back as ${isBinary ? 'binary' : 'text'}`));
        got.update(data);
        receivedBytes += data.length;
        if (++received === messages.length) resolve();
      });
    });
    for (const m of messages) {
      sent.update(typeof m === 'string' ? Buffer.from(m) : m);
      ws.send(m);
    }
    await all;
    expect(receivedBytes).toBe(1024 * 1024);
    expect(got.digest('hex')).toBe(sent.digest('hex'));
    const done = closed(ws);
    ws.close(1000, 'bye');
    expect((await done).code).toBe(1000);
    const e = await ended;
    expect(e.upgrade).toMatchObject({ protocol: 'websocket', messagesIn: 64, messagesOut: 64 });
    expect(e.upgrade!.bytesIn).toBeGreaterThan(1024 * 1024);
    expect(e.upgrade!.bytesOut).toBeGreaterThan(1024 * 1024);
    expect(e.error).toBeUndefined();
    store.flush();
    const [capture] = listCaptures(store, 10);
    expect(capture).toMatchObject({ id: e.id, method: 'GET', path: '/socket', status: 101, complete: true, upgrade: e.upgrade, requestBytes: 0, responseBytes: 0 });
    expect(capture!.requestHeaders.map((h) => h.toLowerCase())).toContain('sec-websocket-key');
    expect(capture!.responseHeaders!.map((h) => h.toLowerCase())).toContain('sec-websocket-accept');
    // Another process reads it: `requests --json` and `show --json` carry the summary.
    const listed = JSON.parse((await cli(['requests', '--json'], dir)).out.trim()) as { upgrade?: unknown };
    expect(listed.upgrade).toEqual(e.upgrade);
    const shown = JSON.parse((await cli(['show', e.id, '--json'], dir)).out) as { upgrade: unknown; response: { status: number } };
    expect(shown).toMatchObject({ upgrade: e.upgrade, response: { status: 101 } });
    // Its messages are not stored: replaying it is refused, and nothing reaches the target.
    let plainRequests = 0;
    target.server.on('request', () => plainRequests++);
    const replayed = await cli(['replay', e.id, '--to', target.url], dir);
    expect(replayed.code).toBe(1);
    expect(replayed.err).toContain(`capture ${e.id} is an upgraded connection (websocket): its messages passed through without being captured, so it cannot be sent again`);
    expect(plainRequests).toBe(0);
  });

  it('a target that cannot be reached gives the client 502 upstream_unreachable', async () => {
    const gone = await startTarget((_req, res) => res.end());
    await gone.close();
    const relay = await startRelay();
    const agent = await startAgent(relay, gone.url);
    const events: RequestEvent[] = [];
    agent.events.on('request', (e) => events.push(e));
    const ws = new WebSocket(wsUrl(agent.publicUrl));
    ws.on('error', () => {});
    const answer = await new Promise<{ status: number; code: unknown }>((resolve) =>
      ws.on('unexpected-response', (_req, res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, code: res.headers['x-hooktunnel-error'] });
      }),
    );
    expect(answer).toEqual({ status: 502, code: 'upstream_unreachable' });
    expect(await drained(relay)).toBe(0);
    expect(events.map((e) => [e.status, e.error])).toEqual([[502, 'upstream_unreachable']]);
  });

  it('the target closing closes the client, and the client closing closes the target; no stream is left open', async () => {
    const serverSide: WebSocket[] = [];
    const targetClosed: Array<Promise<{ code: number; reason: string }>> = [];
    const target = await echoTarget((ws) => {
      serverSide.push(ws);
      targetClosed.push(closed(ws));
      ws.on('message', (data) => {
        if (data.toString() === 'close me') ws.close(4000, 'target says bye');
      });
    });
    const relay = await startRelay();
    const agent = await startAgent(relay, target.url);

    // The target closes.
    let ended = upgradeEnded(agent.events);
    const first = new WebSocket(wsUrl(agent.publicUrl));
    await opened(first);
    const firstClosed = closed(first);
    first.send('close me');
    expect(await firstClosed).toEqual({ code: 4000, reason: 'target says bye' });
    expect((await ended).error).toBeUndefined();

    // The client closes.
    ended = upgradeEnded(agent.events);
    const second = new WebSocket(wsUrl(agent.publicUrl));
    await opened(second);
    second.close(4001, 'client says bye');
    expect(await targetClosed[1]!).toEqual({ code: 4001, reason: 'client says bye' });
    const e = await ended;
    expect(e.error).toBeUndefined();
    expect(e.upgrade?.protocol).toBe('websocket');
    expect(await drained(relay)).toBe(0);
    expect(agent.inFlight()).toBe(0);
  });

  it('a client that vanishes (socket destroyed) ends the target side too', async () => {
    const targetClosed: Array<Promise<{ code: number; reason: string }>> = [];
    const target = await echoTarget((ws) => void targetClosed.push(closed(ws)));
    const relay = await startRelay();
    const agent = await startAgent(relay, target.url);
    const ended = upgradeEnded(agent.events);
    const ws = new WebSocket(wsUrl(agent.publicUrl));
    await opened(ws);
    ws.terminate();
    // No close frame came: the target sees an abnormal closure.
    expect((await targetClosed[0]!).code).toBe(1006);
    await ended;
    expect(await drained(relay)).toBe(0);
    expect(agent.inFlight()).toBe(0);
  });

  it('any Upgrade protocol passes, and a half-close reaches the other end while the other direction goes on', async () => {
    const target = await startTarget((_req, res) => res.end());
    target.server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${req.headers.upgrade}\r\nX-Seen-Upgrade: ${req.headers.upgrade}\r\n\r\n`);
      const got: Buffer[] = [];
      socket.on('data', (c: Buffer) => got.push(c));
      // The sender's half-close arrives as an end; this side still writes, then ends too.
      socket.on('end', () => socket.end(`you sent ${Buffer.concat(got).length} bytes: ${Buffer.concat(got).toString()}`));
    });
    const relay = await startRelay();
    const agent = await startAgent(relay, target.url);
    const ended = upgradeEnded(agent.events);
    const { port, pathname } = { port: Number(new URL(relay.url).port), pathname: new URL(agent.publicUrl).pathname };
    const socket = connect(port, '127.0.0.1');
    onTestFinished(() => void socket.destroy());
    socket.write(`GET ${pathname}/raw HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: x-echo/1\r\n\r\nearly bytes;`);
    let text = '';
    const done = new Promise<void>((resolve) => {
      socket.setEncoding('latin1').on('data', (c: string) => {
        text += c;
        if (text.includes('\r\n\r\n') && !socket.writableEnded) socket.end(' and more');
      });
      socket.on('end', () => resolve());
    });
    await done;
    const [head, body] = text.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(head).toMatch(/\r\nX-Seen-Upgrade: x-echo\/1/);
    expect(head).toMatch(/\r\nUpgrade: x-echo\/1/);
    expect(body).toBe('you sent 21 bytes: early bytes; and more');
    const e = await ended;
    expect(e.error).toBeUndefined();
    expect(e.upgrade).toEqual({ protocol: 'x-echo/1', messagesIn: 0, messagesOut: 0, bytesIn: 21, bytesOut: 40 });
    expect(await drained(relay)).toBe(0);
  });

  it('a target that answers the upgrade with 400 gives the client that 400 and its body', async () => {
    const target = await startTarget((_req, res) => res.end());
    target.server.on('upgrade', (_req, socket) => {
      socket.end('HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 15\r\nX-Why: no\r\n\r\nnot a websocket');
    });
    const relay = await startRelay();
    const agent = await startAgent(relay, target.url);
    const requests: RequestEvent[] = [];
    agent.events.on('request', (e) => requests.push(e));
    const ws = new WebSocket(wsUrl(agent.publicUrl));
    ws.on('error', () => {});
    const answer = await new Promise<{ status: number; why: string | undefined; body: string }>((resolve) =>
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, why: res.headers['x-why'] as string | undefined, body }));
      }),
    );
    expect(answer).toEqual({ status: 400, why: 'no', body: 'not a websocket' });
  });

  it('an agent that does not announce upgrades (an older one) makes the relay answer 501 at once', async () => {
    const relay = await startRelay();
    const old = new WebSocket(`${relay.url.replace('http', 'ws')}/_hooktunnel/connect`, { headers: { 'x-hooktunnel-protocol': '1' } });
    onTestFinished(() => old.terminate());
    old.on('error', () => {});
    await opened(old);
    old.send(JSON.stringify({ type: 'hello' }));
    const url = await new Promise<string>((resolve) => old.once('message', (d) => resolve((JSON.parse(d.toString()) as { url: string }).url)));
    let frames = 0;
    old.on('message', (_d, binary) => void (binary && frames++));
    const port = Number(new URL(relay.url).port);
    const text = await rawExchange(
      port,
      `GET ${new URL(url).pathname}/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    );
    expect(text).toMatch(/^HTTP\/1\.1 501 /);
    expect(text).toMatch(/upgrade_not_supported/);
    expect(text).toMatch(/older than this relay/);
    expect(frames).toBe(0);
  });

  it('an agent that answers an upgrade with a header that is not valid HTTP is cut off; the sender gets 502, nothing injected', async () => {
    const relay = await startRelay();
    const rogue = new WebSocket(`${relay.url.replace('http', 'ws')}/_hooktunnel/connect`, { headers: { 'x-hooktunnel-protocol': '1' } });
    onTestFinished(() => rogue.terminate());
    rogue.on('error', () => {});
    await opened(rogue);
    rogue.send(JSON.stringify({ type: 'hello', features: ['upgrade'] }));
    const url = await new Promise<string>((resolve) => rogue.once('message', (d) => resolve((JSON.parse(d.toString()) as { url: string }).url)));
    const rogueClosed = closed(rogue);
    rogue.on('message', (d: Buffer, binary) => {
      if (!binary) return;
      const f = decodeFrame(d);
      if (f.type !== FrameType.Open) return;
      rogue.send(encodeHeadFrame(FrameType.Response, 0, f.stream, { status: 101, headers: ['X-Evil', 'a\r\nSet-Cookie: owned=1'], upgrade: 'websocket' }));
    });
    const text = await rawExchange(
      Number(new URL(relay.url).port),
      `GET ${new URL(url).pathname}/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    );
    expect(text).toMatch(/^HTTP\/1\.1 502 /);
    expect(text).not.toMatch(/Set-Cookie|X-Evil/i);
    expect((await rogueClosed).code).toBe(4002);
    expect(relay.stats().violations).toBe(1);
  });

  it('an idle upgraded connection is closed at both ends after the relay\'s idle timeout', async () => {
    const targetClosed: Array<Promise<{ code: number; reason: string }>> = [];
    const target = await echoTarget((ws) => void targetClosed.push(closed(ws)));
    const relay = await startRelay({ limits: { upgradeIdleTimeoutMs: 300 } });
    const agent = await startAgent(relay, target.url);
    const ended = upgradeEnded(agent.events);
    const ws = new WebSocket(wsUrl(agent.publicUrl));
    await opened(ws);
    const clientClosed = closed(ws);
    expect((await clientClosed).code).toBe(1006);
    expect((await targetClosed[0]!).code).toBe(1006);
    expect((await ended).error).toBe('upgrade_idle_timeout');
  });

  it('upgraded connections count toward the tunnel\'s requests in flight', async () => {
    const target = await echoTarget();
    const relay = await startRelay({ limits: { maxInFlight: 1 } });
    const agent = await startAgent(relay, target.url);
    const first = new WebSocket(wsUrl(agent.publicUrl));
    await opened(first);
    onTestFinished(() => first.terminate());
    const second = new WebSocket(wsUrl(agent.publicUrl));
    second.on('error', () => {});
    const status = await new Promise<number>((resolve) => second.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(503);
  });

  it('a stalled client holds the target back by flow control, then receives every byte', async () => {
    const total = 16 * 1024 * 1024;
    let sentByTarget = 0;
    const target = await echoTarget((ws) => {
      const chunk = Buffer.alloc(256 * 1024, 7);
      // Send as fast as the socket takes it; what is buffered in the target's socket says how far it got.
      const pump = (): void => {
        while (sentByTarget < total && ws.bufferedAmount < 1024 * 1024) {
          ws.send(chunk);
          sentByTarget += chunk.length;
        }
        if (sentByTarget < total) setTimeout(pump, 5);
      };
      ws.on('message', (m) => {
        if (m.toString() === 'go') pump();
      });
    });
    const relay = await startRelay();
    const agent = await startAgent(relay, target.url);
    const ws = new WebSocket(wsUrl(agent.publicUrl));
    await opened(ws);
    let received = 0;
    const all = new Promise<void>((resolve) =>
      ws.on('message', (d: Buffer) => {
        received += d.length;
        if (received === total) resolve();
      }),
    );
    // Stop reading the client's socket: the relay's window to the agent, then the agent's reads of the target stop.
    (ws as unknown as { _socket: import('node:net').Socket })._socket.pause();
    ws.send('go');
    // Wait until the target can send no more (its sends stop growing), bounded.
    let last = -1;
    for (let i = 0; i < 200 && sentByTarget !== last; i++) {
      last = sentByTarget;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(sentByTarget).toBeLessThan(total);
    (ws as unknown as { _socket: import('node:net').Socket })._socket.resume();
    await all;
    expect(received).toBe(total);
    ws.close();
  });
});

describe('streaming responses through a tunnel', () => {
  it('server-sent events reach the client as they are produced', async () => {
    let acknowledge: (() => void) | undefined;
    const acked = new Promise<void>((resolve) => (acknowledge = resolve));
    const target = await startTarget((req, res) => {
      if (req.url === '/ack') {
        acknowledge!();
        return res.end('ok');
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('data: first\n\n');
      // The second event only once the client has said (on a side channel) that the first one arrived.
      void acked.then(() => res.end('data: second\n\n'));
    });
    const relay = await startRelay();
    const agent = await startAgent(relay, target.url);
    const order: string[] = [];
    const res = await fetch(`${agent.publicUrl}/events`);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    for (let i = 0; i < 100; i++) {
      const { value, done } = await reader.read();
      if (done) {
        order.push('end');
        break;
      }
      text += Buffer.from(value).toString();
      if (text.includes('data: first\n\n') && !order.includes('first')) {
        order.push('first');
        await fetch(`${target.url}/ack`).then((r) => r.text());
      }
      if (text.includes('data: second\n\n') && !order.includes('second')) order.push('second');
    }
    expect(order).toEqual(['first', 'second', 'end']);
  });

  it('a 20 MiB streamed response is captured while it passes (on disk midway, capped at the capture limit)', async () => {
    const dir = dataDir();
    const total = 20 * 1024 * 1024;
    const half = 12 * 1024 * 1024;
    let resumeTarget: (() => void) | undefined;
    const resumed = new Promise<void>((resolve) => (resumeTarget = resolve));
    const block = Buffer.alloc(64 * 1024, 'a');
    const target = await startTarget(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const write = async (bytes: number): Promise<void> => {
        for (let n = 0; n < bytes; n += block.length) if (!res.write(block)) await new Promise((r) => res.once('drain', r));
      };
      await write(half);
      await resumed;
      await write(total - half);
      res.end();
    });
    const relay = await startRelay();
    const agent = await startAgent(relay, target.url);
    const store = openCaptureStore(dir, { maxBodyBytes: 10 * 1024 * 1024 });
    onTestFinished(() => store.close());
    attachRecorder(agent.events, store, (err) => {
      throw err;
    });
    const res = await fetch(`${agent.publicUrl}/big`);
    const reader = res.body!.getReader();
    const hash = createHash('sha256');
    let received = 0;
    let midway: { file: number } | undefined;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      hash.update(value);
      received += value.length;
      if (!midway && received === half) {
        // The target waits here: what the capture holds must already be on disk, not in the recorder's memory.
        const { readdirSync, statSync } = await import('node:fs');
        const { join } = await import('node:path');
        let file = 0;
        for (let i = 0; i < 100 && file < 9 * 1024 * 1024; i++) {
          const files = readdirSync(join(dir, 'bodies')).filter((f) => f.endsWith('.res'));
          file = files.length ? statSync(join(dir, 'bodies', files[0]!)).size : 0;
          if (file < 9 * 1024 * 1024) await new Promise((r) => setTimeout(r, 20));
        }
        midway = { file };
        resumeTarget!();
      }
    }
    expect(received).toBe(total);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(Buffer.alloc(total, 'a')).digest('hex'));
    expect(midway!.file).toBeGreaterThanOrEqual(9 * 1024 * 1024);
    // Midway (12 MiB passed, the target waiting) the capture's 10 MiB are already in the body file: the recorder
    // writes as the body passes (it buffers at most 64 KiB per body) instead of holding the stream until it ends.
    store.flush();
    const [capture] = listCaptures(store, 10);
    expect(capture).toMatchObject({ path: '/big', status: 200, responseBytes: total, responseTruncated: true, complete: true });
  });
});
