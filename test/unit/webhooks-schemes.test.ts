import { createHash } from 'node:crypto';
import { sign as octokitSign } from '@octokit/webhooks-methods';
import Stripe from 'stripe';
import { Webhook } from 'standardwebhooks';
import twilioLib from 'twilio';
import { describe, expect, it } from 'vitest';
import { SAMPLES } from '../../src/webhooks/samples/index.js';
import { headerValue, setHeader } from '../../src/protocol/headers.js';
import { describeResign, resignCaptured, resignRequest, signRequest, withSecretFor } from '../../src/webhooks/resign.js';
import { TWILIO_FORM_CAP } from '../../src/webhooks/twilio.js';
import type { ProviderName, VerifyOptions, WebhookSecret } from '../../src/webhooks/types.js';
import { startVerification, verifySignature } from '../../src/webhooks/verify.js';
import { SECRETS, accept } from '../helpers/providers.js';

const NOW = 1_750_000_000_000;
const URL_ = 'https://relay.example.com/t/abc123/hooks';
const ALL: WebhookSecret[] = (Object.keys(SECRETS) as Array<keyof typeof SECRETS>).map((p) => ({ provider: p, secret: SECRETS[p] }));
const opts = (secrets: WebhookSecret[] = ALL, now = NOW): VerifyOptions => ({ secrets, now: () => now });
const secretOf = (p: ProviderName): WebhookSecret => ALL.find((s) => s.provider === p)!;

/** A sample event of `provider`, signed at `now` for URL_. */
function signed(provider: ProviderName, now = NOW, secret = secretOf(provider)): { headers: string[]; body: Buffer; url: string } {
  const sample = SAMPLES.find((s) => s.provider === provider)!.build(now);
  const r = signRequest({ url: URL_, headers: sample.headers, body: sample.body }, secret, now);
  return { ...r, body: sample.body };
}

const check = (r: { headers: readonly string[]; body: Buffer }, o = opts()) => verifySignature(r.headers, r.body, o, [URL_]);

describe('every sample, signed by hooktunnel', () => {
  for (const sample of SAMPLES.filter((s) => s.provider !== 'generic')) {
    const provider = sample.provider as keyof typeof SECRETS;
    it(`${provider} ${sample.event}: valid to hooktunnel and to the provider's own check; tampered or wrong secret is a mismatch`, async () => {
      const built = sample.build(NOW);
      const r = signRequest({ url: URL_, headers: built.headers, body: built.body }, secretOf(provider), NOW);
      const tampered = Buffer.from(built.body.toString('latin1').replace(/.$/s, (c) => (c === ' ' ? '\n' : ' ')), 'latin1');

      expect(check({ headers: r.headers, body: built.body })).toEqual({ status: 'valid', provider });
      expect(await accept[provider]({ headers: r.headers, body: built.body, url: r.url, nowMs: NOW })).toBe(true);
      expect(check({ headers: r.headers, body: tampered })).toEqual({ status: 'invalid', provider, reason: 'mismatch' });
      expect(await accept[provider]({ headers: r.headers, body: tampered, url: r.url, nowMs: NOW })).toBe(false);
      expect(check({ headers: r.headers, body: built.body }, opts([{ provider, secret: 'whsec_d3JvbmcgYnV0IGJhc2U2NA==' }]))).toEqual({ status: 'invalid', provider, reason: 'mismatch' });
    });
  }

  it('gives the same answer whatever the chunking, down to one byte at a time', () => {
    for (const provider of ['github', 'stripe', 'slack', 'shopify', 'standard', 'twilio'] as const) {
      const r = signed(provider);
      const v = startVerification(r.headers, opts(), [URL_]);
      for (let i = 0; i < r.body.length; i++) v.update(r.body.subarray(i, i + 1));
      v.end();
      expect(v.result(), provider).toEqual({ status: 'valid', provider });
    }
  });
});

