import { chmodSync, closeSync, existsSync, mkdirSync, openSync, writeSync, writevSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ErrorCode, HooktunnelError } from '../errors.js';
import { ensurePrivateDir } from '../paths.js';
import { DB_FILE, STORE_DEFAULTS } from './defaults.js';
import { Retention, type RetentionLimits } from './retention.js';
import { BODY_FILES_DIR, MIGRATIONS, REQUEST, SCHEMA, SCHEMA_VERSION, bodyFileBit, bodyFilePath, type CaptureEnd, type CaptureHead, type Direction } from './schema.js';

/** A body chunk: one buffer, or (for a body file) the buffers it arrived in, written with one writev. */
export type Chunk = Buffer | readonly Buffer[];

function chunkLength(data: Chunk): number {
  if (!Array.isArray(data)) return (data as Buffer).length;
  let n = 0;
  for (const b of data as readonly Buffer[]) n += b.length;
  return n;
}

/** Retention and size options of the store. */
export interface StoreOptions {
  /** Keep at most this many captures, the most recently recorded. Default 1000. */
  readonly retain?: number;
  /** Keep at most this many bytes of bodies in all. Default 512 MiB. */
  readonly retainBytes?: number;
  /** Store at most this many bytes of each body; the rest is counted and the body marked truncated. Default 10 MiB. */
  readonly maxBodyBytes?: number;
  /** Open read-only (the `requests`, `show` and `export` commands). */
  readonly readonly?: boolean;
}

export { DB_FILE, STORE_DEFAULTS };

const COLUMNS = 'id, time, tunnel, target, method, path, req_headers, status, res_headers, error, message, duration_ms, req_bytes, res_bytes, req_truncated, res_truncated, stored_bytes, replay_of, missed, complete, req_body, res_body, signature, req_complete, tunnel_name, route, mode, ack_attempt, ack_attempts, upgrade, delivery_id, redelivery_of, attempt';

/** The INSERT's positional values, in COLUMNS order. */
function rowValues(h: CaptureHead, e: CaptureEnd | undefined, stored: number, bodies: readonly [Buffer, Buffer] | undefined): unknown[] {
  return [
    h.id, h.time, h.tunnel, h.target, h.method, h.path, JSON.stringify(h.headers),
    e?.status ?? 0, e?.responseHeaders ? JSON.stringify(e.responseHeaders) : null, e?.error ?? null, e?.message ?? null, e?.durationMs ?? 0,
    e?.requestBytes ?? 0, e?.responseBytes ?? 0, e?.requestTruncated ? 1 : 0, e?.responseTruncated ? 1 : 0,
    stored, h.replayOf ?? null, h.missed ? 1 : 0, e ? 1 : 0, bodies?.[0] ?? null, bodies?.[1] ?? null, signatureJson(e), e?.requestComplete ? 1 : 0,
    h.tunnelName ?? null, h.route ?? null, h.mode ?? null, h.ackAttempt?.n ?? null, h.ackAttempt?.of ?? null,
    e?.upgrade ? JSON.stringify(e.upgrade) : null,
    e?.deliveryId ?? null, e?.redeliveryOf ?? null, e?.attempt ?? 0,
  ];
}

function signatureJson(e: CaptureEnd | undefined): string | null {
  return e?.signature ? JSON.stringify(e.signature) : null;
}

/**
 * The capture store: SQLite in WAL mode, so another process (`hooktunnel requests`) reads while the agent writes.
 * A small exchange is one INSERT, committed when it completes; a larger body is written as it arrives, its first
 * chunk as a row, the rest appended to its body file (see SCHEMA). Files are 0600 in 0700 directories: captures
 * hold secrets.
 */
