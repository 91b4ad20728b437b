import type Database from 'better-sqlite3';
import type { MissedHead } from '../../protocol/index.js';
import type { OfflineLimits } from '../offline.js';
import type { Inbox, InboxCounts, KeptRequest } from './types.js';

interface KeptRow {
  head: string;
  body: Buffer;
}

/**
 * The inbox in the relay's SQLite file. `keep` resolves once its transaction is committed (WAL, see openSqliteStore):
 * the relay answers the sender `503 agent_offline` ("kept") only then, so a kept request survives a `kill -9` of the
 * relay. Bodies are BLOBs, byte for byte; the head is the JSON of the MissedHead the agent receives. The limits per
 * tunnel (count, bytes, age) are enforced in the same transactions, on what is in the file.
 */
export class SqliteInbox implements Inbox {
  private readonly stmt;
  private readonly keepTx: Database.Transaction<(tunnel: string, item: KeptRequest) => void>;
  private readonly pendingTx: Database.Transaction<(tunnel: string) => { items: KeptRequest[]; dropped: number }>;
  private readonly ackTx: Database.Transaction<(tunnel: string, ids: readonly string[]) => void>;
  private readonly forgetTx: Database.Transaction<(tunnels: readonly string[]) => void>;
  private readonly expireTx: Database.Transaction<(cutoff: number) => number>;
  private kept: number;
  private droppedTotal = 0;

  constructor(
    db: Database.Database,
    private readonly limits: Pick<OfflineLimits, 'maxCount' | 'maxBytes' | 'ttlMs'>,
  ) {
    this.stmt = {
      insert: db.prepare('INSERT INTO kept (tunnel, id, arrived_at, head, bytes, body) VALUES (?, ?, ?, ?, ?, ?)'),
      sizes: db.prepare<[string], { seq: number; bytes: number }>('SELECT seq, bytes FROM kept WHERE tunnel = ? ORDER BY seq'),
      remove: db.prepare('DELETE FROM kept WHERE seq = ?'),
      items: db.prepare<[string], KeptRow>('SELECT head, body FROM kept WHERE tunnel = ? ORDER BY seq'),
      ackOne: db.prepare('DELETE FROM kept WHERE tunnel = ? AND id = ?'),
      expireIn: db.prepare<[string, number], { n: number }>('DELETE FROM kept WHERE tunnel = ? AND arrived_at < ? RETURNING 1 AS n'),
      expireAll: db.prepare<[number], { tunnel: string }>('DELETE FROM kept WHERE arrived_at < ? RETURNING tunnel'),
      addDropped: db.prepare('INSERT INTO dropped (tunnel, count) VALUES (?, ?) ON CONFLICT (tunnel) DO UPDATE SET count = count + excluded.count'),
      takeDropped: db.prepare<[string], { count: number }>('DELETE FROM dropped WHERE tunnel = ? RETURNING count'),
      forgetKept: db.prepare('DELETE FROM kept WHERE tunnel = ?'),
      forgetDropped: db.prepare('DELETE FROM dropped WHERE tunnel = ?'),
    };
    this.kept = (db.prepare('SELECT COUNT(*) AS n FROM kept').get() as { n: number }).n;
    this.keepTx = db.transaction((tunnel, item) => {
      this.stmt.insert.run(tunnel, item.head.id, item.head.arrivedAt, JSON.stringify(item.head), item.body.length, item.body);
      this.kept++;
      const rows = this.stmt.sizes.all(tunnel);
      let bytes = rows.reduce((sum, r) => sum + r.bytes, 0);
      let dropped = 0;
      for (let i = 0; i < rows.length && (rows.length - i > this.limits.maxCount || bytes > this.limits.maxBytes); i++) {
        this.stmt.remove.run(rows[i]!.seq);
        bytes -= rows[i]!.bytes;
        dropped++;
      }
      this.kept -= dropped;
      this.dropped(tunnel, dropped);
    });
    this.pendingTx = db.transaction((tunnel) => {
      const expired = this.stmt.expireIn.all(tunnel, Date.now() - this.limits.ttlMs).length;
      this.kept -= expired;
      this.dropped(tunnel, expired);
      const items = this.stmt.items.all(tunnel).map((r) => ({ head: JSON.parse(r.head) as MissedHead, body: r.body }));
      return { items, dropped: this.stmt.takeDropped.get(tunnel)?.count ?? 0 };
    });
    this.ackTx = db.transaction((tunnel, ids) => {
      for (const id of ids) this.kept -= this.stmt.ackOne.run(tunnel, id).changes;
    });
    this.forgetTx = db.transaction((tunnels) => {
      for (const t of tunnels) {
        this.kept -= this.stmt.forgetKept.run(t).changes;
        this.stmt.forgetDropped.run(t);
      }
    });
    this.expireTx = db.transaction((cutoff) => {
      const per = new Map<string, number>();
      for (const { tunnel } of this.stmt.expireAll.all(cutoff)) per.set(tunnel, (per.get(tunnel) ?? 0) + 1);
      let n = 0;
      for (const [tunnel, count] of per) {
        this.dropped(tunnel, count);
        n += count;
      }
      this.kept -= n;
      return n;
    });
  }

  async keep(tunnel: string, item: KeptRequest): Promise<void> {
    this.keepTx.immediate(tunnel, item);
  }

  async refuse(tunnel: string): Promise<void> {
    this.dropped(tunnel, 1);
  }

  async pending(tunnel: string): Promise<{ items: KeptRequest[]; dropped: number }> {
    return this.pendingTx.immediate(tunnel);
  }

  async ack(tunnel: string, ids: readonly string[]): Promise<void> {
    this.ackTx.immediate(tunnel, ids);
  }

  async forget(tunnels: readonly string[]): Promise<void> {
    if (tunnels.length > 0) this.forgetTx.immediate(tunnels);
  }

  async expire(): Promise<number> {
    return this.expireTx.immediate(Date.now() - this.limits.ttlMs);
  }

  counts(): InboxCounts {
    return { kept: this.kept, dropped: this.droppedTotal };
  }

  /** Counts `n` requests dropped for `tunnel` (reported to its agent at the next delivery). */
  private dropped(tunnel: string, n: number): void {
    if (n === 0) return;
    this.stmt.addDropped.run(tunnel, n);
    this.droppedTotal += n;
  }
}
