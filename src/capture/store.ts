import { chmodSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ErrorCode, HooktunnelError } from '../errors.js';
import { ensurePrivateDir } from '../paths.js';
import { SCHEMA, type CaptureRow } from './schema.js';

/** Retention and size options of the store. */
export interface StoreOptions {
  /** Keep at most this many captures (newest first). Default 1000. */
  readonly retain?: number;
  /** Keep at most this many bytes of bodies in all. Default 512 MiB. */
  readonly retainBytes?: number;
  /** Store at most this many bytes of each body; the rest is counted and the body marked truncated. Default 10 MiB. */
  readonly maxBodyBytes?: number;
  /** Open read-only (the `requests`, `show` and `export` commands). */
  readonly readonly?: boolean;
}

/** Defaults of the store's options. */
export const STORE_DEFAULTS = { retain: 1000, retainBytes: 512 * 1024 * 1024, maxBodyBytes: 10 * 1024 * 1024 };

/** File name of the database inside the data directory. */
export const DB_FILE = 'captures.db';

/** A new capture row, written when the exchange starts (large bodies) or ends (everything else). */
export type NewCapture = Omit<CaptureRow, 'complete'>;

/** Direction of a body. */
export const REQUEST = 0;
export const RESPONSE = 1;

/**
 * The capture store: SQLite in WAL mode, so another process (`hooktunnel requests`) reads while the agent writes.
 * Every completed exchange is committed when it completes; bodies are rows of chunks in order, written as they
 * arrive for large bodies. Files are 0600 in a 0700 directory: captures hold secrets.
 */
export class CaptureStore {
  private readonly db: Database.Database;
  readonly options: typeof STORE_DEFAULTS;
  private readonly stmt: ReturnType<CaptureStore['prepare']>;
  private sinceSweep = 0;

  private constructor(db: Database.Database, options: StoreOptions) {
    this.db = db;
    this.options = { ...STORE_DEFAULTS, ...stripUndefined(options) };
    this.stmt = this.prepare();
  }

  /** Opens (and creates, unless read-only) the store in `dir`. */
  static open(dir: string, options: StoreOptions = {}): CaptureStore {
    const path = join(dir, DB_FILE);
    if (options.readonly && !existsSync(path)) {
      throw new HooktunnelError(ErrorCode.InvalidArgument, `no captures yet in ${dir} (the agent creates ${DB_FILE} on its first exchange)`);
    }
    if (!options.readonly) ensurePrivateDir(dir);
    const previous = process.umask(0o077);
    try {
      const db = new Database(path, { readonly: options.readonly === true, fileMustExist: options.readonly === true });
      db.pragma('busy_timeout = 5000');
      if (!options.readonly) {
        db.pragma('journal_mode = WAL');
        // WAL with synchronous=NORMAL: a commit survives a process crash (kill -9); only a power loss may lose the last ones.
        db.pragma('synchronous = NORMAL');
        db.exec(SCHEMA);
        for (const f of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
      }
      return new CaptureStore(db, options);
    } finally {
      process.umask(previous);
    }
  }

  private prepare() {
    const db = this.db;
    return {
      insert: db.prepare(`INSERT OR IGNORE INTO captures (id, time, tunnel, target, method, path, req_headers, status, res_headers, error, message,
        duration_ms, req_bytes, res_bytes, req_truncated, res_truncated, replay_of, missed, complete)
        VALUES (@id, @time, @tunnel, @target, @method, @path, @req_headers, @status, @res_headers, @error, @message,
        @duration_ms, @req_bytes, @res_bytes, @req_truncated, @res_truncated, @replay_of, @missed, @complete)`),
      finish: db.prepare(`UPDATE captures SET status=@status, res_headers=@res_headers, error=@error, message=@message, duration_ms=@duration_ms,
        req_bytes=@req_bytes, res_bytes=@res_bytes, req_truncated=@req_truncated, res_truncated=@res_truncated, complete=1 WHERE id=@id`),
      chunk: db.prepare('INSERT INTO bodies (capture_id, direction, seq, data) VALUES (?, ?, ?, ?)'),
      count: db.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(stored), 0) AS bytes FROM (SELECT id, (SELECT COALESCE(SUM(LENGTH(data)), 0) FROM bodies WHERE capture_id = id) AS stored FROM captures)'),
      oldest: db.prepare('SELECT id FROM captures ORDER BY time ASC, rowid ASC LIMIT ?'),
      remove: db.prepare('DELETE FROM captures WHERE id = ?'),
      removeBodies: db.prepare('DELETE FROM bodies WHERE capture_id = ?'),
    };
  }

  /** Writes a whole exchange (row and bodies) in one transaction. */
  readonly writeWhole = (row: NewCapture, request: readonly Buffer[], response: readonly Buffer[]): void => {
    this.db.transaction(() => {
      const r = this.stmt.insert.run({ ...row, complete: 1 });
      if (r.changes === 0) return;
      request.forEach((c, i) => this.stmt.chunk.run(row.id, REQUEST, i, c));
      response.forEach((c, i) => this.stmt.chunk.run(row.id, RESPONSE, i, c));
    })();
    this.afterWrite();
  };

  /** Starts an exchange whose bodies will be streamed: the row exists (incomplete) from now on. */
  begin(row: NewCapture): void {
    this.stmt.insert.run({ ...row, complete: 0 });
  }

  /** Appends body chunks of a begun exchange. */
  appendChunks(id: string, direction: number, firstSeq: number, chunks: readonly Buffer[]): void {
    this.db.transaction(() => chunks.forEach((c, i) => this.stmt.chunk.run(id, direction, firstSeq + i, c)))();
  }

  /** Completes a begun exchange. */
  finish(row: Pick<CaptureRow, 'id' | 'status' | 'res_headers' | 'error' | 'message' | 'duration_ms' | 'req_bytes' | 'res_bytes' | 'req_truncated' | 'res_truncated'>): void {
    this.stmt.finish.run(row);
    this.afterWrite();
  }

  /** Runs retention every 50 writes: the oldest captures go beyond `retain` or `retainBytes`. */
  private afterWrite(): void {
    if (++this.sinceSweep < 50) return;
    this.sinceSweep = 0;
    this.sweep();
  }

  /** Removes the oldest captures beyond the retention limits; returns how many went. */
  sweep(): number {
    let removed = 0;
    this.db.transaction(() => {
      let { n, bytes } = this.stmt.count.get() as { n: number; bytes: number };
      while (n > this.options.retain || (bytes > this.options.retainBytes && n > 1)) {
        const batch = this.stmt.oldest.all(Math.max(1, n - this.options.retain)) as Array<{ id: string }>;
        for (const { id } of batch) {
          this.stmt.removeBodies.run(id);
          this.stmt.remove.run(id);
          removed++;
        }
        ({ n, bytes } = this.stmt.count.get() as { n: number; bytes: number });
        if (batch.length === 0) break;
      }
    })();
    return removed;
  }

  /** The underlying database, for the query functions in queries.ts. */
  get database(): Database.Database {
    return this.db;
  }

  /** Closes the database. */
  close(): void {
    if (this.db.open) this.db.close();
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
