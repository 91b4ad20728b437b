import { createHash, timingSafeEqual } from 'node:crypto';
import { customAlphabet } from 'nanoid';
import { ErrorCode, HooktunnelError } from '../errors.js';

/** Alphabet of generated tunnel ids: lower-case letters and digits, safe as a DNS label. */
const ID_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';
/** 12 characters of 36 give about 62 bits: not guessable by scanning. */
const RANDOM_ID_LENGTH = 12;
const randomId = customAlphabet(ID_ALPHABET, RANDOM_ID_LENGTH);
const randomSecret = customAlphabet(`${ID_ALPHABET}ABCDEFGHIJKLMNOPQRSTUVWXYZ`, 32);

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Names a relay never hands out: they look like the relay operator's own hosts. */
export const RESERVED_TUNNEL_IDS: ReadonlySet<string> = new Set([
  'www', 'api', 'admin', 'app', 'mail', 'smtp', 'ftp', 'relay', 'status', 'dashboard', 'hooktunnel', 'localhost', 'static', 'assets',
]);

/** Checks a requested tunnel id; throws `invalid_tunnel_id` with the reason. */
export function validateTunnelId(id: string): void {
  if (!LABEL.test(id)) {
    throw new HooktunnelError(ErrorCode.InvalidTunnelId, `tunnel id "${id}" is not a DNS label (a-z, 0-9 and inner "-", at most 63 characters)`);
  }
  if (RESERVED_TUNNEL_IDS.has(id)) throw new HooktunnelError(ErrorCode.InvalidTunnelId, `tunnel id "${id}" is reserved`);
}

