import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { AgentEventMap, ExchangeStart } from '../../src/agent/events.js';
import { findCapture, listCaptures, readBody } from '../../src/capture/queries.js';
import { BUFFER_BYTES, attachRecorder } from '../../src/capture/recorder.js';
import { REQUEST, RESPONSE } from '../../src/capture/schema.js';
import { CaptureStore, type StoreOptions } from '../../src/capture/store.js';

function setup(options: StoreOptions = {}) {
  const root = mkdtempSync(join(tmpdir(), 'hooktunnel-rec-'));
  const store = CaptureStore.open(join(root, 'data'), options);
  onTestFinished(() => {
    store.close();
    rmSync(root, { recursive: true, force: true });
  });
  const events = new EventEmitter<AgentEventMap>();
  const errors: Error[] = [];
  const detach = attachRecorder(events, store, (err) => errors.push(err));
  return { store, events, errors, detach };
}

const start = (id: string, extra: Partial<ExchangeStart> = {}): ExchangeStart => ({
  id, time: Date.now(), tunnel: 'tun', target: 'http://localhost:3000', method: 'POST', path: '/hook', headers: ['Host', 'localhost:3000'], ...extra,
});

/** Emits one exchange the way the agent does: start, request chunks, response head, response chunks, end. */
function exchange(events: EventEmitter<AgentEventMap>, id: string, request: Buffer[], response: Buffer[], extra: Partial<ExchangeStart> = {}): void {
  events.emit('exchange-start', start(id, extra));
  for (const c of request) events.emit('request-body', id, c);
  events.emit('exchange-response', { id, status: 201, headers: ['Content-Type', 'application/json'] });
  for (const c of response) events.emit('response-body', id, c);
  const bytes = (list: Buffer[]): number => list.reduce((n, c) => n + c.length, 0);
  events.emit('request', { type: 'request', id, method: 'POST', path: '/hook', status: 201, durationMs: 2, requestBytes: bytes(request), responseBytes: bytes(response), ...(extra.replayOf ? { replayOf: extra.replayOf } : {}) });
}

