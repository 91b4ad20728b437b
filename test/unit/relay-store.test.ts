import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, onTestFinished } from 'vitest';
import { parseAllowList } from '../../src/relay/auth.js';
import type { TunnelAccess } from '../../src/relay/gate.js';
import { keptRequest, type OfflineLimits } from '../../src/relay/offline.js';
import { RegistryFile } from '../../src/relay/state-file.js';
import { MemoryDirectory } from '../../src/relay/store/memory-directory.js';
import { MemoryInbox } from '../../src/relay/store/memory-inbox.js';
import { openRelayStore } from '../../src/relay/store/open.js';
import { RELAY_DB_FILE, openSqliteStore } from '../../src/relay/store/sqlite.js';
import type { Inbox, RelayStore, TunnelDirectory } from '../../src/relay/store/types.js';

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hooktunnel-relaystore-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const LIMITS = { tunnelsPerToken: 10, requestsPerMinute: 100 };

/** A SQLite store on a real file in a fresh directory (`dir/relay`), closed when the test finishes. */
function sqlite(offline: Partial<OfflineLimits> = {}, reservationMs = 60_000, dir = join(tempDir(), 'relay')): RelayStore & { dir: string } {
  const store = openSqliteStore(dir, { reservationMs, offline: { maxCount: 100, maxBytes: 1 << 20, ttlMs: 60_000, ...offline }, limits: LIMITS });
  onTestFinished(() => store.close());
  return Object.assign(store, { dir });
}

const head = { method: 'POST', path: '/x', headers: ['Content-Type', 'application/octet-stream'], remote: '127.0.0.1', host: 'h' };
const access: TunnelAccess = { owner: 'token:ab' };

const inboxes: Array<[string, (o: Pick<OfflineLimits, 'maxCount' | 'maxBytes' | 'ttlMs'>) => Inbox]> = [
  ['memory', (o) => new MemoryInbox(o)],
  ['sqlite (a real file)', (o) => sqlite(o).inbox],
];

describe.each(inboxes)('inbox: %s', (_name, make) => {
  it('keeps per tunnel, drops the oldest beyond count or bytes, and reports the drops once', async () => {
    const q = make({ maxCount: 2, maxBytes: 10, ttlMs: 60_000 });
    for (const body of ['aaaa', 'bbbb', 'cccc', 'dddddddd']) await q.keep('t', keptRequest(head, Buffer.from(body), Date.now()));
    await q.keep('other', keptRequest(head, Buffer.from('x'), Date.now()));

    const first = await q.pending('t');
    expect(first.items.map((i) => i.body.toString())).toEqual(['dddddddd']);
    expect(first.dropped).toBe(3);
    expect((await q.pending('t')).dropped).toBe(0);
    expect(q.counts()).toEqual({ kept: 2, dropped: 3 });
    await q.ack('t', [first.items[0]!.head.id]);
    expect((await q.pending('t')).items).toEqual([]);
    expect((await q.pending('other')).items).toHaveLength(1);
    expect(q.counts().kept).toBe(1);
  });

  it('expires kept requests after the TTL, on delivery and by the sweep, counting them as dropped', async () => {
    const q = make({ maxCount: 10, maxBytes: 100, ttlMs: 1000 });
    await q.keep('t', keptRequest(head, Buffer.from('old'), Date.now() - 5000));
    await q.keep('t', keptRequest(head, Buffer.from('new'), Date.now()));
    await q.keep('u', keptRequest(head, Buffer.from('old too'), Date.now() - 5000));

    expect(await q.expire()).toBe(2);
    expect(q.counts()).toEqual({ kept: 1, dropped: 2 });
    const t = await q.pending('t');
    expect(t.items.map((i) => i.body.toString())).toEqual(['new']);
    expect(t.dropped).toBe(1);
    expect(await q.pending('u')).toEqual({ items: [], dropped: 1 });
  });

  it('keeps bodies byte for byte and heads as they came, counts refusals, and forgets a tunnel', async () => {
    const q = make({ maxCount: 10, maxBytes: 1 << 20, ttlMs: 60_000 });
    const body = randomBytes(200 * 1024);
    const kept = keptRequest({ ...head, headers: ['X-Odd', 'caf\u00e9 \u00ff', 'X-Empty', ''] }, body, Date.now());
    await q.keep('t', kept);
    await q.refuse('t');
    const [item] = (await q.pending('t')).items;
    expect(Buffer.compare(item!.body, body)).toBe(0);
    expect(item!.head).toEqual(kept.head);
    await q.refuse('t');
    await q.forget(['t']);
    expect(await q.pending('t')).toEqual({ items: [], dropped: 0 });
    expect(q.counts()).toEqual({ kept: 0, dropped: 2 });
  });
});

const directories: Array<[string, (reservationMs: number) => TunnelDirectory]> = [
  ['memory', (ms) => new MemoryDirectory(ms)],
  ['sqlite (a real file)', (ms) => sqlite({}, ms).directory],
];