function digest(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

/** One tunnel as a RegistryStore keeps it. */
export interface SavedTunnel<M> {
  readonly id: string;
  /** SHA-256 hex of the owner's secret (the secret itself is never written down). */
  readonly secretDigest: string;
  /** When the reservation of a disconnected tunnel ends (ms since epoch). */
  readonly reservedUntil: number;
  /** Connected when saved: once loaded, reserved for a whole reservation from then (the relay died under it). */
  readonly connected: boolean;
  readonly meta: M;
}

/** Where a registry keeps its ids across restarts (the relay's `--state-file`). */
export interface RegistryStore<M> {
  load(): SavedTunnel<M>[];
  save(tunnels: readonly SavedTunnel<M>[]): void;
}

interface Entry<S, M> {
  secretDigest: Buffer;
  /** What the owner asked for the tunnel (access rules); kept while reserved. */
  meta: M;
  session: S | undefined;
  /** When a disconnected tunnel's reservation ends (ms since epoch). */
  reservedUntil: number;
}

/**
 * Which tunnel ids exist and who owns them. An id is owned by whoever knows its secret: the owner may take it back
 * (reconnect, or a new connection replacing a half-dead one); anyone else is refused while it is held or reserved.
 */
export class TunnelRegistry<S, M> {
  private readonly entries = new Map<string, Entry<S, M>>();
  private readonly waiters = new Map<string, Set<(session: S) => void>>();
  private saveScheduled = false;

  /** With a `store`, the ids it kept are reserved again for their owners and every change is written back. */
  constructor(
    private readonly reservationMs: number,
    private readonly store?: RegistryStore<M>,
  ) {
    const now = Date.now();
    for (const t of store?.load() ?? []) {
      const reservedUntil = t.connected ? now + reservationMs : t.reservedUntil;
      if (reservedUntil > now) this.entries.set(t.id, { secretDigest: Buffer.from(t.secretDigest, 'hex'), meta: t.meta, session: undefined, reservedUntil });
    }
  }

  /** Writes the ids to the store at the end of this event-loop turn (a burst of claims is one write). */
  private changed(): void {
    if (!this.store || this.saveScheduled) return;
    this.saveScheduled = true;
    setImmediate(() => this.save());
  }

  /** Writes the ids to the store now, if it has one. */
  save(): void {
    this.saveScheduled = false;
    if (!this.store) return;
    const out: SavedTunnel<M>[] = [];
    for (const [id, e] of this.entries) {
      out.push({ id, secretDigest: e.secretDigest.toString('hex'), reservedUntil: e.reservedUntil, connected: e.session !== undefined, meta: e.meta });
    }
    this.store.save(out);
  }

  /**
   * Registers `session` under `requested` (or a fresh random id). Returns the id, the secret that proves
   * ownership from now on, and the session it replaced, if any.
   */
  claim(session: S, requested: string | undefined, secret: string | undefined, meta: M): { id: string; secret: string; replaced?: S } {
    const key = secret ?? randomSecret();
    if (requested === undefined) {
      let id = randomId();
      while (this.entries.has(id)) id = randomId();
      this.entries.set(id, { secretDigest: digest(key), meta, session, reservedUntil: 0 });
      this.changed();
      return { id, secret: key };
    }
    validateTunnelId(requested);
    const existing = this.entries.get(requested);
    if (existing && (existing.session !== undefined || existing.reservedUntil > Date.now())) {
      if (secret === undefined || !timingSafeEqual(existing.secretDigest, digest(secret))) {
        throw new HooktunnelError(ErrorCode.TunnelTaken, `tunnel id "${requested}" is in use by another agent`);
      }
    }
    const replaced = existing?.session;
    this.entries.set(requested, { secretDigest: digest(key), meta, session, reservedUntil: 0 });
    this.changed();
    const waiting = this.waiters.get(requested);
    if (waiting) {
      this.waiters.delete(requested);
      for (const w of waiting) w(session);
    }
    return { id: requested, secret: key, replaced };
  }

  /** The access rules of tunnel `id` (connected or reserved). */
  meta(id: string): M | undefined {
    return this.entries.get(id)?.meta;
  }

  /** The connected session for `id`, if any. */
  get(id: string): S | undefined {
    return this.entries.get(id)?.session;
  }

  /** True when `id` has no connection now but is reserved for an owner who was connected recently. */
  isReserved(id: string): boolean {
    const e = this.entries.get(id);
    return e !== undefined && e.session === undefined && e.reservedUntil > Date.now();
  }

  /** Resolves with the session that claims `id` within `ms`, or undefined. */
  whenOnline(id: string, ms: number, cancel: AbortSignal): Promise<S | undefined> {
    const now = this.get(id);
    if (now || cancel.aborted) return Promise.resolve(now);
    return new Promise((resolve) => {
      const set = this.waiters.get(id) ?? new Set();
      this.waiters.set(id, set);
      const done = (session: S | undefined): void => {
        clearTimeout(timer);
        set.delete(waiter);
        cancel.removeEventListener('abort', onAbort);
        resolve(session);
      };
      const waiter = (session: S): void => done(session);
      const onAbort = (): void => done(undefined);
      const timer = setTimeout(() => done(undefined), ms);
      set.add(waiter);
      cancel.addEventListener('abort', onAbort);
    });
  }

  /** Marks `session` gone from `id`; the id stays reserved for its owner. */
  release(id: string, session: S): void {
    const entry = this.entries.get(id);
    if (!entry || entry.session !== session) return;
    entry.session = undefined;
    entry.reservedUntil = Date.now() + this.reservationMs;
    this.sweep();
    this.changed();
  }

  /** Number of connected tunnels. */
  get size(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.session !== undefined) n++;
    return n;
  }

  /** All connected sessions. */
  sessions(): S[] {
    const out: S[] = [];
    for (const e of this.entries.values()) if (e.session !== undefined) out.push(e.session);
    return out;
  }

  /** Ids whose reservation ran out, removed now. */
  sweep(): string[] {
    const now = Date.now();
    const gone: string[] = [];
    for (const [id, e] of this.entries) {
      if (e.session === undefined && e.reservedUntil <= now) {
        this.entries.delete(id);
        gone.push(id);
      }
    }
    if (gone.length > 0) this.changed();
    return gone;
  }
}