export class CaptureStore {
  readonly options: typeof STORE_DEFAULTS;
  /** The store's format (SCHEMA_VERSION, or older for a store opened read-only that was never migrated). */
  readonly format: number;
  /** The directory of the body files. */
  readonly filesDir: string;
  private readonly retention: Retention | undefined;
  private readonly stmt: ReturnType<typeof prepare>;
  private readonly appendTx: (seq: number, direction: Direction, part: number, data: Buffer) => void;
  private readonly finishTx: (seq: number, end: CaptureEnd, stored: number, tail: ReadonlyArray<readonly [Direction, number, Chunk]>) => void;
  private readonly groupTx: (queue: ReadonlyArray<{ write: () => void; onError: (err: Error) => void }>, failed: Array<[(err: Error) => void, Error]>) => void;
  /** Writes waiting for the end of this event-loop turn (see `soon`). */
  private queue: Array<{ write: () => void; onError: (err: Error) => void }> = [];
  private flushScheduled = false;
  /** Body files being written, by `seq * 2 + direction`: their descriptors (closed by `finish`) and sizes. */
  private readonly writing = new Map<number, { fd: number; bytes: number }>();

  private constructor(
    private readonly db: Database.Database,
    dir: string,
    options: StoreOptions,
    format: number,
  ) {
    this.format = format;
    this.filesDir = join(dir, BODY_FILES_DIR);
    this.options = { ...STORE_DEFAULTS, ...definedOnly(options) };
    this.stmt = prepare(db, options.readonly === true);
    this.retention = options.readonly ? undefined : new Retention(db, this.options as RetentionLimits, this.filesDir, () => {
      let bytes = 0;
      for (const file of this.writing.values()) bytes += file.bytes;
      return bytes;
    });
    this.appendTx = db.transaction((seq, direction, part, data) => {
      this.stmt.chunk!.run(seq, direction, part, data);
      // The direction's byte count follows what is stored, so an exchange the agent never finished (killed) says how
      // much of its bodies arrived; `finish` then writes the bytes seen, the cut-off ones included.
      this.stmt.grow!.run(data.length, direction === REQUEST ? data.length : 0, direction === REQUEST ? 0 : data.length, seq);
    });
    // Each queued write is one INSERT (atomic on its own) plus retention's own transaction: no savepoint per write.
    this.groupTx = db.transaction((queue, failed) => {
      for (const item of queue) {
        try {
          item.write();
        } catch (err) {
          failed.push([item.onError, err as Error]);
        }
      }
    });
    this.finishTx = db.transaction((seq, end, stored, tail) => {
      for (const [direction, part, data] of tail) if (part === 0) this.stmt.chunk!.run(seq, direction, part, Array.isArray(data) ? Buffer.concat(data) : data);
      this.stmt.finish!.run(end.status, end.responseHeaders ? JSON.stringify(end.responseHeaders) : null, end.error ?? null, end.message ?? null,
        end.durationMs, end.requestBytes, end.responseBytes, end.requestTruncated ? 1 : 0, end.responseTruncated ? 1 : 0, stored, signatureJson(end),
        end.requestComplete ? 1 : 0, end.upgrade ? JSON.stringify(end.upgrade) : null, end.deliveryId ?? null, end.redeliveryOf ?? null, end.attempt ?? 0, seq);
    });
  }

  /** Opens (and creates, unless read-only) the store in `dir`. */
  static open(dir: string, options: StoreOptions = {}): CaptureStore {
    const path = join(dir, DB_FILE);
    const readonly = options.readonly === true;
    if (readonly && !existsSync(path)) throw new HooktunnelError(ErrorCode.InvalidArgument, `no captures yet in ${dir}`);
    if (!readonly) ensurePrivateDir(dir);
    // The -wal and -shm files are created by the first transaction, not by the open: both happen under this umask.
    const previous = process.umask(0o077);
    try {
      const db = new Database(path, { readonly, fileMustExist: readonly });
      try {
        db.pragma('busy_timeout = 5000');
        if (!readonly) setUp(db);
        const format = checkVersion(db, dir, readonly);
        chmodOwn([path, `${path}-wal`, `${path}-shm`]);
        return new CaptureStore(db, dir, options, format);
      } catch (err) {
        db.close();
        throw err;
      }
    } finally {
      process.umask(previous);
    }
  }

  /** Records a whole exchange, bodies inline, in one statement (one commit). False when the id was recorded before. */
  writeWhole(head: CaptureHead, end: CaptureEnd, request: Buffer, response: Buffer): boolean {
    const stored = request.length + response.length;
    if (this.stmt.insert!.run(rowValues(head, end, stored, [request, response])).changes === 0) return false;
    this.retention!.added(stored);
    return true;
  }

