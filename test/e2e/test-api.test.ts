import { existsSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Stripe from 'stripe';
import { describe, expect, it, onTestFinished } from 'vitest';
import { openTestTunnel, type HooktunnelError, type TestTunnel } from '../../src/index.js';
import { send, splitPublicUrl } from '../helpers/http.js';
import { SECRETS } from '../helpers/providers.js';
import { readBody, startTarget } from '../helpers/servers.js';

/** A target that answers `echo:<body>` with status 202, and records nothing itself: the tunnel's exchanges say it all. */
async function echoTarget(): Promise<number> {
  const target = await startTarget(async (req, res) => {
    const body = await readBody(req);
    res.statusCode = req.url === '/missing' ? 404 : 202;
    res.setHeader('content-type', 'text/plain');
    res.end(Buffer.concat([Buffer.from('echo:'), body]));
  });
  return target.port;
}

async function tunnelFor(port: number, options: Parameters<typeof openTestTunnel>[1] = {}): Promise<TestTunnel> {
  const tunnel = await openTestTunnel(port, options);
  onTestFinished(() => tunnel.close());
  return tunnel;
}

/** Resolves with the error code of a TCP connection to 127.0.0.1:port (`connected` if it was accepted). */
function dial(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve('connected')));
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });
}

describe('openTestTunnel', () => {
  it('waitFor resolves with an exchange that arrived before it was called, and with one that arrives after, bodies as Buffers', async () => {
    const tunnel = await tunnelFor(await echoTarget());
    const { base, prefix } = splitPublicUrl(tunnel.publicUrl);
    await send(base, `${prefix}/early?x=1`, { method: 'PUT', body: Buffer.from([0, 255]), headers: { 'x-kind': 'first' } });

    const early = await tunnel.waitFor({ method: 'put', path: '/early', header: { 'X-Kind': 'first' } }, { timeoutMs: 2000 });
    const later = tunnel.waitFor({ path: /^\/later/, where: (e) => e.request.body.toString() === 'two' });
    await send(base, `${prefix}/later`, { method: 'POST', body: 'one' });
    await send(base, `${prefix}/later`, { method: 'POST', body: 'two' });
    const second = await later;

    expect(early.path).toBe('/early?x=1');
    expect(early.request.body.equals(Buffer.from([0, 255]))).toBe(true);
    expect(early.response).toMatchObject({ status: 202 });
    expect(early.response!.body.equals(Buffer.concat([Buffer.from('echo:'), Buffer.from([0, 255])]))).toBe(true);
    expect(early.response!.header('Content-Type')).toBe('text/plain');
    expect(second.request.body.toString()).toBe('two');
    expect(second.response!.body.toString()).toBe('echo:two');
    // Taken exchanges are not handed out twice; the untaken `one` still is.
    await expect(tunnel.waitFor({ path: '/early' }, { timeoutMs: 200 })).rejects.toThrow(/PUT \/early\?x=1 202 \(taken by an earlier waitFor\)/);
    expect((await tunnel.waitFor({ path: '/later' })).request.body.toString()).toBe('one');
    expect(tunnel.exchanges().map((e) => e.path)).toEqual(['/early?x=1', '/later', '/later']);
  });

  it('send: a Stripe event signed through the public URL, verified, recognised by provider and event; replay re-signs it', async () => {
    const tunnel = await tunnelFor(await echoTarget(), { verify: { stripe: SECRETS.stripe } });

    const answer = await tunnel.send('stripe', 'checkout.session.completed', { path: '/hooks/stripe' });
    const got = await tunnel.waitFor({ provider: 'stripe', event: 'checkout.session.completed' });
    const replayed = await tunnel.replay(got.id);

    expect(answer.status).toBe(202);
    expect(answer.body.toString()).toMatch(/^echo:\{/);
    expect(got).toMatchObject({ method: 'POST', path: '/hooks/stripe', signature: { status: 'valid', provider: 'stripe' } });
    const event = new Stripe('sk_test_x').webhooks.constructEvent(got.request.body, got.request.header('stripe-signature')!, SECRETS.stripe);
    expect(event.type).toBe('checkout.session.completed');
    expect(replayed).toMatchObject({ replayOf: got.id, status: 202, signature: { status: 'valid', provider: 'stripe' } });
    expect(replayed.request.body.equals(got.request.body)).toBe(true);
    await expect(tunnel.send('stripe', 'no.such.event')).rejects.toThrow(/no sample "no.such.event" for stripe/);
    await expect(tunnel.send('github', 'push')).rejects.toThrow(/no secret for github/);
  });

  it('replay of a fixture file: sent to the target, collected as a replay', async () => {
    const tunnel = await tunnelFor(await echoTarget());
    const dir = mkdtempSync(join(tmpdir(), 'hooktunnel-api-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'hello.json');
    writeFileSync(file, JSON.stringify({ format: 1, method: 'POST', path: '/fixture', headers: [['X-From', 'file']], body: 'hi', bodyEncoding: 'utf8' }));

    const e = await tunnel.replay(file);

    expect(e).toMatchObject({ replayOf: 'hello.json', path: '/fixture', status: 202 });
    expect(e.response!.body.toString()).toBe('echo:hi');
    expect(e.request.header('x-from')).toBe('file');
  });

  it('waitFor times out with a message listing what arrived instead (or that nothing did)', async () => {
    const tunnel = await tunnelFor(await echoTarget());
    const { base, prefix } = splitPublicUrl(tunnel.publicUrl);

    await expect(tunnel.waitFor({ method: 'POST' }, { timeoutMs: 150 })).rejects.toThrow(/waitFor\(method POST\): nothing matching within 150 ms; nothing arrived/);
    await send(base, `${prefix}/missing`);
    await send(base, `${prefix}/other`, { method: 'DELETE' });
    await tunnel.waitFor({ method: 'DELETE' });
    const error = await tunnel.waitFor({ method: 'POST', path: '/hooks', header: { 'x-event': 'push' } }, { timeoutMs: 300 }).catch((err: Error) => err);

    expect(String(error)).toMatch(/waitFor\(method POST, path \/hooks, header x-event=push\): nothing matching within 300 ms; arrived instead:\n {2}GET \/missing 404\n {2}DELETE \/other 202 \(taken by an earlier waitFor\)/);
    // A timeout is its own code, not bad input: a test can tell "nothing came" from "I called it wrong".
    expect((error as HooktunnelError).code).toBe('wait_timeout');
  });

  it('close stops the relay (its port refuses connections), the agent and the store, and removes the data directory; await using does it too', async () => {
    const port = await echoTarget();
    let relayPort = 0;
    let dataDir = '';
    {
      await using tunnel = await openTestTunnel(port);
      relayPort = Number(new URL(tunnel.relayUrl).port);
      dataDir = tunnel.dataDir;
      expect(await dial(relayPort)).toBe('connected');
      expect(existsSync(join(dataDir, 'captures.db'))).toBe(true);
    }
    expect(await dial(relayPort)).toBe('ECONNREFUSED');
    expect(existsSync(dataDir)).toBe(false);

    const tunnel = await openTestTunnel(port);
    const { base, prefix } = splitPublicUrl(tunnel.publicUrl);
    const pending = tunnel.waitFor({ path: '/never' }, { timeoutMs: 10_000 }).catch((err: Error) => err);
    await tunnel.close();
    await tunnel.close();
    expect(await dial(Number(new URL(tunnel.relayUrl).port))).toBe('ECONNREFUSED');
    await expect(send(base, `${prefix}/x`)).rejects.toThrow(/ECONNREFUSED/);
    expect(existsSync(tunnel.dataDir)).toBe(false);
    expect(String(await pending)).toMatch(/waitFor\(path \/never\): the tunnel was closed first/);
  });
});
