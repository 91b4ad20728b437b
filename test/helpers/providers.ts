import Stripe from 'stripe';
import twilioLib from 'twilio';
import { verify as octokitVerify } from '@octokit/webhooks-methods';
import { Webhook } from 'standardwebhooks';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { valuesOf } from './http.js';

/**
 * The providers' own verification code, or for Slack and Shopify (no small official library) a check written
 * here from their documentation, independently of src/webhooks. Each returns true when the request is accepted.
 * `nowMs` is the receiver's clock (a replay "an hour later" moves it).
 */
export interface ProviderRequest {
  /** `[name, value, …]` as the receiver got them. */
  readonly headers: readonly string[];
  readonly body: Buffer;
  /** The public URL the sender called (Twilio). */
  readonly url: string;
  readonly nowMs: number;
}

const one = (h: readonly string[], name: string): string => valuesOf(h, name.toLowerCase())[0] ?? '';

const stripeClient = new Stripe('sk_test_hooktunnel_interop');

/** Secrets the interop tests use, one per provider. */
export const SECRETS = {
  github: 'It’s a secret to everybody',
  stripe: 'whsec_test_5f1b9c3a1e7d4e2f8a6b0c9d',
  slack: '8f742231b10e8888abcd99yyyzzz85a5',
  shopify: 'shpss_hooktunnel_interop_secret',
  standard: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  twilio: '12345678901234567890123456789012',
} as const;

/** Runs `fn` with Date.now() at `nowMs` (for libraries that read the clock themselves); synchronous only. */
function at<T>(nowMs: number, fn: () => T): T {
  const real = Date.now;
  Date.now = () => nowMs;
  try {
    return fn();
  } finally {
    Date.now = real;
  }
}

export const accept: Record<keyof typeof SECRETS, (r: ProviderRequest) => Promise<boolean>> = {
  async github(r) {
    // GitHub's documented check, by Octokit: the raw body as a string.
    return octokitVerify(SECRETS.github, r.body.toString('utf8'), one(r.headers, 'x-hub-signature-256')).catch(() => false);
  },
  async stripe(r) {
    try {
      stripeClient.webhooks.constructEvent(r.body, one(r.headers, 'stripe-signature'), SECRETS.stripe, 300, undefined, r.nowMs);
      return true;
    } catch {
      return false;
    }
  },
  async slack(r) {
    // From Slack's "Verifying requests from Slack": v0=hex(HMAC-SHA256(secret, "v0:" + ts + ":" + body)), 5 minutes.
    const ts = one(r.headers, 'x-slack-request-timestamp');
    if (!/^\d+$/.test(ts) || Math.abs(r.nowMs / 1000 - Number(ts)) > 300) return false;
    const expected = `v0=${createHmac('sha256', SECRETS.slack).update(`v0:${ts}:`).update(r.body).digest('hex')}`;
    const got = Buffer.from(one(r.headers, 'x-slack-signature'));
    return got.length === expected.length && timingSafeEqual(got, Buffer.from(expected));
  },
  async shopify(r) {
    // From Shopify's "Verify webhooks": base64(HMAC-SHA256(client secret, raw body)).
    const expected = createHmac('sha256', SECRETS.shopify).update(r.body).digest('base64');
    const got = Buffer.from(one(r.headers, 'x-shopify-hmac-sha256'));
    return got.length === expected.length && timingSafeEqual(got, Buffer.from(expected));
  },
  async standard(r) {
    const headers = Object.fromEntries(['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((n) => [n, one(r.headers, n)]));
    try {
      at(r.nowMs, () => new Webhook(SECRETS.standard).verify(r.body.toString('utf8'), headers));
      return true;
    } catch {
      return false;
    }
  },
  async twilio(r) {
    const form = Object.fromEntries(groupParams(r.body));
    return twilioLib.validateRequest(SECRETS.twilio, one(r.headers, 'x-twilio-signature'), r.url, form);
  },
};

/** Form parameters as Express's urlencoded parser gives them to twilio's validator (repeats as arrays). */
function groupParams(body: Buffer): Array<[string, string | string[]]> {
  const map = new Map<string, string[]>();
  for (const [k, v] of new URLSearchParams(body.toString('utf8'))) map.set(k, [...(map.get(k) ?? []), v]);
  return [...map].map(([k, v]) => [k, v.length === 1 ? v[0]! : v]);
}
