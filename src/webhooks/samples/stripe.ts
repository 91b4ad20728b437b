import { json, sampleId, type Sample } from './sample.js';

function event(type: string, now: number, object: Record<string, unknown>): Buffer {
  return json({
    id: sampleId('evt_'), object: 'event', api_version: '2024-06-20', created: Math.floor(now / 1000), type,
    data: { object }, livemode: false, pending_webhooks: 1, request: { id: sampleId('req_', 14), idempotency_key: null },
  });
}

const headers = (): string[] => ['User-Agent', 'Stripe/1.0 (+https://stripe.com/docs/webhooks)', 'Content-Type', 'application/json; charset=utf-8', 'Cache-Control', 'no-cache', 'Accept', '*/*; q=0.5, application/xml'];

/** Stripe samples, shaped like Stripe's Event objects (API version 2024-06-20). */
export const stripeSamples: Sample[] = [
  {
    provider: 'stripe', event: 'payment_intent.succeeded', description: 'a 20.00 USD card payment succeeded',
    build(now) {
      const id = sampleId('pi_');
      return {
        headers: headers(),
        body: event('payment_intent.succeeded', now, {
          id, object: 'payment_intent', amount: 2000, amount_received: 2000, currency: 'usd', status: 'succeeded', capture_method: 'automatic',
          client_secret: `${id}_secret_${sampleId('', 16)}`, created: Math.floor(now / 1000) - 3, customer: sampleId('cus_', 14), description: 'Order #1042',
          latest_charge: sampleId('ch_'), livemode: false, metadata: { order_id: '1042' }, payment_method: sampleId('pm_'), payment_method_types: ['card'],
        }),
      };
    },
  },
  {
    provider: 'stripe', event: 'checkout.session.completed', description: 'a Checkout session paid',
    build(now) {
      return {
        headers: headers(),
        body: event('checkout.session.completed', now, {
          id: sampleId('cs_test_', 58), object: 'checkout.session', amount_subtotal: 4500, amount_total: 4500, currency: 'usd', mode: 'payment',
          payment_status: 'paid', status: 'complete', customer: sampleId('cus_', 14), customer_details: { email: 'jenny.rosen@example.com', name: 'Jenny Rosen' },
          payment_intent: sampleId('pi_'), success_url: 'https://example.com/success', created: Math.floor(now / 1000) - 60, livemode: false, metadata: {},
        }),
      };
    },
  },
];
