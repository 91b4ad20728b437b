import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { ErrorCode, HooktunnelError } from '../errors.js';
import type { TunnelAccess } from './gate.js';
import { decodeAccess, encodeAccess } from './store/access-codec.js';

/** One tunnel as the state file keeps it. */
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

/** Where the in-memory directory keeps its ids across restarts (`--memory --state-file`). */
export interface RegistryStore<M> {
  load(): SavedTunnel<M>[];
  save(tunnels: readonly SavedTunnel<M>[]): void;
}

/** Format of the state file, kept in it as `version`. */
const STATE_VERSION = 1;

function isSaved(v: unknown): v is SavedTunnel<unknown> {
  const t = v as Partial<SavedTunnel<unknown>> | null;
  return !!t && typeof t.id === 'string' && typeof t.secretDigest === 'string' && /^[0-9a-f]{64}$/.test(t.secretDigest)
    && typeof t.reservedUntil === 'number' && typeof t.connected === 'boolean';
}

/**
 * The relay's tunnel ids, their owners' secret digests and reservations in a JSON file (`--state-file`), so that a
 * restarted relay still refuses an id to anyone but its owner and keeps requests for tunnels whose agents have not
 * come back yet. Written whole to a temporary file and renamed over the old one: a crash leaves the old or the new
 * file, never half of one. Mode 0600; it holds no secrets, only SHA-256 digests.
 */
export class RegistryFile implements RegistryStore<TunnelAccess> {
  constructor(
    readonly path: string,
    private readonly onError: (err: Error) => void,
  ) {}

  /** The saved tunnels; none when the file does not exist yet. Throws `invalid_argument` for a file that is not ours. */
  load(): SavedTunnel<TunnelAccess>[] {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new HooktunnelError(ErrorCode.InvalidArgument, `cannot read the relay state file ${this.path}: ${(err as Error).message}`);
    }
    let doc: { version?: unknown; tunnels?: unknown };
    try {
      doc = JSON.parse(text) as typeof doc;
    } catch {
      throw new HooktunnelError(ErrorCode.InvalidArgument, `the relay state file ${this.path} is not valid JSON: move it away to start afresh`);
    }
    if (doc?.version !== STATE_VERSION || !Array.isArray(doc.tunnels)) {
      throw new HooktunnelError(ErrorCode.InvalidArgument, `the relay state file ${this.path} is not a hooktunnel relay state (version ${STATE_VERSION}): move it away to start afresh`);
    }
    const out: SavedTunnel<TunnelAccess>[] = [];
    for (const t of doc.tunnels) {
      if (!isSaved(t)) continue;
      const meta = decodeAccess(t.meta);
      if (meta) out.push({ id: t.id, secretDigest: t.secretDigest, reservedUntil: t.reservedUntil, connected: t.connected, meta });
    }
    return out;
  }

  /** Replaces the file with `tunnels`; a failure is reported to onError and the relay carries on. */
  save(tunnels: readonly SavedTunnel<TunnelAccess>[]): void {
    const doc = { version: STATE_VERSION, tunnels: tunnels.map((t) => ({ ...t, meta: encodeAccess(t.meta) })) };
    const tmp = `${this.path}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, `${JSON.stringify(doc)}\n`, { mode: 0o600 });
      renameSync(tmp, this.path);
    } catch (err) {
      this.onError(err as Error);
    }
  }
}
