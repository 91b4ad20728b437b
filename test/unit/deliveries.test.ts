import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Deliveries, storeDeliveries } from '../../src/capture/deliveries.js';
import { findCapture, listCaptures } from '../../src/capture/queries.js';
import { SCHEMA, type CaptureEnd, type CaptureHead } from '../../src/capture/schema.js';
import { CaptureStore, DB_FILE } from '../../src/capture/store.js';
import { deliveryIdOf } from '../../src/webhooks/delivery.js';

function store(dir = join(mkdtempSync(join(tmpdir(), 'hooktunnel-deliv-')), 'data')): CaptureStore {
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const s = CaptureStore.open(dir);
  onTestFinished(() => s.close());
  return s;
}

const head = (id: string, headers: string[] = []): CaptureHead => ({ id, time: 1, tunnel: 't', target: 'x', method: 'POST', path: '/', headers });
const end = (extra: Partial<CaptureEnd> = {}): CaptureEnd => ({ status: 200, durationMs: 1, requestBytes: 0, responseBytes: 0, requestTruncated: false, responseTruncated: false, ...extra });

describe('deliveryIdOf', () => {
  it('reads each provider\'s delivery id, namespaced', () => {
    expect(deliveryIdOf(['X-GitHub-Delivery', '72d3162e-cc78-11e3-81ab-4c9367dc0958'], Buffer.alloc(0))).toBe('github:72d3162e-cc78-11e3-81ab-4c9367dc0958');
    expect(deliveryIdOf(['webhook-id', 'msg_1'], Buffer.alloc(0))).toBe('standard:msg_1');
    expect(deliveryIdOf(['svix-id', 'msg_2'], Buffer.alloc(0))).toBe('standard:msg_2');
    expect(deliveryIdOf(['X-Shopify-Event-Id', 'e1', 'X-Shopify-Webhook-Id', 'w1'], Buffer.alloc(0))).toBe('shopify:w1');
    expect(deliveryIdOf(['X-Shopify-Event-Id', 'e1'], Buffer.alloc(0))).toBe('shopify:e1');
    expect(deliveryIdOf(['Stripe-Signature', 't=1,v1=ab'], Buffer.from('{"id":"evt_1","object":"event"}'))).toBe('stripe:evt_1');
    expect(deliveryIdOf(['Stripe-Signature', 't=1,v1=ab'], Buffer.from('not json'))).toBeUndefined();
    expect(deliveryIdOf(['X-Slack-Signature', 'v0=1'], Buffer.from('{"event_id":"Ev1","event":{}}'))).toBe('slack:Ev1');
    expect(deliveryIdOf(['X-Slack-Retry-Num', '1'], Buffer.from('command=/x'))).toMatch(/^slack:sha256:[0-9a-f]{64}$/);
    // A body `id` means nothing without Stripe's headers.
    expect(deliveryIdOf(['Content-Type', 'application/json'], Buffer.from('{"id":"evt_1"}'))).toBeUndefined();
  });
});

describe('Deliveries', () => {
  it('in memory: attempts count per delivery id; a replay of a request without one is a redelivery too', () => {
    const d = new Deliveries();
    expect(d.place('a', 'github:1', undefined)).toEqual({ deliveryId: 'github:1', attempt: 1 });
    expect(d.place('b', 'github:2', undefined)).toEqual({ deliveryId: 'github:2', attempt: 1 });
    expect(d.place('c', 'github:1', undefined)).toEqual({ deliveryId: 'github:1', attempt: 2, redeliveryOf: 'a' });
    expect(d.place('d', undefined, undefined)).toBeUndefined();
    expect(d.place('e', undefined, 'd')).toEqual({ deliveryId: 'hooktunnel:d', attempt: 2, redeliveryOf: 'd' });
    expect(d.place('f', undefined, 'e')).toEqual({ deliveryId: 'hooktunnel:d', attempt: 3, redeliveryOf: 'd' });
    expect(d.place('g', undefined, 'c')).toEqual({ deliveryId: 'github:1', attempt: 3, redeliveryOf: 'a' });
  });

  it('backed by the store: earlier runs are known (indexed by delivery id), and the marks read back', () => {
    const s = store();
    const first = storeDeliveries(s);
    const mark = first.place('one', 'stripe:evt_1', undefined)!;
    s.writeWhole(head('one'), end(mark), Buffer.alloc(0), Buffer.alloc(0));
    // A new agent run: nothing in memory, the store knows.
    const again = storeDeliveries(s).place('two', 'stripe:evt_1', undefined)!;
    expect(again).toEqual({ deliveryId: 'stripe:evt_1', attempt: 2, redeliveryOf: 'one' });
    s.writeWhole(head('two'), end(again), Buffer.alloc(0), Buffer.alloc(0));
    expect(findCapture(s, 'two')).toMatchObject({ deliveryId: 'stripe:evt_1', attempt: 2, redeliveryOf: 'one' });
    expect(findCapture(s, 'one')).toMatchObject({ deliveryId: 'stripe:evt_1', attempt: 1 });
    expect(findCapture(s, 'one').redeliveryOf).toBeUndefined();
    expect(listCaptures(s, 10, { redeliveries: true }).map((c) => c.id)).toEqual(['two']);
    const plan = s.database.prepare("EXPLAIN QUERY PLAN SELECT id FROM captures WHERE delivery_id = 'x'").all() as Array<{ detail: string }>;
    expect(plan.map((p) => p.detail).join()).toContain('captures_delivery');
  });

  it('migrates a format-6 store to format 7 (the delivery columns and the index), keeping its captures', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'hooktunnel-deliv-')), 'data');
    store(dir).close();
    const db = new Database(join(dir, DB_FILE));
    db.exec('DROP TABLE captures; DROP TABLE bodies;');
    db.exec(SCHEMA.replace(/,\s*delivery_id\s+TEXT,\s*redelivery_of\s+TEXT,\s*attempt\s+INTEGER NOT NULL DEFAULT 0/, '').replace(/CREATE INDEX[^;]*;/, ''));
    db.prepare("INSERT INTO captures (id, time, tunnel, target, method, path, req_headers, status, complete) VALUES ('old', 1, 't', 'x', 'POST', '/', '[]', 200, 1)").run();
    db.pragma('user_version = 6');
    db.close();
    const reader = CaptureStore.open(dir, { readonly: true });
    expect(reader.format).toBe(6);
    expect(listCaptures(reader, 10, { redeliveries: true })).toEqual([]);
    expect(findCapture(reader, 'old').attempt).toBeUndefined();
    reader.close();
    const writer = store(dir);
    expect(writer.format).toBe(7);
    expect(storeDeliveries(writer).place('new', undefined, 'old')).toEqual({ deliveryId: 'hooktunnel:old', attempt: 2, redeliveryOf: 'old' });
  });
});