describe('signatures made by the providers’ own code are valid to hooktunnel', () => {
  const body = Buffer.from('{"id":"evt_1","type":"ping","note":"caf\u00e9"}');

  it('GitHub (Octokit sign)', async () => {
    const headers = ['X-GitHub-Event', 'ping', 'X-Hub-Signature-256', await octokitSign(SECRETS.github, body.toString())];
    expect(check({ headers, body })).toEqual({ status: 'valid', provider: 'github' });
  });

  it('Stripe (generateTestHeaderString), also with several v1 signatures and a v0 while a secret is rolled', () => {
    const stripe = new Stripe('sk_test_x');
    const header = stripe.webhooks.generateTestHeaderString({ payload: body.toString(), secret: SECRETS.stripe, timestamp: NOW / 1000 });
    expect(check({ headers: ['Stripe-Signature', header], body })).toEqual({ status: 'valid', provider: 'stripe' });
    const [t, v1] = header.split(',');
    const rolled = `${t},v1=${'0'.repeat(64)},${v1},v0=${'1'.repeat(64)}`;
    expect(check({ headers: ['Stripe-Signature', rolled], body })).toEqual({ status: 'valid', provider: 'stripe' });
    expect(check({ headers: ['Stripe-Signature', `${t},v0=${v1!.slice(3)}`], body })).toMatchObject({ status: 'invalid', reason: 'malformed' });
  });

  it('Standard Webhooks (Webhook.sign), also among several space-separated signatures and other versions', () => {
    const signature = new Webhook(SECRETS.standard).sign('msg_1', new Date(NOW), body);
    const headers = ['webhook-id', 'msg_1', 'webhook-timestamp', String(NOW / 1000), 'webhook-signature', signature];
    expect(check({ headers, body })).toEqual({ status: 'valid', provider: 'standard' });
    const several = setHeader(headers, 'webhook-signature', `v1,${Buffer.alloc(32).toString('base64')} v1a,${Buffer.alloc(64).toString('base64')} ${signature}`);
    expect(check({ headers: several, body })).toEqual({ status: 'valid', provider: 'standard' });
    const svix = ['svix-id', 'msg_1', 'svix-timestamp', String(NOW / 1000), 'svix-signature', signature];
    expect(check({ headers: svix, body })).toEqual({ status: 'valid', provider: 'standard' });
  });

  it('Twilio (getExpectedTwilioSignature), for a form, with the port written out, and for JSON with bodySHA256', () => {
    const form = Buffer.from('To=%2B15005550006&From=%2B14155551234&Body=Hello+world&MediaUrl=b&MediaUrl=a');
    const params = { To: '+15005550006', From: '+14155551234', Body: 'Hello world', MediaUrl: ['b', 'a'] };
    const formHeaders = (sig: string) => ['Content-Type', 'application/x-www-form-urlencoded', 'X-Twilio-Signature', sig];
    const sig = twilioLib.getExpectedTwilioSignature(SECRETS.twilio, URL_, params);
    expect(check({ headers: formHeaders(sig), body: form })).toEqual({ status: 'valid', provider: 'twilio' });
    const withPort = twilioLib.getExpectedTwilioSignature(SECRETS.twilio, 'https://relay.example.com:443/t/abc123/hooks', params);
    expect(check({ headers: formHeaders(withPort), body: form })).toEqual({ status: 'valid', provider: 'twilio' });

    const json = Buffer.from('{"status":"delivered"}');
    const url = `${URL_}?bodySHA256=${createHash('sha256').update(json).digest('hex')}`;
    const jsonHeaders = ['Content-Type', 'application/json', 'X-Twilio-Signature', twilioLib.getExpectedTwilioSignature(SECRETS.twilio, url, {})];
    expect(verifySignature(jsonHeaders, json, opts(), [url])).toEqual({ status: 'valid', provider: 'twilio' });
    expect(verifySignature(jsonHeaders, Buffer.from('{"status":"failed"}'), opts(), [url])).toMatchObject({ status: 'invalid', reason: 'mismatch' });
  });

  it('Twilio against the URL the sender used only: a local URL does not verify', () => {
    const r = signed('twilio');
    expect(verifySignature(r.headers, r.body, opts(), ['http://localhost:3000/hooks'])).toMatchObject({ status: 'invalid', reason: 'mismatch' });
    expect(verifySignature(r.headers, r.body, opts(), [])).toMatchObject({ status: 'invalid', reason: 'unknown_url' });
  });
});

