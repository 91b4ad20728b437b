import type Database from 'better-sqlite3';
import { ErrorCode, HooktunnelError } from '../../errors.js';
import type { TunnelAccess } from '../gate.js';
import type { SavedTunnel } from '../state-file.js';
import { checkOwner, randomSecret, randomTunnelId, secretDigest, validateTunnelId } from '../tunnel-ids.js';
import { decodeAccess, encodeAccess } from './access-codec.js';
import type { Claimed, HeldClaim, TunnelDirectory, TunnelRecord } from './types.js';

interface Row {
  secret_digest: Buffer;
  access: string;
  held: number;
  epoch: number;
  reserved_until: number;
}

const live = (r: Row | undefined, now: number): r is Row => r !== undefined && (r.held === 1 || r.reserved_until > now);

/**
 * The tunnel directory in the relay's SQLite file: ids, owners' secret digests (never the secrets), access rules
 * and reservations. A claim is one IMMEDIATE transaction, so the check of the owner and the write cannot interleave.
 */
export class SqliteDirectory implements TunnelDirectory {
  private readonly stmt;
  private readonly claimTx: Database.Transaction<(requested: string | undefined, secret: string | undefined, access: TunnelAccess) => Claimed>;

  constructor(
    db: Database.Database,
    private readonly reservationMs: number,
  ) {
    this.stmt = {
      get: db.prepare<[string], Row>('SELECT secret_digest, access, held, epoch, reserved_until FROM tunnels WHERE id = ?'),
      put: db.prepare('INSERT OR REPLACE INTO tunnels (id, secret_digest, access, held, epoch, reserved_until) VALUES (?, ?, ?, ?, ?, ?)'),
      release: db.prepare('UPDATE tunnels SET held = 0, reserved_until = ? WHERE id = ? AND epoch = ? AND held = 1'),
      sweep: db.prepare<[number], { id: string }>('DELETE FROM tunnels WHERE held = 0 AND reserved_until <= ? RETURNING id'),
      countHeld: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM tunnels WHERE held = 1'),
      importOne: db.prepare('INSERT OR IGNORE INTO tunnels (id, secret_digest, access, held, epoch, reserved_until) VALUES (?, ?, ?, 0, 0, ?)'),
    };
    this.claimTx = db.transaction((requested: string | undefined, secret: string | undefined, access: TunnelAccess): Claimed => {
      const key = secret ?? randomSecret();
      let id = requested;
      if (id === undefined) {
        do id = randomTunnelId();
        while (this.stmt.get.get(id) !== undefined);
      } else {
        validateTunnelId(id);
      }
      const existing = this.stmt.get.get(id);
      const inherited = live(existing, Date.now());
      if (inherited) checkOwner(id, existing.secret_digest, secret);
      const epoch = (existing?.epoch ?? 0) + 1;
      this.stmt.put.run(id, secretDigest(key), JSON.stringify(encodeAccess(access)), 1, epoch, 0);
      return { id, secret: key, epoch, inherited };
    });
  }

  async claim(requested: string | undefined, secret: string | undefined, access: TunnelAccess): Promise<Claimed> {
    return this.claimTx.immediate(requested, secret, access);
  }

  async release(id: string, epoch: number): Promise<void> {
    this.stmt.release.run(Date.now() + this.reservationMs, id, epoch);
  }

  async lookup(id: string): Promise<TunnelRecord | undefined> {
    const r = this.stmt.get.get(id);
    if (!live(r, Date.now())) return undefined;
    const access = decodeAccess(JSON.parse(r.access));
    if (!access) throw new HooktunnelError(ErrorCode.InvalidArgument, `the relay store has unreadable access rules for tunnel "${id}"`);
    return { id, access, held: r.held === 1, reservedUntil: r.reserved_until };
  }

  async sweep(): Promise<string[]> {
    return this.stmt.sweep.all(Date.now()).map((r) => r.id);
  }

  async renew(held: readonly HeldClaim[]): Promise<string[]> {
    // One relay per file: its claims are not taken over by another relay; a claim missing is written back.
    const lost: string[] = [];
    for (const h of held) {
      const r = this.stmt.get.get(h.id);
      if (!r) this.stmt.put.run(h.id, Buffer.from(h.secretDigest, 'hex'), JSON.stringify(encodeAccess(h.access)), 1, h.epoch, 0);
      else if (r.epoch !== h.epoch) lost.push(h.id);
    }
    return lost;
  }

  async countHeld(): Promise<number> {
    return this.stmt.countHeld.get()?.n ?? 0;
  }

  /** Adds the tunnels of an old state file (ids already here win); returns how many were added. */
  importSaved(tunnels: readonly SavedTunnel<TunnelAccess>[]): number {
    const now = Date.now();
    let added = 0;
    for (const t of tunnels) {
      const reservedUntil = t.connected ? now + this.reservationMs : t.reservedUntil;
      if (reservedUntil <= now) continue;
      added += this.stmt.importOne.run(t.id, Buffer.from(t.secretDigest, 'hex'), JSON.stringify(encodeAccess(t.meta)), reservedUntil).changes;
    }
    return added;
  }
}
