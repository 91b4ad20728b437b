import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { describe, expect, it, onTestFinished } from 'vitest';
import { connectAgent, ErrorCode, isHooktunnelError, type RelayHandle } from '../../src/index.js';
import { FLAG_FIN, FrameType, decodeFrame, encodeFrame, encodeHeadFrame, type RequestHead } from '../../src/protocol/index.js';
import { runCli, startAgent, startRelay, startTarget } from '../helpers/servers.js';
import { send, splitPublicUrl } from '../helpers/http.js';
import { lacks } from '../helpers/tools.js';

/** A WebSocket client that speaks the handshake and then does whatever the test tells it to. */
async function rogueAgent(relay: RelayHandle): Promise<{ ws: WebSocket; url: string; opened: Promise<{ stream: number; head: RequestHead }>; closed: Promise<number> }> {
  const ws = new WebSocket(`${relay.url.replace('http', 'ws')}/_hooktunnel/connect`, { headers: { 'x-hooktunnel-protocol': '1' } });
  onTestFinished(() => ws.terminate());
  const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
  ws.on('error', () => {});
  await new Promise((r) => ws.on('open', r));
  ws.send(JSON.stringify({ type: 'hello' }));
  const url = await new Promise<string>((resolve) => ws.once('message', (d) => resolve((JSON.parse(d.toString()) as { url: string }).url)));
  const opened = new Promise<{ stream: number; head: RequestHead }>((resolve) =>
    ws.on('message', (d: Buffer, binary) => {
      if (!binary) return;
      const f = decodeFrame(d);
      if (f.type === FrameType.Open) {
        const len = f.payload.readUInt32BE(0);
        resolve({ stream: f.stream, head: JSON.parse(f.payload.toString('utf8', 4, 4 + len)) as RequestHead });
      }
    }),
  );
  return { ws, url, opened, closed };
}

/** A well-behaved tunnel on the same relay, to show that it is unaffected. */
async function bystander(relay: RelayHandle): Promise<() => Promise<void>> {
  const target = await startTarget((_req, res) => res.end('fine'));
  const agent = await startAgent(relay, target.url);
  const { base, prefix } = splitPublicUrl(agent.publicUrl);
  return async () => expect((await send(base, `${prefix}/`)).body.toString()).toBe('fine');
}

describe('an agent cannot hurt the relay', () => {
  it('a frame for a stream never opened closes that connection and is counted', async () => {
    const relay = await startRelay();
    const check = await bystander(relay);
    const rogue = await rogueAgent(relay);

    rogue.ws.send(encodeFrame(FrameType.Data, 0, 999, Buffer.from('junk')));

    expect(await rogue.closed).toBe(4002);
    expect(relay.stats().violations).toBe(1);
    await check();
  });

  it('a status outside 100-599 or a header value with CR/LF: the sender gets 502, the connection is closed', async () => {
    const relay = await startRelay();
    const check = await bystander(relay);
    for (const head of [{ status: 700, headers: [] }, { status: 200, headers: ['X-Evil', 'a\r\nSet-Cookie: stolen=1'] }]) {
      const rogue = await rogueAgent(relay);
      const { base, prefix } = splitPublicUrl(rogue.url);
      const pending = send(base, `${prefix}/x`);
      const { stream } = await rogue.opened;

      rogue.ws.send(encodeHeadFrame(FrameType.Response, FLAG_FIN, stream, head));
      const res = await pending;

      expect(res.status).toBe(502);
      expect(res.headers['set-cookie']).toBeUndefined();
      expect(await rogue.closed).toBe(4002);
    }
    expect(relay.stats().violations).toBe(2);
    await check();
  });

  it('an oversized WebSocket message closes the connection (1009)', async () => {
    const relay = await startRelay();
    const check = await bystander(relay);
    const rogue = await rogueAgent(relay);

    rogue.ws.send(Buffer.alloc(2 * 1024 * 1024));

    expect(await rogue.closed).toBe(1009);
    await check();
  });

  it('a flood of frames for finished streams closes the connection', async () => {
    const relay = await startRelay();
    const check = await bystander(relay);
    const rogue = await rogueAgent(relay);
    const { base, prefix } = splitPublicUrl(rogue.url);
    const pending = send(base, `${prefix}/x`);
    const { stream } = await rogue.opened;
    rogue.ws.send(encodeHeadFrame(FrameType.Response, FLAG_FIN, stream, { status: 204, headers: [] }));
    await pending;

    for (let i = 0; i < 1500; i++) rogue.ws.send(encodeFrame(FrameType.Data, 0, stream, Buffer.from('x')));

    expect(await rogue.closed).toBe(4002);
    expect(relay.stats().violations).toBe(1);
    await check();
  });

  it('a flood of control messages closes the connection, counted once', async () => {
    const relay = await startRelay();
    const check = await bystander(relay);
    const rogue = await rogueAgent(relay);

    for (let i = 0; i < 1500; i++) rogue.ws.send(JSON.stringify({ type: 'ping' }));

    expect(await rogue.closed).toBe(4002);
    expect(relay.stats().violations).toBe(1);
    await check();
  });
});

describe.skipIf(lacks('the TLS tests', 'openssl'))('TLS', () => {
  function makeCertificates(): { dir: string; ca: string; cert: string; key: string } {
    const dir = mkdtempSync(join(tmpdir(), 'hooktunnel-tls-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const run = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=hooktunnel test CA');
    run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'relay.key', '-out', 'relay.csr', '-subj', '/CN=localhost');
    const ext = join(dir, 'ext.cnf');
    execFileSync('sh', ['-c', `printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ${ext}`]);
    run('x509', '-req', '-in', 'relay.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'relay.pem', '-days', '2', '-extfile', ext);
    return { dir, ca: join(dir, 'ca.pem'), cert: join(dir, 'relay.pem'), key: join(dir, 'relay.key') };
  }

  it('serves HTTPS and WSS; the agent verifies the certificate and trusts a private CA only with --ca', { timeout: 60_000 }, async () => {
    const certs = makeCertificates();
    const target = await startTarget((req, res) => res.end(`secure ${req.headers['x-forwarded-proto']}`));
    const relay = runCli(['relay', '--host', '127.0.0.1', '--port', '0', '--tls-cert', certs.cert, '--tls-key', certs.key]);
    const port = /:(\d+) \(TLS\)$/.exec(await relay.waitForLine(/listening/))![1];
    const url = `https://127.0.0.1:${port}`;

    const untrusted = await connectAgent({ relay: url, target: target.url }).catch((e: unknown) => e);
    const cli = runCli([String(target.port), '--relay', url]);
    expect(await cli.exited()).toBe(1);
    expect(cli.stderr()).toMatch(/not trusted.*--ca/);
    expect(isHooktunnelError(untrusted, ErrorCode.RelayUnreachable)).toBe(true);

    const agent = await connectAgent({ relay: url, target: target.url, ca: readFileSync(certs.ca) });
    onTestFinished(() => agent.close());
    expect(agent.publicUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/t\//);
    const body = await new Promise<string>((resolve, reject) => {
      const req = httpsRequest(`${agent.publicUrl}/x`, { ca: readFileSync(certs.ca) }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end();
    });
    expect(body).toBe('secure https');
  });
});
