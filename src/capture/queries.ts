import { ErrorCode, HooktunnelError } from '../errors.js';
import type { CaptureRow } from './schema.js';
import { REQUEST, RESPONSE, type CaptureStore } from './store.js';

/** A capture as the commands and the UI see it. */
export interface Capture {
  readonly id: string;
  readonly time: number;
  readonly tunnel: string;
  readonly target: string;
  readonly method: string;
  readonly path: string;
  readonly requestHeaders: readonly string[];
  readonly status: number;
  /** The target's response headers; undefined when the target never answered. */
  readonly responseHeaders?: readonly string[];
  readonly error?: string;
  readonly message?: string;
  readonly durationMs: number;
  readonly requestBytes: number;
  readonly responseBytes: number;
  readonly requestTruncated: boolean;
  readonly responseTruncated: boolean;
  readonly replayOf?: string;
  readonly missed: boolean;
  readonly complete: boolean;
}

function toCapture(r: CaptureRow): Capture {
  return {
    id: r.id, time: r.time, tunnel: r.tunnel, target: r.target, method: r.method, path: r.path,
    requestHeaders: JSON.parse(r.req_headers) as string[], status: r.status,
    responseHeaders: r.res_headers === null ? undefined : (JSON.parse(r.res_headers) as string[]),
    error: r.error ?? undefined, message: r.message ?? undefined, durationMs: r.duration_ms,
    requestBytes: r.req_bytes, responseBytes: r.res_bytes, requestTruncated: r.req_truncated === 1, responseTruncated: r.res_truncated === 1,
    replayOf: r.replay_of ?? undefined, missed: r.missed === 1, complete: r.complete === 1,
  };
}

/** The newest `limit` captures, returned oldest first. */
export function listCaptures(store: CaptureStore, limit: number): Capture[] {
  const rows = store.database.prepare('SELECT * FROM captures ORDER BY time DESC, rowid DESC LIMIT ?').all(limit) as CaptureRow[];
  return rows.reverse().map(toCapture);
}

/** Every capture, oldest first, or those with the given ids (each a unique prefix) in the order given. */
export function selectCaptures(store: CaptureStore, ids: readonly string[]): Capture[] {
  if (ids.length > 0) return ids.map((id) => findCapture(store, id));
  return (store.database.prepare('SELECT * FROM captures ORDER BY time ASC, rowid ASC').all() as CaptureRow[]).map(toCapture);
}

/**
 * The capture whose id is `idOrPrefix` or starts with it. Throws `invalid_argument` with a clear message for an
 * unknown or ambiguous id.
 */
export function findCapture(store: CaptureStore, idOrPrefix: string): Capture {
  if (!/^[a-z0-9]{1,64}$/.test(idOrPrefix)) throw new HooktunnelError(ErrorCode.InvalidArgument, `"${idOrPrefix}" is not a capture id`);
  const rows = store.database.prepare("SELECT * FROM captures WHERE id >= ? AND id < ? || '{' ORDER BY id LIMIT 5").all(idOrPrefix, idOrPrefix) as CaptureRow[];
  const exact = rows.find((r) => r.id === idOrPrefix);
  if (exact) return toCapture(exact);
  if (rows.length === 0) throw new HooktunnelError(ErrorCode.InvalidArgument, `no capture with an id starting with "${idOrPrefix}" (see \`hooktunnel requests\`)`);
  if (rows.length > 1) {
    throw new HooktunnelError(ErrorCode.InvalidArgument, `"${idOrPrefix}" is ambiguous: it starts ${rows.map((r) => r.id).join(', ')}${rows.length === 5 ? ', …' : ''}`);
  }
  return toCapture(rows[0]!);
}

/** The stored bytes of one body (at most the store's per-body cap). */
export function readBody(store: CaptureStore, id: string, direction: typeof REQUEST | typeof RESPONSE): Buffer {
  const rows = store.database.prepare('SELECT data FROM bodies WHERE capture_id = ? AND direction = ? ORDER BY seq').all(id, direction) as Array<{ data: Buffer }>;
  return Buffer.concat(rows.map((r) => r.data));
}
