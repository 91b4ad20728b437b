import type Database from 'better-sqlite3';

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
 * captures and 90 % of `retainBytes`. The newest capture is always kept.
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
    return this.db.transaction(() => {
      const before = this.stmt.count.get() as number;
      const newest = this.stmt.newest.get() as number;
      let cut = before > this.limits.retain ? (this.stmt.byCount.get(this.limits.retain) as number) : 0;
      let bytes = this.bytes;
      if (bytes > this.limits.retainBytes) {
        bytes = this.stmt.bytes.get(newest) as number;
        if (bytes > this.limits.retainBytes) cut = Math.max(cut, (this.stmt.byBytes.get(Math.floor(this.limits.retainBytes * 0.9)) as number | undefined) ?? 0);
      }
      cut = Math.min(cut, newest - 1);
      if (cut > 0) {
        bytes -= this.stmt.bytes.get(cut) as number;
        this.stmt.removeBodies.run(cut);
        this.stmt.remove.run(cut);
      }
      this.count = this.stmt.count.get() as number;
      this.setBytes(Math.max(0, bytes));
      return before - this.count;
    }).immediate();
  }
}
