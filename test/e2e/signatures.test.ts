import { writeFileSync } from 'node:fs';
import Stripe from 'stripe';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTarget, replayEvents, replayRequest } from '../../src/index.js';
import { CaptureStore } from '../../src/capture/store.js';
import { findCapture, readBody as readCapturedBody } from '../../src/capture/queries.js';
import { REQUEST } from '../../src/capture/schema.js';
import type { RequestEvent } from '../../src/agent/events.js';
import { SAMPLES, findSample } from '../../src/webhooks/samples/index.js';
import { resignCaptured, signRequest } from '../../src/webhooks/resign.js';
import type { WebhookSecret } from '../../src/webhooks/types.js';
import { send, splitPublicUrl, valuesOf } from '../helpers/http.js';
import { SECRETS, accept } from '../helpers/providers.js';
import { readBody, runCli, startAgent, startRelay, startTarget, startTunnel } from '../helpers/servers.js';
import { agentFor, dataDir, lines } from './capture-fixtures.js';

type Provider = keyof typeof SECRETS;
const PROVIDERS = Object.keys(SECRETS) as Provider[];
const SPECS = PROVIDERS.map((p) => `${p}=${SECRETS[p]}`);
const SECRET_LIST: WebhookSecret[] = PROVIDERS.map((p) => ({ provider: p, secret: SECRETS[p] }));
const HOUR = 3_600_000;

/** What the receiving server decided for one request. */
interface Verdict {
  readonly provider: Provider;
  readonly path: string;
  readonly accepted: boolean;
  readonly headers: string[];
  readonly body: Buffer;
}

/**
 * A receiver like a webhook developer's: `/<provider>/…` is checked with that provider's own verification code
 * against the receiver's clock (`clock.offsetMs` moves it) and the public URL configured at the provider
 * (Twilio). 200 when accepted, 400 when not.
 */
async function providerReceiver(publicUrl: () => string) {
  const verdicts: Verdict[] = [];
  const clock = { offsetMs: 0 };
  const target = await startTarget(async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    // The bare tunnel URL is where the Twilio number of these tests points.
    const provider = (req.url!.split(/[/?]/)[1] || 'twilio') as Provider;
    // The URL the developer configured at the provider: the tunnel's public URL plus the path.
    const url = publicUrl() + (req.url === '/' ? '' : req.url!);
    const check = accept[provider];
    const accepted = check ? await check({ headers: req.rawHeaders, body, url, nowMs: Date.now() + clock.offsetMs }) : false;
    verdicts.push({ provider, path: req.url!, accepted, headers: req.rawHeaders, body });
    res.writeHead(accepted ? 200 : 400, { 'content-type': 'application/json' }).end(JSON.stringify({ accepted }));
  });
  return { target, verdicts, clock };
}

/** Runs a CLI command to its end with extra environment. */
async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string; err: string }> {
  const p = runCli(args, env);
  p.child.stdin.end();
  const code = await p.exited();
  return { code, out: p.stdout(), err: p.stderr() };
}

const requestEvent = (line: string): RequestEvent => JSON.parse(line) as RequestEvent;

