import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, onTestFinished } from 'vitest';
import { findCapture, listCaptures, partialRequestBody, readBody, selectCaptures } from '../../src/capture/queries.js';
import { REQUEST, RESPONSE, SCHEMA, SCHEMA_VERSION, type CaptureEnd, type CaptureHead } from '../../src/capture/schema.js';
import { CaptureStore, DB_FILE, type StoreOptions } from '../../src/capture/store.js';
import { ErrorCode } from '../../src/errors.js';

function tempDir(): string {
  const root = mkdtempSync(join(tmpdir(), 'hooktunnel-store-'));
  onTestFinished(() => rmSync(root, { recursive: true, force: true }));
  return join(root, 'data');
}

function open(dir: string, options: StoreOptions = {}): CaptureStore {
  const store = CaptureStore.open(dir, options);
  onTestFinished(() => store.close());
  return store;
}

const head = (id: string, time = 1_700_000_000_000, extra: Partial<CaptureHead> = {}): CaptureHead => ({
  id, time, tunnel: 'tun', target: 'http://localhost:3000', method: 'POST', path: `/p/${id}`, headers: ['Host', 'localhost:3000', 'X-A', '1', 'X-A', '2'], ...extra,
});

const end = (extra: Partial<CaptureEnd> = {}): CaptureEnd => ({
  status: 200, responseHeaders: ['Content-Type', 'text/plain'], durationMs: 1.5, requestBytes: 3, responseBytes: 2,
  requestTruncated: false, responseTruncated: false, ...extra,
});

/** The tables of format 4: without the columns formats 5, 6 and 7 added (and 7's index). */
const SCHEMA_4 = SCHEMA.replace(/,\s*tunnel_name\s+TEXT[\s\S]*?attempt\s+INTEGER NOT NULL DEFAULT 0/, '').replace(/CREATE INDEX[^;]*;/, '');