describe.each(directories)('tunnel directory: %s', (_name, make) => {
  it('refuses a held or reserved id to anyone without its secret, lets the owner back, and ignores a stale release', async () => {
    const d = make(60_000);
    const first = await d.claim('mine', undefined, access);
    expect(first).toMatchObject({ id: 'mine', epoch: 1, inherited: false });
    await expect(d.claim('mine', 'guess', access)).rejects.toMatchObject({ code: 'tunnel_taken' });
    const again = await d.claim('mine', first.secret, { owner: 'token:ab', allow: parseAllowList(['10.0.0.0/8']), allowList: ['10.0.0.0/8'] });
    expect(again).toMatchObject({ epoch: 2, inherited: true, secret: first.secret });
    // The replaced connection's release names the old epoch: the new holder keeps the tunnel.
    await d.release('mine', first.epoch);
    expect(await d.lookup('mine')).toMatchObject({ held: true });
    await d.release('mine', again.epoch);
    const reserved = await d.lookup('mine');
    expect(reserved).toMatchObject({ held: false });
    expect(reserved!.reservedUntil).toBeGreaterThan(Date.now());
    expect(reserved!.access.allow?.check('10.1.2.3')).toBe(true);
    await expect(d.claim('mine', undefined, access)).rejects.toMatchObject({ code: 'tunnel_taken' });
    await expect(d.claim('www', undefined, access)).rejects.toMatchObject({ code: 'invalid_tunnel_id' });
    const random = await d.claim(undefined, undefined, access);
    expect(random.id).toMatch(/^[a-z0-9]{12}$/);
    expect(await d.lookup('nothing-here')).toBeUndefined();
  });

  it('sweeps ids whose reservation ran out; a stranger may then take the id, and inherits nothing', async () => {
    const d = make(1);
    const c = await d.claim('brief', undefined, access);
    await d.release('brief', c.epoch);
    const later = Date.now() + 5;
    while (Date.now() < later) {
      // the 1 ms reservation runs out
    }
    expect(await d.lookup('brief')).toBeUndefined();
    expect(await d.sweep()).toEqual(['brief']);
    expect(await d.claim('brief', 'someone else', access)).toMatchObject({ inherited: false });
  });
});

describe('sqlite relay store', () => {
  it('creates its directory 0700 and its files 0600, and holds no secret', async () => {
    const store = sqlite();
    const claimed = await store.directory.claim('private', undefined, access);
    await store.inbox.keep('private', keptRequest(head, Buffer.from('x'), Date.now()));
    expect(statSync(store.dir).mode & 0o777).toBe(0o700);
    for (const f of [RELAY_DB_FILE, `${RELAY_DB_FILE}-wal`]) expect(statSync(join(store.dir, f)).mode & 0o777).toBe(0o600);
    await store.close();
    expect(readFileSync(join(store.dir, RELAY_DB_FILE)).includes(claimed.secret)).toBe(false);
  });

  it('after a reopen, has the kept requests and the tunnels, held ones reserved again for their owners', async () => {
    const dir = join(tempDir(), 'relay');
    const first = sqlite({}, 60_000, dir);
    const held = await first.directory.claim('held', undefined, access);
    const body = randomBytes(1000);
    await first.inbox.keep('held', keptRequest(head, body, Date.now()));
    // Closed without releasing the held tunnel, as a relay killed under it leaves it (kill -9: test/e2e/relay-store).
    await first.close();

    const second = sqlite({}, 60_000, dir);
    expect(await second.directory.lookup('held')).toMatchObject({ held: false });
    await expect(second.directory.claim('held', undefined, access)).rejects.toMatchObject({ code: 'tunnel_taken' });
    expect(await second.directory.claim('held', held.secret, access)).toMatchObject({ inherited: true });
    expect(second.inbox.counts().kept).toBe(1);
    const [item] = (await second.inbox.pending('held')).items;
    expect(Buffer.compare(item!.body, body)).toBe(0);
  });

  it('refuses a second relay on the same directory, a file that is not a relay store, and a newer format', async () => {
    const store = sqlite();
    expect(() => sqlite({}, 60_000, store.dir)).toThrow(/another relay process is using it \(one relay per data directory\)/);
    await store.close();
    // The lock goes with the store: the next relay opens it.
    await sqlite({}, 60_000, store.dir).close();

    const raw = new Database(join(store.dir, RELAY_DB_FILE));
    raw.pragma('user_version = 99');
    raw.close();
    expect(() => sqlite({}, 60_000, store.dir)).toThrow(/is in format 99; this hooktunnel reads format 1/);

    const plain = join(tempDir(), 'plain');
    mkdirSync(plain);
    const other = new Database(join(plain, RELAY_DB_FILE));
    other.exec('CREATE TABLE other (x)');
    other.close();
    expect(() => sqlite({}, 60_000, plain)).toThrow(/is not a hooktunnel relay store: move it away/);
  });

  it('imports an old state file once, renames it, and says so', async () => {
    const dir = tempDir();
    const stateFile = join(dir, 'relay-state.json');
    const old = new MemoryDirectory(60_000, new RegistryFile(stateFile, (err) => expect.fail(err.message)));
    const claimed = await old.claim('from-file', undefined, access);
    old.flush();
    const notices: string[] = [];
    const options = { dataDir: join(dir, 'relay'), stateFile, reservationMs: 60_000, offline: { waitMs: 0, maxCount: 1, maxBytes: 1, ttlMs: 1 }, limits: LIMITS, onNotice: (l: string) => notices.push(l), onStateError: () => {} };
    const store = openRelayStore(options);
    expect(notices).toEqual([expect.stringMatching(/imported 1 tunnel id\(s\) from the state file .*relay-state\.json into .*relay\.db; the file is now .*\.migrated/)]);
    expect(existsSync(stateFile)).toBe(false);
    expect(existsSync(`${stateFile}.migrated`)).toBe(true);
    await expect(store.directory.claim('from-file', undefined, access)).rejects.toMatchObject({ code: 'tunnel_taken' });
    expect(await store.directory.claim('from-file', claimed.secret, access)).toMatchObject({ inherited: true });
    await store.close();
    openRelayStore(options).close();
    expect(notices[1]).toMatch(/is not needed any more: .*there was nothing to import/);
  });
});