describe('hooktunnel send through a real relay and agent, checked by the providers’ own code', () => {
  it('every sample is accepted by its provider’s verification; each capture says valid (show, requests, --json)', { timeout: 60_000 }, async () => {
    const dir = dataDir();
    let publicUrl = '';
    const { target, verdicts } = await providerReceiver(() => publicUrl);
    // Secrets: the agent from --verify flags, `send` from HOOKTUNNEL_VERIFY.
    const { agent } = await agentFor(target.port, dir, SPECS.flatMap((s) => ['--verify', s]));
    publicUrl = (JSON.parse(await agent.waitForLine(/"type":"ready"/)) as { url: string }).url;
    const env = { HOOKTUNNEL_VERIFY: SPECS.join(',') };

    const samples = SAMPLES.filter((s) => s.provider !== 'generic');
    for (const s of samples) {
      const path = `/${s.provider}/${s.event.replace(/\W/g, '-')}`;
      const sent = await run(['send', s.provider, s.event, '--tunnel', '--path', path, '--data-dir', dir], env);
      expect(sent.code, `${s.provider} ${s.event}: ${sent.err}`).toBe(0);
      expect(sent.out).toContain(`${publicUrl}${path}  200`);
      const event = requestEvent(await agent.waitForLine(new RegExp(`"path":"${path}"`)));
      expect(event.signature, path).toEqual({ status: 'valid', provider: s.provider });
    }
    // Twilio to the bare tunnel URL (no trailing slash): the agent receives "/" and must still rebuild the URL.
    const bare = await run(['send', 'twilio', 'message.received', '--to', publicUrl, '--data-dir', dir], env);
    expect(bare.code, bare.err).toBe(0);
    expect(requestEvent(await agent.waitForLine(/"path":"\/"/)).signature).toEqual({ status: 'valid', provider: 'twilio' });

    expect(verdicts).toHaveLength(samples.length + 1);
    expect(verdicts.filter((v) => !v.accepted)).toEqual([]);
    const rows = lines((await run(['requests', '--json', '--limit', '100', '--data-dir', dir])).out);
    expect(rows.map((r) => r.signature)).toEqual(verdicts.map((v) => ({ status: 'valid', provider: v.provider })));
    const shown = JSON.parse((await run(['show', String(rows[0]!.id), '--json', '--data-dir', dir])).out) as { signature: unknown };
    expect(shown.signature).toEqual({ status: 'valid', provider: 'github' });
    expect((await run(['show', String(rows[0]!.id), '--data-dir', dir])).out).toMatch(/signature valid github/);
  });

  it('a tampered body is reported invalid (mismatch) and rejected by the provider; an unsigned request is unsigned', async () => {
    const dir = dataDir();
    let publicUrl = '';
    const { target, verdicts } = await providerReceiver(() => publicUrl);
    const { agent, base, prefix } = await agentFor(target.port, dir, ['--verify', `stripe=${SECRETS.stripe}`, '--verify', `github=${SECRETS.github}`]);
    publicUrl = base + prefix;
    const sample = findSample('stripe', 'payment_intent.succeeded')!.build(Date.now());
    const signed = signRequest({ url: `${publicUrl}/stripe`, headers: sample.headers, body: sample.body }, { provider: 'stripe', secret: SECRETS.stripe });
    const tampered = Buffer.from(sample.body.toString().replace('"amount": 2000', '"amount": 1'));

    // Headers as a raw list: node:http then leaves Host and the framing to us.
    const raw = ['Host', new URL(base).host, ...signed.headers, 'Content-Length', String(tampered.length)];
    const res = await send(base, `${prefix}/stripe`, { method: 'POST', headers: raw, body: tampered });
    await send(base, `${prefix}/other`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });

    expect(res.status).toBe(400);
    expect(verdicts[0]).toMatchObject({ provider: 'stripe', accepted: false });
    expect(requestEvent(await agent.waitForLine(/"path":"\/stripe"/)).signature).toEqual({ status: 'invalid', provider: 'stripe', reason: 'mismatch' });
    expect(requestEvent(await agent.waitForLine(/"path":"\/other"/)).signature).toEqual({ status: 'unsigned' });
  });
});