  /** Starts an exchange whose bodies are streamed (see appendChunk); returns its row number, undefined for a known id. */
  begin(head: CaptureHead): number | undefined {
    const r = this.stmt.insert!.run(rowValues(head, undefined, 0, undefined));
    if (r.changes === 0) return undefined;
    this.retention!.added(0);
    return Number(r.lastInsertRowid);
  }

  /**
   * Appends one chunk (`part` counts from 0 per direction) to a begun exchange: the first as a row, in a
   * transaction that also counts its bytes on the exchange's row; the others to the body file, where the bytes
   * of an exchange that never finished are counted by the file's size (see queries.ts).
   */
  appendChunk(seq: number, direction: Direction, part: number, data: Chunk): void {
    if (part === 0) this.appendTx(seq, direction, part, Array.isArray(data) ? Buffer.concat(data) : (data as Buffer));
    else this.appendToFile(seq, direction, data);
    this.retention!.grew(chunkLength(data));
  }

  /** Marks a begun exchange's request body as stored whole (its last chunk appended first), before the exchange ends. */
  requestComplete(seq: number): void {
    this.stmt.requestComplete!.run(seq);
  }

  /** Completes a begun exchange with its last chunks, then its row, in one transaction. `stored`: body bytes kept in all. */
  finish(seq: number, end: CaptureEnd, stored: number, tail: ReadonlyArray<readonly [Direction, number, Chunk]> = []): void {
    for (const [direction, part, data] of tail) if (part > 0) this.appendToFile(seq, direction, data);
    this.closeFiles(seq);
    this.finishTx(seq, end, stored, tail);
    for (const [, , data] of tail) this.retention!.grew(chunkLength(data));
  }

  private appendToFile(seq: number, direction: Direction, data: Chunk): void {
    const key = seq * 2 + direction;
    let file = this.writing.get(key);
    if (file === undefined) {
      mkdirSync(this.filesDir, { recursive: true, mode: 0o700 });
      // 'w': a file left by an earlier store with this seq (its database deleted, the directory kept) starts over.
      file = { fd: openSync(bodyFilePath(this.filesDir, seq, direction), 'w', 0o600), bytes: 0 };
      this.writing.set(key, file);
      this.stmt.markFile!.run(bodyFileBit(direction), seq);
    }
    // Synchronous: an append of a 64 KiB chunk to the page cache takes microseconds, and the bytes are in the
    // file (surviving a kill -9 of the agent) when this returns, in order.
    try {
      const length = chunkLength(data);
      const parts = Array.isArray(data) ? data : [data as Buffer];
      // One writev for the parts as they arrived; a short write (rare for a file) finishes byte by byte below.
      let done = writevSync(file.fd, parts);
      for (const part of parts) {
        if (done >= part.length) {
          done -= part.length;
          continue;
        }
        for (let at = done; at < part.length; ) at += writeSync(file.fd, part, at);
        done = 0;
      }
      file.bytes += length;
    } catch (err) {
      // The recorder drops this exchange (see attachRecorder); its file stays as far as it got.
      this.closeFiles(seq);
      throw err;
    }
  }

  private closeFiles(seq: number): void {
    for (const key of [seq * 2, seq * 2 + 1]) {
      const file = this.writing.get(key);
      if (file === undefined) continue;
      this.writing.delete(key);
      closeSync(file.fd);
    }
  }

