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

interface Entry<S> {
  secretDigest: Buffer;
  session: S | undefined;
  /** When a disconnected tunnel's reservation ends (ms since epoch). */
  reservedUntil: number;
}

/**
 * Which tunnel ids exist and who owns them. An id is owned by whoever knows its secret: the owner may take it back
 * (reconnect, or a new connection replacing a half-dead one); anyone else is refused while it is held or reserved.
 */
export class TunnelRegistry<S> {
  private readonly entries = new Map<string, Entry<S>>();

  constructor(private readonly reservationMs: number) {}

  /**
   * Registers `session` under `requested` (or a fresh random id). Returns the id, the secret that proves
   * ownership from now on, and the session it replaced, if any.
   */
  claim(session: S, requested: string | undefined, secret: string | undefined): { id: string; secret: string; replaced?: S } {
    const key = secret ?? randomSecret();
    if (requested === undefined) {
      let id = randomId();
      while (this.entries.has(id)) id = randomId();
      this.entries.set(id, { secretDigest: digest(key), session, reservedUntil: 0 });
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
    this.entries.set(requested, { secretDigest: digest(key), session, reservedUntil: 0 });
    return { id: requested, secret: key, replaced };
  }

  /** The connected session for `id`, if any. */
  get(id: string): S | undefined {
    return this.entries.get(id)?.session;
  }

  /** Marks `session` gone from `id`; the id stays reserved for its owner. */
  release(id: string, session: S): void {
    const entry = this.entries.get(id);
    if (!entry || entry.session !== session) return;
    entry.session = undefined;
    entry.reservedUntil = Date.now() + this.reservationMs;
    this.sweep();
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

  private sweep(): void {
    const now = Date.now();
    for (const [id, e] of this.entries) if (e.session === undefined && e.reservedUntil <= now) this.entries.delete(id);
  }
}
