import type { SignatureCheck } from '../model/signature.js';
import { headerValue } from '../protocol/headers.js';
import type { ProviderName, WebhookSecret } from './types.js';
import { SCHEMES, detectSignature } from './verify.js';

/**
 * The provider that sent a request: the one whose signature was checked, else the one whose signature headers are
 * there, else the one its other headers name (`X-GitHub-Event`, Stripe's user agent). Undefined when none does.
 */
export function providerOf(headers: readonly string[], signature?: SignatureCheck, secrets: readonly WebhookSecret[] = []): ProviderName | undefined {
  return signature?.provider ?? detectSignature(headers, secrets)?.scheme.provider ?? SCHEMES.find((s) => s.hinted(headers))?.provider;
}

/** The JSON body's value at `path`, when it is a string. */
function jsonString(body: Buffer, path: readonly string[]): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  for (const key of path) value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/**
 * The event type of a provider's request, where the provider says it: GitHub's `X-GitHub-Event`, Shopify's
 * `X-Shopify-Topic`, the `type` of a Stripe or Standard Webhooks event, Slack's `event.type` (else its `type`).
 */
export function eventOf(provider: ProviderName | undefined, headers: readonly string[], body: Buffer): string | undefined {
  switch (provider) {
    case 'github': return headerValue(headers, 'x-github-event');
    case 'shopify': return headerValue(headers, 'x-shopify-topic');
    case 'stripe':
    case 'standard': return jsonString(body, ['type']);
    case 'slack': return jsonString(body, ['event', 'type']) ?? jsonString(body, ['type']);
    default: return undefined;
  }
}

/**
 * Request headers that carry secrets or signatures: credentials, cookies, the providers' signature headers and
 * common token headers. Names in lower case. A `generic` secret's own header counts too (see secretHeaders).
 */
export const SECRET_HEADERS: readonly string[] = [
  'authorization', 'proxy-authorization', 'cookie',
  'stripe-signature', 'x-hub-signature', 'x-hub-signature-256', 'x-slack-signature', 'x-shopify-hmac-sha256',
  'webhook-signature', 'svix-signature', 'x-twilio-signature', 'x-signature',
  'x-api-key', 'api-key', 'x-auth-token', 'x-access-token', 'x-gitlab-token', 'x-webhook-secret', 'x-webhook-token',
];

/** SECRET_HEADERS plus the headers configured `generic` secrets sign in. */
export function secretHeaders(secrets: readonly WebhookSecret[]): Set<string> {
  return new Set([...SECRET_HEADERS, ...secrets.filter((s) => s.provider === 'generic' && s.header).map((s) => s.header!.toLowerCase())]);
}
