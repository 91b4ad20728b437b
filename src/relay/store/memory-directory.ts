import type { TunnelAccess } from '../gate.js';
import type { RegistryStore, SavedTunnel } from '../state-file.js';
import { checkOwner, randomSecret, randomTunnelId, secretDigest, validateTunnelId } from '../tunnel-ids.js';
import type { Claimed, HeldClaim, TunnelDirectory, TunnelRecord } from './types.js';

interface Entry {
  secretDigest: Buffer;
  access: TunnelAccess;
  held: boolean;
  epoch: number;
  /** When the reservation of a tunnel nobody holds ends (ms since epoch). */
  reservedUntil: number;
}

const live = (e: Entry | undefined, now: number): e is Entry => e !== undefined && (e.held || e.reservedUntil > now);

/**
 * The tunnel directory in this process's memory: gone with it, unless a `file` (the old `--state-file`, JSON) keeps
 * the ids across restarts. Every method does its work before it returns; the promise is only the interface's shape.
 */
export class MemoryDirectory implements TunnelDirectory {
  private readonly entries = new Map<string, Entry>();
  private saveScheduled = false;

  /** With a `file`, the ids it kept are reserved again for their owners and every change is written back. */
  constructor(
    private readonly reservationMs: number,
    private readonly file?: RegistryStore<TunnelAccess>,
  ) {
    const now = Date.now();
    for (const t of file?.load() ?? []) {
      const reservedUntil = t.connected ? now + reservationMs : t.reservedUntil;
      if (reservedUntil > now) this.entries.set(t.id, { secretDigest: Buffer.from(t.secretDigest, 'hex'), access: t.meta, held: false, epoch: 0, reservedUntil });
    }
  }

  async claim(requested: string | undefined, secret: string | undefined, access: TunnelAccess): Promise<Claimed> {
    const key = secret ?? randomSecret();
    let id = requested;
    if (id === undefined) {
      do id = randomTunnelId();
      while (this.entries.has(id));
    } else {
      validateTunnelId(id);
    }
    const existing = this.entries.get(id);
    const inherited = live(existing, Date.now());
    if (inherited) checkOwner(id, existing.secretDigest, secret);
    const epoch = (existing?.epoch ?? 0) + 1;
    this.entries.set(id, { secretDigest: secretDigest(key), access, held: true, epoch, reservedUntil: 0 });
    this.changed();
    return { id, secret: key, epoch, inherited };
  }

  async release(id: string, epoch: number): Promise<void> {
    const e = this.entries.get(id);
    if (!e || e.epoch !== epoch || !e.held) return;
    e.held = false;
    e.reservedUntil = Date.now() + this.reservationMs;
    this.changed();
  }

  async lookup(id: string): Promise<TunnelRecord | undefined> {
    const e = this.entries.get(id);
    return live(e, Date.now()) ? { id, access: e.access, held: e.held, reservedUntil: e.reservedUntil } : undefined;
  }

  async sweep(): Promise<string[]> {
    const now = Date.now();
    const gone: string[] = [];
    for (const [id, e] of this.entries) {
      if (!live(e, now)) {
        this.entries.delete(id);
        gone.push(id);
      }
    }
    if (gone.length > 0) this.changed();
    return gone;
  }

  async renew(held: readonly HeldClaim[]): Promise<string[]> {
    const lost: string[] = [];
    for (const h of held) {
      const e = this.entries.get(h.id);
      if (!e) {
        this.entries.set(h.id, { secretDigest: Buffer.from(h.secretDigest, 'hex'), access: h.access, held: true, epoch: h.epoch, reservedUntil: 0 });
        this.changed();
      } else if (e.epoch !== h.epoch) {
        lost.push(h.id);
      }
    }
    return lost;
  }

  async countHeld(): Promise<number> {
    let held = 0;
    for (const e of this.entries.values()) if (e.held) held++;
    return held;
  }

  /** Writes the ids to the file now, if there is one. */
  flush(): void {
    this.saveScheduled = false;
    if (!this.file) return;
    const out: SavedTunnel<TunnelAccess>[] = [];
    for (const [id, e] of this.entries) {
      out.push({ id, secretDigest: e.secretDigest.toString('hex'), reservedUntil: e.reservedUntil, connected: e.held, meta: e.access });
    }
    this.file.save(out);
  }

  /** Writes the ids at the end of this event-loop turn (a burst of claims is one write). */
  private changed(): void {
    if (!this.file || this.saveScheduled) return;
    this.saveScheduled = true;
    // A flush() in between (at close) has written everything already.
    setImmediate(() => this.saveScheduled && this.flush());
  }
}
