import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { RequestEvent } from '../../src/agent/events.js';
import { startAgent, startRelay } from '../helpers/servers.js';

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
  });
});
