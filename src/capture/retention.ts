import { unlinkSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { REQUEST, RESPONSE, bodyFileBit, bodyFilePath } from './schema.js';

/** The limits retention keeps the store within. */
export interface RetentionLimits {
  /** Captures to keep, the most recently recorded. */
  readonly retain: number;
  /** Body bytes to keep in all. */
  readonly retainBytes: number;
}

/**
 * Keeps the store within its limits without costing every write a query. The count and the body bytes are
 * tracked in memory (read at open, corrected at each sweep, so rows other writers such as `replay` added are
 * caught up then). A sweep runs once the count is `slack` past `retain` (a twentieth of it, at most 50: 1000
 * becomes at most 1050 between sweeps) or the bytes pass `retainBytes`, and removes the oldest down to `retain`
 * captures and 90 % of `retainBytes`. The newest capture is always kept. The body files of removed captures are
 * deleted once the rows are.
 */
export class Retention {
  private count = 0;
  private bytes = 0;
  /** Bytes at which the next sweep runs: above the cap by a tenth when the newest capture alone is over it. */
  private sweepAtBytes = 0;
  private readonly slack: number;
  private readonly stmt;

  constructor(
    private readonly db: Database.Database,
    private readonly limits: RetentionLimits,
    private readonly filesDir: string,
    /** Bytes in the body files of exchanges still being written, which their rows' stored_bytes do not count yet. */
    private readonly unfinishedFileBytes: () => number = () => 0,
  ) {
    this.slack = Math.min(50, Math.floor(limits.retain / 20));
    this.stmt = {
      // COUNT(*) reads the small id index; SUM(stored_bytes) reads every row, so it runs only when bytes matter.
      count: db.prepare('SELECT COUNT(*) AS n FROM captures').pluck(),
      bytes: db.prepare('SELECT COALESCE(SUM(stored_bytes), 0) FROM captures WHERE seq <= ?').pluck(),
      // The newest row beyond the count limit: it and everything older go.
      byCount: db.prepare('SELECT seq FROM captures ORDER BY seq DESC LIMIT 1 OFFSET ?').pluck(),
      // The newest row at which the running total of bytes (newest first) passes the cap.
      byBytes: db.prepare(`SELECT seq FROM (SELECT seq, SUM(stored_bytes) OVER (ORDER BY seq DESC) AS total FROM captures)
        WHERE total > ? ORDER BY seq DESC LIMIT 1`).pluck(),
      newest: db.prepare('SELECT COALESCE(MAX(seq), 0) FROM captures').pluck(),
      removeBodies: db.prepare('DELETE FROM bodies WHERE capture_seq <= ?'),
      withFiles: db.prepare('SELECT seq, files FROM captures WHERE seq <= ? AND files != 0'),
      remove: db.prepare('DELETE FROM captures WHERE seq <= ?'),
    };
    this.count = this.stmt.count.get() as number;
    this.setBytes(this.stmt.bytes.get(Number.MAX_SAFE_INTEGER) as number);
  }

  private setBytes(bytes: number): void {
    this.bytes = bytes;
    this.sweepAtBytes = Math.max(this.limits.retainBytes, bytes + Math.floor(this.limits.retainBytes / 10));
  }

  /** A capture was added with `bytes` of bodies. */
  added(bytes: number): void {
    this.count++;
    this.grew(bytes);
  }

  /** Bodies grew by `bytes` (a streamed chunk). */
  grew(bytes: number): void {
    this.bytes += bytes;
    if (this.count > this.limits.retain + this.slack || this.bytes > this.sweepAtBytes) this.sweep();
  }

  /** Removes the oldest captures beyond the limits, in one transaction; returns how many went. */
  sweep(): number {
    let files: Array<{ seq: number; files: number }> = [];
    const removed = this.db.transaction(() => {
      const before = this.stmt.count.get() as number;
      const newest = this.stmt.newest.get() as number;
      let cut = before > this.limits.retain ? (this.stmt.byCount.get(this.limits.retain) as number) : 0;
      let bytes = this.bytes;
      if (bytes > this.limits.retainBytes) {
        bytes = (this.stmt.bytes.get(newest) as number) + this.unfinishedFileBytes();
        if (bytes > this.limits.retainBytes) cut = Math.max(cut, (this.stmt.byBytes.get(Math.floor(this.limits.retainBytes * 0.9)) as number | undefined) ?? 0);
      }
      cut = Math.min(cut, newest - 1);
      if (cut > 0) {
        bytes -= this.stmt.bytes.get(cut) as number;
        files = this.stmt.withFiles.all(cut) as typeof files;
        this.stmt.removeBodies.run(cut);
        this.stmt.remove.run(cut);
      }
      this.count = this.stmt.count.get() as number;
      this.setBytes(Math.max(0, bytes));
      return before - this.count;
    }).immediate();
    for (const row of files) {
      for (const direction of [REQUEST, RESPONSE] as const) if (row.files & bodyFileBit(direction)) removeFile(bodyFilePath(this.filesDir, row.seq, direction));
    }
    return removed;
  }
}

/**
 * Deletes a body file. One already gone (another writer's sweep) is fine; one that cannot be deleted stays behind
 * as a file no row names, which costs disk but never a wrong body (a new capture with that seq rewrites it).
 */
function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // See above.
  }
}