describe('hooktunnel send --data', () => {
  it('signs a body of your own, from a file or standard input, as the provider does; sent byte for byte', async () => {
    const dir = dataDir();
    const { target, verdicts } = await providerReceiver(() => '');
    const file = join(dir, '..', 'my-event.json');
    const mine = Buffer.from('{"id":"evt_mine","type":"payment_intent.succeeded","note":"caf\u00e9 \u2713"}\n');
    writeFileSync(file, mine);
    const env = { HOOKTUNNEL_VERIFY: `stripe=${SECRETS.stripe}` };

    const fromFile = await run(['send', 'stripe', 'payment_intent.succeeded', '--to', `${target.url}/stripe`, '--data', file], env);
    const piped = runCli(['send', 'github', 'push', '--to', `127.0.0.1:${target.port}`, '--path', '/github', '--secret', SECRETS.github, '--data', '-']);
    piped.child.stdin.end(mine);

    expect(fromFile.code, fromFile.err).toBe(0);
    expect(await piped.exited(), piped.stderr()).toBe(0);
    expect(verdicts.map((v) => [v.provider, v.accepted, v.body.equals(mine)])).toEqual([['stripe', true, true], ['github', true, true]]);
  });
});

describe('replay with re-signing', () => {
  it('an hour later (clock injected) a re-signed replay is accepted and the captured signature is rejected; the CLI re-signs, --no-resign does not', { timeout: 60_000 }, async () => {
    const dir = dataDir();
    let publicUrl = '';
    const { target, verdicts, clock } = await providerReceiver(() => publicUrl);
    const { agent, base, prefix } = await agentFor(target.port, dir, ['--verify', `stripe=${SECRETS.stripe}`]);
    publicUrl = base + prefix;
    // `replay` finds the secrets in the data directory's config.json.
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ verify: Object.fromEntries(PROVIDERS.map((p) => [p, SECRETS[p]])) }));
    const env = { HOOKTUNNEL_VERIFY: SPECS.join(' ') };
    const ids: Partial<Record<Provider, string>> = {};
    for (const [provider, event] of [['stripe', 'payment_intent.succeeded'], ['slack', 'event_callback'], ['standard', 'user.created'], ['twilio', 'message.received']] as const) {
      expect((await run(['send', provider, event, '--path', `/${provider}`, '--data-dir', dir], env)).code).toBe(0);
      ids[provider] = requestEvent(await agent.waitForLine(new RegExp(`"path":"/${provider}"`))).id;
    }

    // Now, with the real clock: the CLI re-signs (the Stripe signature changes) and --no-resign sends it as captured.
    const resent = await run(['replay', ids.stripe!, '--json', '--data-dir', dir]);
    const untouched = await run(['replay', ids.stripe!, '--json', '--no-resign', '--data-dir', dir]);
    expect(resent.code, resent.err).toBe(0);
    expect(resent.err).toMatch(/re-signed for stripe with a fresh timestamp/);
    expect(lines(resent.out)[0]).toMatchObject({ status: 200, replayOf: ids.stripe, signature: { status: 'valid', provider: 'stripe' } });
    expect(untouched.code).toBe(0);
    const [original, resigned, asCaptured] = verdicts.filter((v) => v.path === '/stripe').map((v) => valuesOf(v.headers, 'stripe-signature')[0]);
    expect(resigned).not.toBe(original);
    expect(asCaptured).toBe(original);

    // An hour later at the receiver.
    clock.offsetMs = HOUR;
    const store = CaptureStore.open(dir, { readonly: true });
    try {
      for (const provider of ['stripe', 'slack', 'standard', 'twilio'] as const) {
        const c = findCapture(store, ids[provider]!);
        const body = readCapturedBody(store, c.id, REQUEST);
        const r = resignCaptured(c, body, SECRET_LIST, Date.now() + HOUR);
        const replayOpts = { replayOf: c.id, tunnel: c.tunnel, verify: { secrets: SECRET_LIST, now: () => Date.now() + HOUR }, publicUrl };
        const withResign = await replayRequest(replayEvents(), parseTarget(target.url), { method: c.method, path: r.path, headers: r.headers, body }, replayOpts);
        const without = await replayRequest(replayEvents(), parseTarget(target.url), { method: c.method, path: c.path, headers: c.requestHeaders, body }, replayOpts);
        expect(withResign.status, provider).toBe(200);
        expect(withResign.signature).toEqual({ status: 'valid', provider });
        // Twilio has no timestamp: its captured signature stays good; the timestamped schemes fail the tolerance.
        expect(without.status, provider).toBe(provider === 'twilio' ? 200 : 400);
        expect(without.signature).toEqual(provider === 'twilio' ? { status: 'valid', provider } : { status: 'invalid', provider, reason: 'timestamp' });
      }
    } finally {
      store.close();
    }
  });
});

