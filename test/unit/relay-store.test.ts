import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { TunnelAccess } from '../../src/relay/gate.js';
import { keptRequest, type OfflineLimits } from '../../src/relay/offline.js';
import { RegistryFile } from '../../src/relay/state-file.js';
import { MemoryDirectory } from '../../src/relay/store/memory-directory.js';
import { MemoryInbox } from '../../src/relay/store/memory-inbox.js';
import { openRelayStore } from '../../src/relay/store/open.js';
import { RELAY_DB_FILE, openSqliteStore } from '../../src/relay/store/sqlite.js';
import type { RelayStore } from '../../src/relay/store/types.js';
import { directoryContract, inboxContract } from '../helpers/store-contract.js';

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

describe('inbox: memory', () => inboxContract((o) => new MemoryInbox(o)));
describe('inbox: sqlite (a real file)', () => inboxContract((o) => sqlite(o).inbox));
describe('tunnel directory: memory', () => directoryContract((ms) => new MemoryDirectory(ms)));
describe('tunnel directory: sqlite (a real file)', () => directoryContract((ms) => sqlite({}, ms).directory));

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