/** Resolves after the writes queued in this event-loop turn are committed. */
const turnEnd = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('recorder', () => {
  it('marks a request body whole before the exchange ends, with its last bytes stored: streamed, and when a large response starts the row', () => {
    const { store, events } = setup();
    const big = randomBytes(BUFFER_BYTES + 1000);
    const small = Buffer.from('{"small":true}');
    events.emit('exchange-start', start('streamed'));
    events.emit('request-body', 'streamed', big);
    events.emit('request-body', 'streamed', Buffer.from('tail'));
    const before = findCapture(store, 'streamed');
    events.emit('request-end', 'streamed');
    events.emit('exchange-start', start('late'));
    events.emit('request-body', 'late', small);
    events.emit('request-end', 'late');
    events.emit('exchange-response', { id: 'late', status: 200, headers: [] });
    events.emit('response-body', 'late', randomBytes(BUFFER_BYTES));
    events.emit('exchange-start', start('open'));
    events.emit('request-body', 'open', big);

    // Neither exchange has ended (as when the agent is killed now): the store already knows both requests are whole.
    expect(before).toMatchObject({ complete: false, requestComplete: false });
    expect(findCapture(store, 'streamed')).toMatchObject({ complete: false, requestComplete: true });
    expect(readBody(store, 'streamed', REQUEST).equals(Buffer.concat([big, Buffer.from('tail')]))).toBe(true);
    expect(findCapture(store, 'late')).toMatchObject({ complete: false, requestComplete: true });
    expect(readBody(store, 'late', REQUEST).equals(small)).toBe(true);
    expect(findCapture(store, 'open')).toMatchObject({ complete: false, requestComplete: false });
  });

  it('records a small exchange in one row when it completes, with replayOf', async () => {
    const { store, events } = setup();
    events.emit('exchange-start', start('one'));
    events.emit('request-body', 'one', Buffer.from('{"a":'));
    expect(listCaptures(store, 10)).toHaveLength(0);
    events.emit('request-body', 'one', Buffer.from('1}'));
    events.emit('exchange-response', { id: 'one', status: 201, headers: ['X', 'y'] });
    events.emit('response-body', 'one', Buffer.from('ok'));
    events.emit('request', { type: 'request', id: 'one', method: 'POST', path: '/hook', status: 201, durationMs: 2, requestBytes: 7, responseBytes: 2 });
    exchange(events, 'two', [Buffer.from('again')], [], { replayOf: 'one' });
    await turnEnd();

    expect(findCapture(store, 'one')).toMatchObject({ status: 201, responseHeaders: ['X', 'y'], requestBytes: 7, responseBytes: 2, complete: true });
    expect(readBody(store, 'one', REQUEST).toString()).toBe('{"a":1}');
    expect(readBody(store, 'one', RESPONSE).toString()).toBe('ok');
    expect(findCapture(store, 'two').replayOf).toBe('one');
  });

  it('streams a large body to the store as it passes: the row exists before the exchange ends', () => {
    const { store, events } = setup();
    const chunks = Array.from({ length: 10 }, () => randomBytes(BUFFER_BYTES / 2 + 7));
    events.emit('exchange-start', start('big'));
    for (const c of chunks.slice(0, 5)) events.emit('request-body', 'big', c);
    expect(findCapture(store, 'big').complete).toBe(false);
    expect(readBody(store, 'big', REQUEST).length).toBeGreaterThanOrEqual(BUFFER_BYTES);
    for (const c of chunks.slice(5)) events.emit('request-body', 'big', c);
    events.emit('exchange-response', { id: 'big', status: 200, headers: [] });
    events.emit('response-body', 'big', Buffer.from('done'));
    events.emit('request', { type: 'request', id: 'big', method: 'POST', path: '/hook', status: 200, durationMs: 9, requestBytes: 0, responseBytes: 4 });

    expect(findCapture(store, 'big')).toMatchObject({ complete: true, requestBytes: Buffer.concat(chunks).length, requestTruncated: false });
    expect(readBody(store, 'big', REQUEST).equals(Buffer.concat(chunks))).toBe(true);
    expect(readBody(store, 'big', RESPONSE).toString()).toBe('done');
  });

  it('commits the small exchanges that end in one event-loop turn together, at the end of the turn', async () => {
    const { store, events } = setup();
    for (let i = 0; i < 50; i++) exchange(events, `g${i}`, [Buffer.from(`body ${i}`)], [Buffer.from('ok')]);
    expect(listCaptures(store, 100)).toHaveLength(0);
    await turnEnd();
    const rows = listCaptures(store, 100);
    expect(rows.map((r) => r.id)).toEqual(Array.from({ length: 50 }, (_, i) => `g${i}`));
    expect(readBody(store, 'g49', REQUEST).toString()).toBe('body 49');
  });

  it('close() commits what is still queued', () => {
    const root = mkdtempSync(join(tmpdir(), 'hooktunnel-rec-'));
    onTestFinished(() => rmSync(root, { recursive: true, force: true }));
    const dir = join(root, 'data');
    const writer = CaptureStore.open(dir);
    const events = new EventEmitter<AgentEventMap>();
    attachRecorder(events, writer, (err) => {
      throw err;
    });
    exchange(events, 'late', [Buffer.from('last words')], []);
    writer.close();
    const reader = CaptureStore.open(dir, { readonly: true });
    onTestFinished(() => reader.close());
    expect(readBody(reader, 'late', REQUEST).toString()).toBe('last words');
  });

  it('stores bodies up to the cap and marks them truncated, small and streamed alike', async () => {
    const { store, events } = setup({ maxBodyBytes: 1000 });
    const big = randomBytes(300_000);
    exchange(events, 'small', [Buffer.alloc(600, 1), Buffer.alloc(600, 2)], [Buffer.alloc(10)]);
    exchange(events, 'large', [big.subarray(0, 100_000), big.subarray(100_000)], []);
    await turnEnd();

    expect(findCapture(store, 'small')).toMatchObject({ requestBytes: 1200, requestTruncated: true, responseTruncated: false });
    expect(readBody(store, 'small', REQUEST).equals(Buffer.concat([Buffer.alloc(600, 1), Buffer.alloc(400, 2)]))).toBe(true);
    expect(findCapture(store, 'large')).toMatchObject({ requestBytes: 300_000, requestTruncated: true });
    expect(readBody(store, 'large', REQUEST).equals(big.subarray(0, 1000))).toBe(true);
  });

  it('records a missed request once, as missed, with the status the sender got', async () => {
    const { store, events } = setup();
    const missed = { type: 'missed' as const, id: 'm1', time: 5, tunnel: 'tun', target: 'http://localhost:3000', method: 'PUT', path: '/x', headers: ['A', 'b'], body: Buffer.from('kept'), status: 503 };
    events.emit('missed', missed);
    events.emit('missed', missed);
    await turnEnd();

    expect(listCaptures(store, 10)).toHaveLength(1);
    expect(findCapture(store, 'm1')).toMatchObject({ missed: true, status: 503, error: 'agent_offline', requestBytes: 4, responseHeaders: undefined });
    expect(readBody(store, 'm1', REQUEST).toString()).toBe('kept');
  });

  it('a failing store never throws into the agent: the first failure is reported once, later exchanges still try', async () => {
    const { store, events, errors } = setup();
    store.database.exec('DROP TABLE captures');
    expect(() => exchange(events, 'x1', [Buffer.from('a')], [])).not.toThrow();
    await turnEnd();
    expect(() => exchange(events, 'x2', [randomBytes(BUFFER_BYTES * 2)], [])).not.toThrow();
    await turnEnd();
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/no such table/);
  });

  it('detaches', () => {
    const { store, events, detach } = setup();
    detach();
    exchange(events, 'gone', [], []);
    expect(listCaptures(store, 10)).toHaveLength(0);
    expect(events.listenerCount('request')).toBe(0);
  });
});