describe('re-signing with several secrets for one provider (a key rotation)', () => {
  it('signs with the secret that verified the capture, else with the last listed (the newest), and says which', { timeout: 60_000 }, async () => {
    const dir = dataDir();
    const [OLD, NEW, OTHER] = ['whsec_rotation_old_0001', 'whsec_rotation_new_0002', 'whsec_rotation_other_03'];
    // The receiver, checked by Stripe's own SDK: /old still expects the old secret, everything else the new one.
    const stripe = new Stripe('sk_test_hooktunnel_rotation');
    const verdicts: Array<{ path: string; accepted: boolean }> = [];
    const target = await startTarget(async (req, res) => {
      const body = await readBody(req);
      let accepted = true;
      try {
        stripe.webhooks.constructEvent(body, String(req.headers['stripe-signature']), req.url === '/old' ? OLD : NEW);
      } catch {
        accepted = false;
      }
      verdicts.push({ path: req.url!, accepted });
      res.writeHead(accepted ? 200 : 400).end();
    });
    const { agent } = await agentFor(target.port, dir);
    const ids: Record<string, string> = {};
    for (const [path, secret] of [['/old', OLD], ['/new', NEW], ['/other', OTHER]] as const) {
      // `send` exits 1 when the receiver refuses: the one signed with neither secret.
      expect((await run(['send', 'stripe', 'payment_intent.succeeded', '--path', path, '--secret', secret, '--data-dir', dir])).code).toBe(path === '/other' ? 1 : 0);
      ids[path] = requestEvent(await agent.waitForLine(new RegExp(`"path":"${path}"`))).id;
    }
    // Both secrets configured, oldest first, as while rolling one over.
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ verify: { stripe: [OLD, NEW] } }), { mode: 0o600 });

    const old = await run(['replay', ids['/old']!, '--json', '--data-dir', dir]);
    const renewed = await run(['replay', ids['/new']!, '--json', '--data-dir', dir]);
    const unknown = await run(['replay', ids['/other']!, '--json', '--data-dir', dir]);

    expect(old.err).toMatch(/re-signed for stripe with a fresh timestamp, with secret 1 of 2 \(it verified the captured request\)/);
    expect(renewed.err).toMatch(/re-signed for stripe with a fresh timestamp, with secret 2 of 2 \(it verified the captured request\)/);
    expect(unknown.err).toMatch(/re-signed for stripe with a fresh timestamp, with secret 2 of 2, the newest \(none verified the captured request\)/);
    expect(lines(old.out)[0]).toMatchObject({ status: 200, replayOf: ids['/old'], resign: { provider: 'stripe', secret: 1, of: 2, verified: true } });
    expect(lines(renewed.out)[0]).toMatchObject({ status: 200, replayOf: ids['/new'], resign: { provider: 'stripe', secret: 2, of: 2, verified: true } });
    expect(lines(unknown.out)[0]).toMatchObject({ status: 200, replayOf: ids['/other'], resign: { provider: 'stripe', secret: 2, of: 2, verified: false } });
    // The sends: accepted but for the one signed with neither secret; each replay accepted by the receiver.
    expect(verdicts).toEqual([
      { path: '/old', accepted: true }, { path: '/new', accepted: true }, { path: '/other', accepted: false },
      { path: '/old', accepted: true }, { path: '/new', accepted: true }, { path: '/other', accepted: true },
    ]);
    for (const r of [old, renewed, unknown]) expect(r.err + r.out).not.toMatch(/whsec_rotation/);
  });
});