  /**
   * Runs `write` at the end of this event-loop turn, in one transaction with every other write queued in the same
   * turn (group commit). Under load many exchanges end in one turn; one commit for all of them costs a third of
   * a commit each (measured: 52 µs per separate INSERT+commit, 20 µs in groups of 64). The turn's frames are
   * written first (src/transport.ts uncorks in an earlier setImmediate), the commit follows microseconds later.
   * A failing write (one statement, so nothing of it is kept) is reported to its `onError`; the others commit.
   */
  soon(write: () => void, onError: (err: Error) => void): void {
    this.queue.push({ write, onError });
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Commits the writes queued by `soon` now. */
  flush(): void {
    this.flushScheduled = false;
    const queue = this.queue;
    if (queue.length === 0 || !this.db.open) return;
    this.queue = [];
    const failed: Array<[(err: Error) => void, Error]> = [];
    try {
      this.groupTx(queue, failed);
    } catch (err) {
      // The commit itself failed (disk full, database locked beyond busy_timeout): none of the group was kept.
      for (const item of queue) failed.push([item.onError, err as Error]);
    }
    for (const [onError, err] of failed) onError(err);
  }


  /** Removes the oldest captures beyond the retention limits now; returns how many went. */
  sweep(): number {
    return this.retention?.sweep() ?? 0;
  }

  /** The underlying database, for the query functions in queries.ts. */
  get database(): Database.Database {
    return this.db;
  }

  /** Commits what is queued, then closes the database and any body file still being written. */
  close(): void {
    this.flush();
    for (const file of this.writing.values()) closeSync(file.fd);
    this.writing.clear();
    if (this.db.open) this.db.close();
  }
}

/** Opens the capture store in `dir` (created 0700 with 0600 files unless read-only). */
export function openCaptureStore(dir: string, options: StoreOptions = {}): CaptureStore {
  return CaptureStore.open(dir, options);
}

function prepare(db: Database.Database, readonly: boolean) {
  if (readonly) return { insert: undefined, chunk: undefined, grow: undefined, finish: undefined, markFile: undefined, requestComplete: undefined };
  return {
    insert: db.prepare(`INSERT OR IGNORE INTO captures (${COLUMNS}) VALUES (${COLUMNS.split(',').map(() => '?').join(', ')})`),
    chunk: db.prepare('INSERT INTO bodies (capture_seq, direction, part, data) VALUES (?, ?, ?, ?)'),
    markFile: db.prepare('UPDATE captures SET files = files | ? WHERE seq = ?'),
    grow: db.prepare('UPDATE captures SET stored_bytes = stored_bytes + ?, req_bytes = req_bytes + ?, res_bytes = res_bytes + ? WHERE seq = ?'),
    finish: db.prepare(`UPDATE captures SET status = ?, res_headers = ?, error = ?, message = ?, duration_ms = ?, req_bytes = ?, res_bytes = ?,
      req_truncated = ?, res_truncated = ?, stored_bytes = ?, signature = ?, req_complete = ?, upgrade = ?,
      delivery_id = ?, redelivery_of = ?, attempt = ?, complete = 1 WHERE seq = ?`),
    requestComplete: db.prepare('UPDATE captures SET req_complete = 1 WHERE seq = ?'),
  };
}

/**
 * WAL, synchronous=NORMAL (a commit survives a process crash; only a power loss may lose the last ones), tables;
 * a store in an older format is migrated in the same transaction.
 */
function setUp(db: Database.Database): void {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  // After a burst of large bodies the WAL file is cut back to this size at the next checkpoint.
  db.pragma('journal_size_limit = 67108864');
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    const empty = db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'captures'").get() as { n: number };
    if (version === 0 && empty.n === 0) {
      db.exec(SCHEMA);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
      return;
    }
    if (version < 1 || version >= SCHEMA_VERSION) return;
    for (let next = version + 1; next <= SCHEMA_VERSION; next++) db.exec(MIGRATIONS[next]!);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

/** The store's format; throws for a format this version cannot read (newer, or older and not migrated for writing). */
function checkVersion(db: Database.Database, dir: string, readonly: boolean): number {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version === SCHEMA_VERSION || (readonly && version >= 1 && version < SCHEMA_VERSION)) return version;
  throw new HooktunnelError(
    ErrorCode.InvalidArgument,
    `the capture store in ${dir} has format ${version}, this hooktunnel reads format ${SCHEMA_VERSION}: move ${DB_FILE} away to start a new one`,
  );
}

/** Makes the files private; files another user owns are left as they are (chmod is not ours to do there). */
function chmodOwn(paths: readonly string[]): void {
  for (const f of paths) {
    try {
      chmodSync(f, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    }
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