describe('timestamps, missing headers, secrets', () => {
  it('a genuine signature outside the 5-minute tolerance is reported as timestamp, either way, not as a mismatch', () => {
    for (const provider of ['stripe', 'slack', 'standard'] as const) {
      const old = signed(provider, NOW - 3_600_000);
      expect(check(old), provider).toEqual({ status: 'invalid', provider, reason: 'timestamp' });
      expect(check(old, opts(ALL, NOW - 3_600_000 + 299_000)), provider).toEqual({ status: 'valid', provider });
      expect(check(signed(provider, NOW + 301_000)), provider).toMatchObject({ reason: 'timestamp' });
      expect(check(old, { ...opts(), toleranceSeconds: 7200 }), provider).toEqual({ status: 'valid', provider });
    }
  });

  it('missing headers: part of a scheme, or the provider recognised without its signature when a secret expects one', () => {
    const slack = signed('slack');
    expect(check({ ...slack, headers: setHeader(slack.headers, 'X-Slack-Request-Timestamp', '').filter((_, i, a) => a[i - (i % 2)] !== 'X-Slack-Request-Timestamp') }))
      .toEqual({ status: 'invalid', provider: 'slack', reason: 'missing_header' });
    const std = signed('standard');
    expect(check({ ...std, headers: std.headers.filter((_, i, a) => a[i - (i % 2)] !== 'webhook-id') })).toEqual({ status: 'invalid', provider: 'standard', reason: 'missing_header' });
    const github = { headers: ['X-GitHub-Event', 'push', 'Content-Type', 'application/json'], body: Buffer.from('{}') };
    expect(check(github)).toEqual({ status: 'invalid', provider: 'github', reason: 'missing_header' });
    expect(check(github, opts([secretOf('stripe')]))).toEqual({ status: 'unsigned' });
    expect(check({ headers: ['Content-Type', 'text/plain'], body: Buffer.from('hi') })).toEqual({ status: 'unsigned' });
  });

  it('a recognised provider without a configured secret is unknown_secret; any of several secrets (a rotation) will do', () => {
    expect(check(signed('stripe'), opts([secretOf('github')]))).toEqual({ status: 'invalid', provider: 'stripe', reason: 'unknown_secret' });
    const rotation = [{ provider: 'github' as const, secret: 'new one' }, secretOf('github')];
    expect(check(signed('github'), opts(rotation))).toEqual({ status: 'valid', provider: 'github' });
  });

  it('malformed headers are reported as such', () => {
    const body = Buffer.from('{}');
    expect(check({ headers: ['Stripe-Signature', 'v1=abc'], body })).toMatchObject({ status: 'invalid', reason: 'malformed' });
    expect(check({ headers: ['X-Hub-Signature-256', 'abc'], body })).toMatchObject({ status: 'invalid', reason: 'malformed' });
    expect(check({ headers: ['X-Slack-Signature', 'v0=ab', 'X-Slack-Request-Timestamp', 'soon'], body })).toMatchObject({ reason: 'malformed' });
  });

  it('a body not seen to its end is incomplete, never valid', () => {
    const r = signed('github');
    const v = startVerification(r.headers, opts(), [URL_]);
    v.update(r.body);
    expect(v.result()).toEqual({ status: 'invalid', provider: 'github', reason: 'incomplete' });
  });

  it('a Twilio form body over the cap is too_large, and is not kept', () => {
    const r = signed('twilio');
    const v = startVerification(r.headers, opts(), [URL_]);
    const chunk = Buffer.alloc(64 * 1024, 'a');
    for (let sent = 0; sent <= TWILIO_FORM_CAP; sent += chunk.length) v.update(chunk);
    v.end();
    expect(v.result()).toEqual({ status: 'invalid', provider: 'twilio', reason: 'too_large' });
  });

  it('generic HMAC-SHA256 in a named header, hex or base64, with or without a sha256= label', () => {
    const body = Buffer.from('{"id":1}');
    for (const encoding of ['hex', 'base64'] as const) {
      const secret: WebhookSecret = { provider: 'generic', secret: 's3cret', header: 'X-Signature', encoding };
      const r = signRequest({ url: URL_, headers: ['x-signature', 'sha256=placeholder'], body }, secret);
      expect(r.headers[1]!.startsWith('sha256=')).toBe(true);
      expect(verifySignature(r.headers, body, opts([secret]))).toEqual({ status: 'valid', provider: 'generic' });
      const bare = ['X-SIGNATURE', r.headers[1]!.slice('sha256='.length)];
      expect(verifySignature(bare, body, opts([secret]))).toEqual({ status: 'valid', provider: 'generic' });
      expect(verifySignature(bare, Buffer.from('{"id":2}'), opts([secret]))).toMatchObject({ reason: 'mismatch' });
    }
    expect(verifySignature(['X-Other', 'abc'], body, opts([{ provider: 'generic', secret: 's', header: 'X-Signature', encoding: 'hex' }]))).toEqual({ status: 'unsigned' });
  });
});