describe('verification inside the agent', () => {
  it('Twilio on a tunnel’s own host (subdomain routing), and under another name for the relay (path routing)', async () => {
    const seen: string[] = [];
    const echo = (req: IncomingMessage, res: ServerResponse): void => void readBody(req).then(() => (seen.push(req.url!), res.end('ok')));
    const verify = { secrets: [{ provider: 'twilio' as const, secret: SECRETS.twilio }] };
    const sub = await startTunnel(echo, { relay: { domain: 'tunnel.test' }, agent: { subdomain: 'smsbox', verify } });
    const events: RequestEvent[] = [];
    sub.agent.events.on('request', (e) => events.push(e));
    const sample = findSample('twilio', 'message.received')!.build(Date.now());
    const hostUrl = `http://smsbox.tunnel.test:${sub.relay.port}`;
    expect(sub.agent.publicUrl).toBe(hostUrl);
    const signed = signRequest({ url: `${hostUrl}/sms?To=1`, headers: sample.headers, body: sample.body }, verify.secrets[0]!);
    await send(sub.relay.url, '/sms?To=1', { method: 'POST', headers: [...signed.headers, 'Host', `smsbox.tunnel.test:${sub.relay.port}`, 'Content-Length', String(sample.body.length)], body: sample.body });

    const path = await startTunnel(echo, { agent: { verify } });
    path.agent.events.on('request', (e) => events.push(e));
    const { prefix } = splitPublicUrl(path.agent.publicUrl);
    const other = `http://localhost:${path.relay.port}${prefix}/sms`;
    const signedOther = signRequest({ url: other, headers: sample.headers, body: sample.body }, verify.secrets[0]!);
    await send(path.relay.url, `${prefix}/sms`, { method: 'POST', headers: [...signedOther.headers, 'Host', `localhost:${path.relay.port}`, 'Content-Length', String(sample.body.length)], body: sample.body });

    expect(seen).toEqual(['/sms?To=1', '/sms']);
    expect(events.map((e) => e.signature)).toEqual([{ status: 'valid', provider: 'twilio' }, { status: 'valid', provider: 'twilio' }]);
  });

  it('checks requests that arrived while the agent was away, as of their arrival, and again when forwarded later', async () => {
    const verify = { secrets: SECRET_LIST.filter((s) => s.provider === 'stripe' || s.provider === 'github') };
    const target = await startTarget((req, res) => void readBody(req).then(() => res.end('ok')));
    const relay = await startRelay({ offline: { waitMs: 0 } });
    const first = await startAgent(relay, target.url, { verify });
    const { base, prefix } = splitPublicUrl(first.publicUrl);
    await first.close();
    const stripe = findSample('stripe', 'payment_intent.succeeded')!.build(Date.now());
    const good = signRequest({ url: '', headers: stripe.headers, body: stripe.body }, { provider: 'stripe', secret: SECRETS.stripe });
    const github = findSample('github', 'push')!.build(Date.now());
    const bad = signRequest({ url: '', headers: github.headers, body: github.body }, { provider: 'github', secret: 'not the secret' });
    const raw = (headers: string[], body: Buffer): string[] => ['Host', new URL(base).host, ...headers, 'Content-Length', String(body.length)];
    expect((await send(base, `${prefix}/stripe`, { method: 'POST', headers: raw(good.headers, stripe.body), body: stripe.body })).status).toBe(503);
    expect((await send(base, `${prefix}/github`, { method: 'POST', headers: raw(bad.headers, github.body), body: github.body })).status).toBe(503);

    const second = await startAgent(relay, target.url, { subdomain: first.tunnelId, secret: first.secret, verify, forwardMissed: true });
    const missed: Array<{ path: string; signature: unknown }> = [];
    const forwarded: RequestEvent[] = [];
    second.events.on('missed', (e) => missed.push({ path: e.path, signature: e.signature }));
    await new Promise<void>((resolve) => second.events.on('request', (e) => forwarded.push(e) === 2 && resolve()));

    expect(missed).toEqual([
      { path: '/stripe', signature: { status: 'valid', provider: 'stripe' } },
      { path: '/github', signature: { status: 'invalid', provider: 'github', reason: 'mismatch' } },
    ]);
    expect(forwarded.map((e) => [e.path, e.signature])).toEqual([
      ['/stripe', { status: 'valid', provider: 'stripe' }],
      ['/github', { status: 'invalid', provider: 'github', reason: 'mismatch' }],
    ]);
  });

  it('checks a large chunked body incrementally as it streams, and forwards it byte for byte', async () => {
    const secret: WebhookSecret = { provider: 'generic', secret: 'bulk', header: 'X-Signature', encoding: 'base64' };
    let received: Buffer | undefined;
    const { agent, relay } = await startTunnel(async (req, res) => {
      received = await readBody(req);
      res.end('ok');
    }, { agent: { verify: { secrets: [secret] } } });
    const done = new Promise<RequestEvent>((resolve) => agent.events.on('request', resolve));
    const part = Buffer.alloc(256 * 1024);
    for (let i = 0; i < part.length; i++) part[i] = (i * 31) & 0xff;
    const body = Buffer.concat(Array.from({ length: 24 }, () => part));
    const { headers } = signRequest({ url: '', headers: [], body }, secret);
    const { prefix } = splitPublicUrl(agent.publicUrl);

    await new Promise<void>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: relay.port, method: 'POST', path: `${prefix}/bulk`, headers: { [headers[0]!]: headers[1]! } }, (res) => {
        res.resume().on('end', resolve);
      });
      req.on('error', reject);
      // Chunked: no Content-Length, so the body reaches the agent as Data frames, never inline.
      let written = 0;
      const write = (): void => {
        while (written < 24) {
          written++;
          if (!req.write(part)) return void req.once('drain', write);
        }
        req.end();
      };
      write();
    });

    const event = await done;
    expect(event.requestBytes).toBe(body.length);
    expect(event.signature).toEqual({ status: 'valid', provider: 'generic' });
    expect(received!.equals(body)).toBe(true);
  });
});

