import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ErrorCode, HooktunnelError } from '../../errors.js';
import { ensurePrivateDir } from '../../paths.js';
import type { OfflineLimits } from '../offline.js';
import { TokenUsage, type RelayLimits } from '../limits.js';
import { SqliteDirectory } from './sqlite-directory.js';
import { SqliteInbox } from './sqlite-inbox.js';
import type { RelayStore } from './types.js';

/** The relay's database file inside its data directory. */
export const RELAY_DB_FILE = 'relay.db';

/** Format of the relay's database, kept in it as `user_version`. */
const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE tunnels (
  id TEXT PRIMARY KEY,
  secret_digest BLOB NOT NULL,
  access TEXT NOT NULL,
  held INTEGER NOT NULL,
  epoch INTEGER NOT NULL,
  reserved_until INTEGER NOT NULL
) STRICT;
CREATE TABLE kept (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  tunnel TEXT NOT NULL,
  id TEXT NOT NULL,
  arrived_at INTEGER NOT NULL,
  head TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  body BLOB NOT NULL
) STRICT;
CREATE INDEX kept_by_tunnel ON kept (tunnel, seq);
CREATE INDEX kept_by_age ON kept (arrived_at);
CREATE TABLE dropped (tunnel TEXT PRIMARY KEY, count INTEGER NOT NULL) STRICT;
`;

/** What openSqliteStore needs besides the directory. */
export interface SqliteStoreOptions {
  readonly reservationMs: number;
  readonly offline: Pick<OfflineLimits, 'maxCount' | 'maxBytes' | 'ttlMs'>;
  readonly limits: Pick<RelayLimits, 'tunnelsPerToken' | 'requestsPerMinute'>;
}

/** The SQLite store with its directory exposed, for importing an old state file. */
export interface SqliteRelayStore extends RelayStore {
  readonly directory: SqliteDirectory;
}

/**
 * Opens (creating it) the relay's store in `dir`: the directory 0700, `relay.db` and its WAL 0600. WAL with
 * synchronous=NORMAL: a committed transaction is in the WAL file before the call returns, so it survives the relay
 * process being killed (`kill -9`, a crash, an OOM kill); a power loss or kernel crash may lose the last commits
 * (FULL would fsync every commit for that). The file is locked exclusively while the relay runs: a second relay on
 * the same directory is refused with a clear message instead of two relays sharing ids. Tunnels held when the
 * previous relay stopped are reserved for their owners for a whole reservation from now.
 */
export function openSqliteStore(dir: string, options: SqliteStoreOptions): SqliteRelayStore {
  try {
    ensurePrivateDir(dir);
  } catch (err) {
    throw new HooktunnelError(ErrorCode.InvalidArgument, `cannot create the relay data directory ${dir}: ${(err as Error).message}`, { cause: err });
  }
  const path = join(dir, RELAY_DB_FILE);
  // The -wal file is created by the first write, not by the open: both under this umask.
  const previous = process.umask(0o077);
  let db: Database.Database | undefined;
  try {
    db = new Database(path);
    db.pragma('busy_timeout = 200');
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    // After a burst of large kept bodies the WAL file is cut back to this size at the next checkpoint.
    db.pragma('journal_size_limit = 67108864');
    setUp(db, path, options.reservationMs);
    for (const f of [path, `${path}-wal`]) chmodOwn(f);
  } catch (err) {
    db?.close();
    if (err instanceof HooktunnelError) throw err;
    const code = (err as { code?: string }).code;
    const why = code === 'SQLITE_BUSY' ? 'another relay process is using it (one relay per data directory)' : (err as Error).message;
    throw new HooktunnelError(ErrorCode.InvalidArgument, `cannot open the relay store ${path}: ${why}`, { cause: err });
  } finally {
    process.umask(previous);
  }
  const open = db;
  const directory = new SqliteDirectory(open, options.reservationMs);
  return {
    directory,
    inbox: new SqliteInbox(open, options.offline),
    usage: new TokenUsage(options.limits),
    durable: true,
    location: path,
    async close() {
      if (open.open) open.close();
    },
  };
}

function setUp(db: Database.Database, path: string, reservationMs: number): void {
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version === 0) {
      const tables = db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number };
      if (tables.n > 0) throw new HooktunnelError(ErrorCode.InvalidArgument, `${path} is not a hooktunnel relay store: move it away to start afresh`);
      db.exec(SCHEMA);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    } else if (version !== SCHEMA_VERSION) {
      throw new HooktunnelError(ErrorCode.InvalidArgument, `the relay store ${path} is in format ${version}; this hooktunnel reads format ${SCHEMA_VERSION}`);
    }
    // The relay died (or stopped) under these: reserved for their owners from now, as after a graceful stop.
    db.prepare('UPDATE tunnels SET held = 0, reserved_until = MAX(reserved_until, ?) WHERE held = 1').run(Date.now() + reservationMs);
  }).immediate();
}

function chmodOwn(path: string): void {
  try {
    chmodSync(path, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
