import { performance } from 'node:perf_hooks';
import { signRequest } from '../webhooks/resign.js';
import type { Sample } from '../webhooks/samples/index.js';
import type { WebhookSecret } from '../webhooks/types.js';

/** What the receiver of a sent event answered. */
export interface SentEvent {
  /** The URL it went to (for Twilio, the one its signature covers). */
  readonly url: string;
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
  readonly durationMs: number;
}

/**
 * Builds `sample` with fresh ids and times, signs it with `secret` as its provider signs for `url`, POSTs it and
 * reads the answer: what `hooktunnel send` and the test API's `tunnel.send` do. `body` replaces the sample's body
 * (signed the same way). Rejects when the receiver cannot be reached.
 */
export async function sendEvent(sample: Sample, url: string, secret: WebhookSecret, options: { readonly body?: Buffer; readonly now?: number } = {}): Promise<SentEvent> {
  const now = options.now ?? Date.now();
  const built = sample.build(now);
  const body = options.body ?? built.body;
  const signed = signRequest({ url, headers: built.headers, body }, secret, now);
  // undici only now: `send --list` and bad input answer without loading it.
  const { request } = await import('undici');
  const began = performance.now();
  const res = await request(signed.url, { method: 'POST', headers: signed.headers, body });
  const answer = Buffer.from(await res.body.arrayBuffer());
  return { url: signed.url, status: res.statusCode, headers: res.headers, body: answer, durationMs: performance.now() - began };
}
