import { json, randomUUID, type Sample } from './sample.js';

/** Shopify samples, shaped like the Admin API webhook payloads. */
export const shopifySamples: Sample[] = [
  {
    provider: 'shopify', event: 'orders/create', description: 'an order placed in the shop',
    build(now) {
      const created = new Date(now).toISOString();
      const id = 5_000_000_000_000 + Math.floor(Math.random() * 1e9);
      return {
        headers: [
          'Content-Type', 'application/json', 'User-Agent', 'Shopify-Captain-Hook', 'X-Shopify-Topic', 'orders/create',
          'X-Shopify-Shop-Domain', 'example-shop.myshopify.com', 'X-Shopify-API-Version', '2024-07', 'X-Shopify-Webhook-Id', randomUUID(),
          'X-Shopify-Triggered-At', created, 'X-Shopify-Event-Id', randomUUID(),
        ],
        body: json({
          id, admin_graphql_api_id: `gid://shopify/Order/${id}`, name: '#1042', order_number: 1042, email: 'jon@example.com', created_at: created,
          currency: 'USD', financial_status: 'paid', fulfillment_status: null, subtotal_price: '39.00', total_tax: '3.12', total_price: '42.12',
          customer: { id: 6_000_000_001, email: 'jon@example.com', first_name: 'Jon', last_name: 'Snow' },
          line_items: [{ id: 13_000_000_001, title: 'Hooktunnel T-shirt', quantity: 1, price: '39.00', sku: 'HT-TEE-M', variant_title: 'M' }],
          shipping_address: { name: 'Jon Snow', address1: '1 Wall Street', city: 'Winterfell', country_code: 'US', zip: '10005' },
        }),
      };
    },
  },
];