describe('command-line input', () => {
  it('bad --verify values, unknown providers or events and a missing secret exit 2 with one line that never shows a secret', async () => {
    const dir = dataDir();
    const results = await Promise.all([
      run(['3000', '--verify', 'gitub=TOPSECRET', '--data-dir', dir]),
      run(['replay', 'abc', '--verify', 'generic:Bad Header=TOPSECRET', '--data-dir', dir]),
      run(['3000', '--data-dir', dir], { HOOKTUNNEL_VERIFY: 'gitlab=TOPSECRET' }),
      run(['send', 'paypal', 'x', '--to', '3000']),
      run(['send', 'stripe', 'charge.refunded', '--to', '3000']),
      run(['send', 'stripe', 'payment_intent.succeeded', '--to', '3000', '--data-dir', dir]),
      run(['send', 'github', 'push', '--data-dir', dir, '--secret', 's']),
    ]);
    for (const r of results) {
      expect(r.code, r.err).toBe(2);
      expect(r.err).not.toContain('TOPSECRET');
      expect(r.err.trim().split('\n')).toHaveLength(1);
    }
    expect(results[3]!.err).toMatch(/unknown provider "paypal"/);
    expect(results[4]!.err).toMatch(/no sample "charge.refunded" for stripe: one of payment_intent.succeeded, checkout.session.completed/);
    expect(results[5]!.err).toMatch(/no secret for stripe/);
    expect(results[6]!.err).toMatch(/no tunnel remembered/);
    const list = await run(['send', '--list']);
    expect(list.code).toBe(0);
    expect(list.out.trim().split('\n')).toHaveLength(SAMPLES.length);
  });
});