describe('capture store', () => {
  it('creates a 0700 directory and 0600 files whatever the umask', () => {
    const dir = tempDir();
    const previous = process.umask(0o022);
    try {
      const store = open(dir);
      store.writeWhole(head('aaa'), end(), Buffer.from('req'), Buffer.from('ok'));
      const reader = open(dir, { readonly: true });
      expect(listCaptures(reader, 10)).toHaveLength(1);
    } finally {
      process.umask(previous);
    }
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const f of [DB_FILE, `${DB_FILE}-wal`, `${DB_FILE}-shm`]) expect(statSync(join(dir, f)).mode & 0o777, f).toBe(0o600);
  });

  it('reads a whole exchange back: headers in order with repeats, bodies byte-exact, a known id ignored', () => {
    const store = open(tempDir());
    const body = Buffer.from([0, 1, 2, 0xff, 0x0a]);
    expect(store.writeWhole(head('abc123'), end({ requestBytes: 5 }), body, Buffer.alloc(0))).toBe(true);
    expect(store.writeWhole(head('abc123'), end(), Buffer.from('other'), Buffer.alloc(0))).toBe(false);

    const c = findCapture(store, 'abc123');
    expect(c).toMatchObject({ id: 'abc123', method: 'POST', path: '/p/abc123', status: 200, requestBytes: 5, complete: true, missed: false });
    expect(c.requestHeaders).toEqual(['Host', 'localhost:3000', 'X-A', '1', 'X-A', '2']);
    expect(c.responseHeaders).toEqual(['Content-Type', 'text/plain']);
    expect(readBody(store, 'abc123', REQUEST).equals(body)).toBe(true);
    expect(readBody(store, 'abc123', RESPONSE)).toHaveLength(0);
  });

  it('streams bodies as chunk rows: the exchange is there, incomplete, with the bytes stored so far, before it ends', () => {
    const store = open(tempDir());
    const seq = store.begin(head('big'))!;
    store.appendChunk(seq, REQUEST, 0, Buffer.from('hello '));
    store.appendChunk(seq, RESPONSE, 0, Buffer.from('o'));
    expect(findCapture(store, 'big')).toMatchObject({ complete: false, status: 0, requestBytes: 6, responseBytes: 1 });
    // Later chunks go to the body file; while the exchange is unfinished they are counted by its size.
    store.appendChunk(seq, REQUEST, 1, Buffer.from('wor'));
    expect(findCapture(store, 'big')).toMatchObject({ complete: false, requestBytes: 9, responseBytes: 1 });
    expect(readBody(open(store.database.name.replace(/\/captures\.db$/, ''), { readonly: true }), 'big', REQUEST).toString()).toBe('hello wor');
    store.finish(seq, end({ requestBytes: 11 }), 13, [[REQUEST, 2, Buffer.from('ld')], [RESPONSE, 1, Buffer.from('k')]]);

    expect(findCapture(store, 'big')).toMatchObject({ complete: true, status: 200, requestBytes: 11, responseBytes: 2 });
    expect(readBody(store, 'big', REQUEST).toString()).toBe('hello world');
    expect(readBody(store, 'big', RESPONSE).toString()).toBe('ok');
    expect(store.begin(head('big'))).toBeUndefined();
  });

  it('a body is whole unless truncated, or cut off short of its Content-Length while incomplete', () => {
    const store = open(tempDir());
    const withLength = (id: string, n: number): CaptureHead => head(id, undefined, { headers: ['Content-Length', String(n)] });
    store.writeWhole(head('cut'), end({ requestBytes: 9, requestTruncated: true }), Buffer.from('req'), Buffer.alloc(0));
    store.appendChunk(store.begin(withLength('short', 10))!, REQUEST, 0, Buffer.from('12345'));
    store.appendChunk(store.begin(withLength('full', 5))!, REQUEST, 0, Buffer.from('12345'));
    store.appendChunk(store.begin(head('chunked'))!, REQUEST, 0, Buffer.from('12345'));
    const partial = (id: string) => partialRequestBody(findCapture(store, id), readBody(store, id, REQUEST));

    expect(partial('cut')).toEqual({ reason: 'truncated', stored: 3, total: 9 });
    expect(partial('short')).toEqual({ reason: 'incomplete', stored: 5, total: 10 });
    expect(partial('full')).toBeUndefined();
    expect(partial('chunked')).toEqual({ reason: 'incomplete', stored: 5, total: undefined });
  });

  it('lists the newest by arrival time, oldest first; selects all or by id in the order given', () => {
    const store = open(tempDir());
    for (const [id, t] of [['c1', 3], ['a1', 1], ['b1', 2], ['d1', 4]] as const) store.writeWhole(head(id, t), end(), Buffer.alloc(0), Buffer.alloc(0));

    expect(listCaptures(store, 2).map((c) => c.id)).toEqual(['c1', 'd1']);
    expect(listCaptures(store, 10).map((c) => c.id)).toEqual(['a1', 'b1', 'c1', 'd1']);
    expect(selectCaptures(store, []).map((c) => c.id)).toEqual(['a1', 'b1', 'c1', 'd1']);
    expect(selectCaptures(store, ['d', 'a']).map((c) => c.id)).toEqual(['d1', 'a1']);
  });

  it('finds by unique prefix; unknown, ambiguous and malformed ids are invalid_argument with a clear message', () => {
    const store = open(tempDir());
    for (const id of ['abc111', 'abd222', 'x00000']) store.writeWhole(head(id), end(), Buffer.alloc(0), Buffer.alloc(0));

    expect(findCapture(store, 'abc').id).toBe('abc111');
    expect(findCapture(store, 'x').id).toBe('x00000');
    expect(() => findCapture(store, 'ab')).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument, message: expect.stringMatching(/"ab" is ambiguous: it starts abc111, abd222/) }));
    expect(() => findCapture(store, 'zz')).toThrow(/no capture with an id starting with "zz"/);
    expect(() => findCapture(store, 'ab%')).toThrow(/is not a capture id/);
    expect(() => findCapture(store, '')).toThrow(/is not a capture id/);
  });

  it('keeps the newest `retain` captures (within its slack between sweeps, exactly after one)', () => {
    const store = open(tempDir(), { retain: 100 });
    for (let i = 0; i < 260; i++) store.writeWhole(head(`id${String(i).padStart(4, '0')}`, i), end(), Buffer.alloc(10), Buffer.alloc(0));
    const n = listCaptures(store, 1000).length;
    expect(n).toBeGreaterThanOrEqual(100);
    expect(n).toBeLessThanOrEqual(105);

    store.sweep();
    const ids = listCaptures(store, 1000).map((c) => c.id);
    expect(ids).toHaveLength(100);
    expect(ids[0]).toBe('id0160');
    expect(ids[99]).toBe('id0259');
  });

  it('removes the oldest when bodies pass the size cap, chunk rows included, but always keeps the newest', () => {
    const store = open(tempDir(), { retain: 1000, retainBytes: 10_000 });
    for (let i = 0; i < 10; i++) store.writeWhole(head(`s${i}`, i), end(), Buffer.alloc(3000, i), Buffer.alloc(0));
    const kept = listCaptures(store, 100).map((c) => c.id);
    expect(kept.length).toBeLessThanOrEqual(3);
    expect(kept.at(-1)).toBe('s9');

    const seq = store.begin(head('huge', 100))!;
    for (let part = 0; part < 5; part++) store.appendChunk(seq, REQUEST, part, Buffer.alloc(5000));
    store.finish(seq, end({ requestBytes: 25_000 }), 25_000);
    store.sweep();
    expect(listCaptures(store, 100).map((c) => c.id)).toEqual(['huge']);
    expect(readBody(store, 'huge', REQUEST)).toHaveLength(25_000);
    // The first chunk is a row (where a search looks); the other four went to the body file.
    const db = new Database(join(store.database.name), { readonly: true });
    onTestFinished(() => void db.close());
    expect(db.prepare('SELECT COUNT(*) AS n FROM bodies').get()).toEqual({ n: 1 });
    const file = join(store.filesDir, `${seq}.req`);
    expect(statSync(file).size).toBe(20_000);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(store.filesDir).mode & 0o777).toBe(0o700);

    // A newer large capture pushes it out: its row, its chunk row and its file go.
    const next = store.begin(head('huger', 101))!;
    for (let part = 0; part < 6; part++) store.appendChunk(next, RESPONSE, part, Buffer.alloc(5000, 7));
    store.finish(next, end({ responseBytes: 30_000 }), 30_000);
    store.sweep();
    expect(listCaptures(store, 100).map((c) => c.id)).toEqual(['huger']);
    expect(existsSync(file)).toBe(false);
    expect(db.prepare('SELECT COUNT(*) AS n FROM bodies').get()).toEqual({ n: 1 });
    expect(readBody(store, 'huger', RESPONSE).equals(Buffer.alloc(30_000, 7))).toBe(true);
  });

  it('reads from a second connection while the first writes (WAL)', () => {
    const dir = tempDir();
    const writer = open(dir);
    writer.writeWhole(head('first', 1), end(), Buffer.from('1'), Buffer.alloc(0));
    const reader = open(dir, { readonly: true });
    const seq = writer.begin(head('second', 2))!;
    writer.appendChunk(seq, REQUEST, 0, Buffer.from('partial'));

    expect(listCaptures(reader, 10).map((c) => [c.id, c.complete])).toEqual([['first', true], ['second', false]]);
    expect(readBody(reader, 'second', REQUEST).toString()).toBe('partial');
  });

  it('refuses a missing store read-only and a store in another format', () => {
    const dir = tempDir();
    expect(() => CaptureStore.open(dir, { readonly: true })).toThrow(/no captures yet/);
    open(dir).close();
    const db = new Database(join(dir, DB_FILE));
    db.pragma('user_version = 99');
    db.close();
    expect(() => CaptureStore.open(dir)).toThrow(new RegExp(`has format 99, this hooktunnel reads format ${SCHEMA_VERSION}`));
    expect(() => CaptureStore.open(dir, { readonly: true })).toThrow(/has format 99/);
  });

  it('keeps the signature check of an exchange, inline or streamed; none when verification was off', () => {
    const store = open(tempDir());
    store.writeWhole(head('signed'), end({ signature: { status: 'invalid', provider: 'stripe', reason: 'timestamp' } }), Buffer.from('x'), Buffer.alloc(0));
    const seq = store.begin(head('streamed'))!;
    store.finish(seq, end({ signature: { status: 'valid', provider: 'github' } }), 0);
    store.writeWhole(head('plain'), end(), Buffer.alloc(0), Buffer.alloc(0));

    expect(findCapture(store, 'signed').signature).toEqual({ status: 'invalid', provider: 'stripe', reason: 'timestamp' });
    expect(findCapture(store, 'streamed').signature).toEqual({ status: 'valid', provider: 'github' });
    expect(findCapture(store, 'plain').signature).toBeUndefined();
  });

  it('migrates a format-4 store to format 5: tunnel name, route, mode and attempt, absent on old captures, kept on new ones', () => {
    const dir = tempDir();
    open(dir).close();
    const db = new Database(join(dir, DB_FILE));
    db.exec('DROP TABLE captures; DROP TABLE bodies;');
    db.exec(SCHEMA_4);
    db.prepare("INSERT INTO captures (id, time, tunnel, target, method, path, req_headers, status, complete) VALUES ('old', 1, 't', 'x', 'POST', '/', '[]', 200, 1)").run();
    db.pragma('user_version = 4');
    db.close();

    const reader = open(dir, { readonly: true });
    expect(listCaptures(reader, 10, { route: 'invoices' })).toEqual([]);
    reader.close();
    const writer = open(dir);
    expect(writer.format).toBe(SCHEMA_VERSION);
    writer.writeWhole({ ...head('new'), tunnelName: 'hooks', route: 'invoices', mode: 'ack', ackAttempt: { n: 2, of: 3 } }, end(), Buffer.alloc(0), Buffer.alloc(0));
    writer.writeWhole({ ...head('other'), tunnelName: 'admin', route: '#1', mode: 'passthrough' }, end(), Buffer.alloc(0), Buffer.alloc(0));
    const old = findCapture(writer, 'old');
    expect([old.tunnelName, old.route, old.mode, old.ackAttempt]).toEqual([undefined, undefined, undefined, undefined]);
    expect(findCapture(writer, 'new')).toMatchObject({ tunnelName: 'hooks', route: 'invoices', mode: 'ack', ackAttempt: { n: 2, of: 3 } });
    expect(listCaptures(writer, 10, { route: 'invoices' }).map((c) => c.id)).toEqual(['new']);
    expect(listCaptures(writer, 10, { tunnel: 'admin' }).map((c) => c.id)).toEqual(['other']);
    expect(listCaptures(writer, 10, { tunnel: 't' }).map((c) => c.id)).toContain('old');
  });

  it('reads a format-1 store read-only as it is, and migrates it to the current format when opened for writing', () => {
    const dir = tempDir();
    open(dir).close();
    const db = new Database(join(dir, DB_FILE));
    // A format-1 store: the same tables without the signature, files and req_complete columns, and one exchange recorded by the old version.
    db.exec('DROP TABLE captures; DROP TABLE bodies;');
    db.exec(SCHEMA_4.replace(/,\s*signature\s+TEXT,\s*files\s+INTEGER NOT NULL DEFAULT 0,\s*req_complete\s+INTEGER NOT NULL DEFAULT 0/, ''));
    db.prepare("INSERT INTO captures (id, time, tunnel, target, method, path, req_headers, status, complete, req_body) VALUES ('old', 1, 't', 'x', 'POST', '/', '[]', 200, 1, x'6869')").run();
    db.pragma('user_version = 1');
    db.close();

    const reader = open(dir, { readonly: true });
    expect(reader.format).toBe(1);
    expect(listCaptures(reader, 10).map((c) => [c.id, c.signature])).toEqual([['old', undefined]]);
    reader.close();
    const writer = open(dir);
    expect(writer.format).toBe(SCHEMA_VERSION);
    writer.writeWhole(head('new'), end({ signature: { status: 'unsigned' } }), Buffer.alloc(0), Buffer.alloc(0));
    expect(listCaptures(writer, 10).map((c) => [c.id, c.signature])).toEqual([['old', undefined], ['new', { status: 'unsigned' }]]);
    expect(readBody(writer, 'old', REQUEST).toString()).toBe('hi');
  });

  it('reads a format-2 store, whose streamed bodies are all chunk rows, before and after migrating it', () => {
    const dir = tempDir();
    open(dir).close();
    const db = new Database(join(dir, DB_FILE));
    db.exec('DROP TABLE captures; DROP TABLE bodies;');
    db.exec(SCHEMA_4.replace(/,\s*files\s+INTEGER NOT NULL DEFAULT 0,\s*req_complete\s+INTEGER NOT NULL DEFAULT 0/, ''));
    db.prepare("INSERT INTO captures (seq, id, time, tunnel, target, method, path, req_headers, status, complete, req_bytes, stored_bytes) VALUES (4, 'old', 1, 't', 'x', 'POST', '/', '[]', 200, 1, 9, 9)").run();
    for (const [part, data] of [[0, 'one '], [1, 'two '], [2, '3']] as const) db.prepare('INSERT INTO bodies VALUES (4, 0, ?, ?)').run(part, Buffer.from(data));
    db.pragma('user_version = 2');
    db.close();

    const reader = open(dir, { readonly: true });
    expect(reader.format).toBe(2);
    expect(readBody(reader, 'old', REQUEST).toString()).toBe('one two 3');
    expect(findCapture(reader, 'old')).toMatchObject({ requestBytes: 9, complete: true });
    reader.close();
    const writer = open(dir);
    expect(writer.format).toBe(SCHEMA_VERSION);
    expect(readBody(writer, 'old', REQUEST).toString()).toBe('one two 3');
  });

  it('migrates a format-5 store to format 6 (upgrade) and keeps an upgraded connection\'s summary', () => {
    const dir = tempDir();
    open(dir).close();
    const db = new Database(join(dir, DB_FILE));
    db.exec('DROP TABLE captures; DROP TABLE bodies;');
    db.exec(SCHEMA.replace(/,\s*upgrade\s+TEXT[\s\S]*?attempt\s+INTEGER NOT NULL DEFAULT 0/, '').replace(/CREATE INDEX[^;]*;/, ''));
    db.prepare("INSERT INTO captures (id, time, tunnel, target, method, path, req_headers, status, complete) VALUES ('old', 1, 't', 'x', 'GET', '/', '[]', 200, 1)").run();
    db.pragma('user_version = 5');
    db.close();

    const reader = open(dir, { readonly: true });
    expect(reader.format).toBe(5);
    expect(findCapture(reader, 'old').upgrade).toBeUndefined();
    reader.close();
    const writer = open(dir);
    expect(writer.format).toBe(SCHEMA_VERSION);
    const upgrade = { protocol: 'websocket', messagesIn: 3, messagesOut: 2, bytesIn: 120, bytesOut: 80 };
    writer.writeWhole(head('ws'), end({ status: 101, upgrade }), Buffer.alloc(0), Buffer.alloc(0));
    expect(findCapture(writer, 'ws')).toMatchObject({ status: 101, upgrade });
    expect(findCapture(writer, 'old').upgrade).toBeUndefined();
  });
});
