// An example of testing a webhook handler through a real tunnel with hooktunnel's test API.
// Runs as it is under vitest. Under node:test, import { describe, it } from 'node:test' instead; under jest, from
// '@jest/globals' (or use its globals and drop the import). Nothing else changes: assertions are node:assert.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { describe, it } from 'vitest';
import { openTestTunnel } from 'hooktunnel';

const STRIPE_SECRET = 'whsec_example_endpoint_secret';
const stripe = new Stripe('sk_test_example');

/** The handler under test: checks Stripe's signature over the raw body, answers with the event type it got. */
async function handleStripe(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    const event = stripe.webhooks.constructEvent(Buffer.concat(chunks), String(req.headers['stripe-signature']), STRIPE_SECRET);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ received: event.type }));
  } catch {
    res.writeHead(400).end('bad signature');
  }
}

/** Starts the app on a free loopback port. */
async function startApp(): Promise<ReturnType<typeof createServer>> {
  const server = createServer((req, res) => void handleStripe(req, res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

describe('the Stripe webhook handler', () => {
  it('accepts a signed payment_intent.succeeded event sent through the tunnel', async () => {
    await using app = await startApp();
    await using tunnel = await openTestTunnel((app.address() as AddressInfo).port, { verify: { stripe: STRIPE_SECRET } });

    const answer = await tunnel.send('stripe', 'payment_intent.succeeded', { path: '/webhooks/stripe' });
    const exchange = await tunnel.waitFor({ method: 'POST', path: '/webhooks/stripe', event: 'payment_intent.succeeded' }, { timeoutMs: 5000 });

    assert.equal(answer.status, 200);
    assert.equal(exchange.signature?.status, 'valid');
    assert.equal(exchange.response?.status, 200);
    assert.deepEqual(exchange.response?.json(), { received: 'payment_intent.succeeded' });
  });

  it('refuses an event signed with another secret', async () => {
    await using app = await startApp();
    await using tunnel = await openTestTunnel((app.address() as AddressInfo).port, { verify: { stripe: STRIPE_SECRET } });

    await tunnel.send('stripe', 'payment_intent.succeeded', { path: '/webhooks/stripe', secret: 'whsec_someone_else' });
    const exchange = await tunnel.waitFor({ path: '/webhooks/stripe' });

    assert.equal(exchange.response?.status, 400);
    assert.deepEqual(exchange.signature, { status: 'invalid', provider: 'stripe', reason: 'mismatch' });
  });
});