describe('re-signing', () => {
  it('an hour later: fresh timestamp and signature, accepted by the provider then; headers keep their place', async () => {
    for (const provider of ['stripe', 'slack', 'standard'] as const) {
      const original = signed(provider);
      const later = NOW + 3_600_000;
      expect(await accept[provider]({ ...original, nowMs: later })).toBe(false);
      const r = resignRequest({ url: URL_, headers: original.headers, body: original.body }, ALL, later);
      expect(r).toMatchObject({ resigned: true, provider });
      expect(r.headers.filter((_, i) => i % 2 === 0)).toEqual(original.headers.filter((_, i) => i % 2 === 0));
      expect(await accept[provider]({ headers: r.headers, body: original.body, url: URL_, nowMs: later })).toBe(true);
      expect(check({ headers: r.headers, body: original.body }, opts(ALL, later))).toEqual({ status: 'valid', provider });
    }
  });

  it('signs an edited body; keeps the Standard Webhooks id; leaves unsigned requests and unknown secrets alone', async () => {
    const github = signed('github');
    const edited = Buffer.from('{"zen":"edited"}');
    const r = resignRequest({ url: URL_, headers: github.headers, body: edited }, ALL);
    expect(await accept.github({ headers: r.headers, body: edited, url: URL_, nowMs: NOW })).toBe(true);
    const std = signed('standard');
    expect(headerValue(resignRequest({ url: URL_, headers: std.headers, body: std.body }, ALL).headers, 'webhook-id')).toBe(headerValue(std.headers, 'webhook-id'));
    expect(resignRequest({ url: URL_, headers: ['A', 'b'], body: edited }, ALL)).toEqual({ url: URL_, headers: ['A', 'b'], resigned: false });
    expect(resignRequest({ url: URL_, headers: github.headers, body: edited }, [secretOf('stripe')])).toEqual({ url: URL_, headers: github.headers, provider: 'github', resigned: false });
  });

  it('a captured Twilio request is re-signed for the public URL it arrived at, rebuilt from the relay headers', async () => {
    const publicUrl = 'https://relay.example.com/t/abc123';
    const sample = SAMPLES.find((s) => s.provider === 'twilio')!.build(NOW);
    const first = signRequest({ url: `${publicUrl}/sms`, headers: sample.headers, body: sample.body }, secretOf('twilio'));
    const captured = { tunnel: 'abc123', path: '/sms', requestHeaders: [...first.headers, 'X-Forwarded-Host', 'relay.example.com', 'X-Forwarded-Proto', 'https'] };
    const edited = Buffer.from(sample.body.toString().replace('Hello', 'Bye'));
    const r = resignCaptured(captured, edited, ALL);
    expect(r.path).toBe('/sms');
    expect(await accept.twilio({ headers: r.headers, body: edited, url: `${publicUrl}/sms`, nowMs: NOW })).toBe(true);
    expect(await accept.twilio({ headers: first.headers, body: edited, url: `${publicUrl}/sms`, nowMs: NOW })).toBe(false);
  });

  it('with several secrets (a rotation): signs with the one that verified the capture, over an edited body too, else the newest', async () => {
    const rotated = (provider: ProviderName, secret: string): WebhookSecret => ({ ...secretOf(provider), secret });
    for (const provider of ['github', 'twilio', 'shopify'] as const) {
      const [old, current, stranger] = [rotated(provider, `${provider}-old`), secretOf(provider), rotated(provider, `${provider}-stranger`)];
      const secrets = [old, current, rotated(provider, `${provider}-newest`)];
      const byCurrent = signed(provider, NOW, current);
      const byStranger = signed(provider, NOW, stranger);
      const edited = Buffer.from(byCurrent.body.toString().replace(/"/, '"x'));
      const verified = resignRequest({ url: URL_, headers: byCurrent.headers, body: edited }, secrets, NOW, byCurrent.body);
      const fallback = resignRequest({ url: URL_, headers: byStranger.headers, body: byStranger.body }, secrets, NOW);

      expect(verified, provider).toMatchObject({ resigned: true, provider, secret: { index: 2, of: 3, verified: true } });
      // The receiver still knows the current secret only (SECRETS): it accepts the edited replay.
      expect(await accept[provider]({ headers: verified.headers, body: edited, url: verified.url, nowMs: NOW }), provider).toBe(true);
      expect(fallback, provider).toMatchObject({ resigned: true, provider, secret: { index: 3, of: 3, verified: false } });
      expect(check({ headers: fallback.headers, body: byStranger.body }, opts([secrets[2]!])), provider).toEqual({ status: 'valid', provider });
    }
    const stripe = signed('stripe');
    const one = resignRequest({ url: URL_, headers: stripe.headers, body: stripe.body }, ALL, NOW);
    expect(describeResign(one)).toBe('re-signed for stripe with a fresh timestamp');
    expect(describeResign({ ...one, secret: { index: 2, of: 3, verified: true } }, true)).toBe('re-signed for stripe, with secret 2 of 3 (it verified the captured request)');
    expect(describeResign({ ...one, secret: { index: 3, of: 3, verified: false } })).toBe('re-signed for stripe with a fresh timestamp, with secret 3 of 3, the newest (none verified the captured request)');
    expect(describeResign({ url: URL_, headers: [], provider: 'github', resigned: false })).toBe('the github signature is sent as captured: no secret for it');
    // --secret is listed after the configured ones: the fallback when none verifies.
    expect(withSecretFor(stripe.headers, ALL, 'whsec_given').filter((s) => s.provider === 'stripe').map((s) => s.secret)).toEqual([SECRETS.stripe, 'whsec_given']);
  });

  it('a Twilio bodySHA256 parameter is recomputed for an edited JSON body', () => {
    const body = Buffer.from('{"a":1}');
    const url = `${URL_}?x=1&bodySHA256=${createHash('sha256').update(body).digest('hex')}`;
    const first = signRequest({ url, headers: ['Content-Type', 'application/json'], body }, secretOf('twilio'));
    const edited = Buffer.from('{"a":2}');
    const r = resignRequest({ url: first.url, headers: first.headers, body: edited }, ALL);
    expect(r.url).toBe(`${URL_}?x=1&bodySHA256=${createHash('sha256').update(edited).digest('hex')}`);
    expect(twilioLib.validateRequestWithBody(SECRETS.twilio, headerValue(r.headers, 'x-twilio-signature')!, r.url, edited.toString())).toBe(true);
  });
});
