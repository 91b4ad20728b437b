import { createHash, type Hash } from 'node:crypto';
import { hasHeader, headerValue } from '../protocol/headers.js';

/**
 * The delivery id a webhook carries, the same on every redelivery of it, as `provider:id`:
 * GitHub `X-GitHub-Delivery`; Standard Webhooks `webhook-id` (Svix: `svix-id`); Shopify `X-Shopify-Webhook-Id`, else
 * `X-Shopify-Event-Id`; Stripe the event's `id` in the JSON body; Slack the Events API `event_id` in the JSON body,
 * else the body's sha256 (a Slack retry, `X-Slack-Retry-Num`, re-sends the same body). Pure: no I/O.
 */

/** Body bytes kept to read a Stripe or Slack id from: their event bodies are far smaller. */
export const DELIVERY_BODY_BYTES = 256 * 1024;
/** Longer ids are cut: an id is a lookup key, not a place to store a stranger's megabytes. */
const MAX_ID = 200;

function id(provider: string, value: string | undefined): string | undefined {
  const v = value?.trim();
  return v ? `${provider}:${v.slice(0, MAX_ID)}` : undefined;
}

function isStripe(headers: readonly string[]): boolean {
  return hasHeader(headers, 'stripe-signature') || /^Stripe\//.test(headerValue(headers, 'user-agent') ?? '');
}

function isSlack(headers: readonly string[]): boolean {
  return hasHeader(headers, 'x-slack-signature') || hasHeader(headers, 'x-slack-request-timestamp') || hasHeader(headers, 'x-slack-retry-num');
}

/** The delivery id found in the headers alone, or undefined (Stripe's and Slack's are in the body). */
export function headerDeliveryId(headers: readonly string[]): string | undefined {
  return id('github', headerValue(headers, 'x-github-delivery'))
    ?? id('standard', headerValue(headers, 'webhook-id') ?? headerValue(headers, 'svix-id'))
    ?? id('shopify', headerValue(headers, 'x-shopify-webhook-id') ?? headerValue(headers, 'x-shopify-event-id'));
}

function jsonField(body: Buffer, field: string): string | undefined {
  try {
    const value = (JSON.parse(body.toString('utf8')) as Record<string, unknown> | null)?.[field];
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Reads a request's delivery id as its body passes: holds at most DELIVERY_BODY_BYTES, and only for Stripe and Slack. */
export class DeliveryProbe {
  private readonly fromHeaders: string | undefined;
  private readonly provider: 'stripe' | 'slack' | undefined;
  private readonly parts: Buffer[] = [];
  private kept = 0;
  private cut = false;
  private readonly hash: Hash | undefined;

  constructor(headers: readonly string[]) {
    this.fromHeaders = headerDeliveryId(headers);
    this.provider = this.fromHeaders ? undefined : isStripe(headers) ? 'stripe' : isSlack(headers) ? 'slack' : undefined;
    this.hash = this.provider === 'slack' ? createHash('sha256') : undefined;
  }

  /** Feeds the next body bytes. */
  update(chunk: Buffer): void {
    if (!this.provider) return;
    this.hash?.update(chunk);
    if (this.kept + chunk.length > DELIVERY_BODY_BYTES) this.cut = true;
    else {
      this.parts.push(chunk);
      this.kept += chunk.length;
    }
  }

  /** The delivery id (call once, when the body has passed). */
  result(): string | undefined {
    if (this.fromHeaders || !this.provider) return this.fromHeaders;
    const body = this.cut ? undefined : Buffer.concat(this.parts);
    if (this.provider === 'stripe') return body && id('stripe', jsonField(body, 'id'));
    return (body && id('slack', jsonField(body, 'event_id'))) ?? `slack:sha256:${this.hash!.digest('hex')}`;
  }
}

/** The delivery id of a whole request (a missed one, a test). */
export function deliveryIdOf(headers: readonly string[], body: Buffer): string | undefined {
  const probe = new DeliveryProbe(headers);
  probe.update(body);
  return probe.result();
}
