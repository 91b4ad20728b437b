import { readFileSync, statSync } from 'node:fs';
import { ErrorCode, HooktunnelError } from '../errors.js';
import { EXCHANGE_ID_PATTERN, RESPONSE_MODES, type Exchange, type ResponseMode, type SignatureCheck, type UpgradeSummary } from '../model/exchange.js';
import { headerValue } from '../protocol/headers.js';
import { REQUEST, RESPONSE, bodyFileBit, bodyFilePath, type Direction } from './schema.js';
import type { CaptureStore } from './store.js';

/** A capture as the commands and the UI see it: the whole exchange record (bodies are read separately, with readBody). */
export type Capture = Exchange;

interface Row {
  seq: number; id: string; time: number; tunnel: string; target: string; method: string; path: string; req_headers: string;
  status: number; res_headers: string | null; error: string | null; message: string | null; duration_ms: number;
  req_bytes: number; res_bytes: number; req_truncated: number; res_truncated: number; replay_of: string | null; missed: number; complete: number;
  signature: string | null; files: number; req_complete: number;
  tunnel_name: string | null; route: string | null; mode: string | null; ack_attempt: number | null; ack_attempts: number | null;
  upgrade: string | null;
  delivery_id: string | null; redelivery_of: string | null; attempt: number;
}

/**
 * Every column but the bodies: listings never load body bytes. An older store opened read-only (not migrated) has
 * no signature (format 1), no body files (formats 1 and 2), no request-complete mark (formats 1 to 3) and no
 * tunnel name, route, mode, attempt, upgrade or delivery marks (formats 1 to 4).
 */
function head(store: CaptureStore): string {
  return `seq, id, time, tunnel, target, method, path, req_headers, status, res_headers, error, message, duration_ms,
  req_bytes, res_bytes, req_truncated, res_truncated, replay_of, missed, complete, ${store.format >= 2 ? 'signature' : 'NULL AS signature'},
  ${filesColumn(store)}, ${store.format >= 4 ? 'req_complete' : '0 AS req_complete'},
  ${store.format >= 5 ? 'tunnel_name, route, mode, ack_attempt, ack_attempts' : 'NULL AS tunnel_name, NULL AS route, NULL AS mode, NULL AS ack_attempt, NULL AS ack_attempts'},
  ${store.format >= 6 ? 'upgrade' : 'NULL AS upgrade'},
  ${store.format >= 7 ? 'delivery_id, redelivery_of, attempt' : 'NULL AS delivery_id, NULL AS redelivery_of, 0 AS attempt'}`;
}

/** The `files` column, or none (0) in a store older than format 3. */
function filesColumn(store: CaptureStore): string {
  return store.format >= 3 ? 'files' : '0 AS files';
}

/** Size of a body file now; 0 when it is gone. */
function fileSize(store: CaptureStore, seq: number, direction: Direction): number {
  try {
    return statSync(bodyFilePath(store.filesDir, seq, direction)).size;
  } catch {
    return 0;
  }
}

/**
 * The row as a Capture. The row of an exchange still in flight (or cut off by the agent's death) counts the bytes
 * of its first chunks; what went on to its body files is counted here, by their sizes.
 */
function captureOf(store: CaptureStore, r: Row): Capture {
  if (r.complete === 0 && r.files !== 0) {
    if (r.files & bodyFileBit(REQUEST)) r.req_bytes += fileSize(store, r.seq, REQUEST);
    if (r.files & bodyFileBit(RESPONSE)) r.res_bytes += fileSize(store, r.seq, RESPONSE);
  }
  return toCapture(r);
}

function parseSignature(text: string | null): SignatureCheck | undefined {
  if (text === null) return undefined;
  try {
    return JSON.parse(text) as SignatureCheck;
  } catch {
    return undefined;
  }
}

function parseUpgrade(text: string | null): UpgradeSummary | undefined {
  if (text === null) return undefined;
  try {
    return JSON.parse(text) as UpgradeSummary;
  } catch {
    return undefined;
  }
}

function toCapture(r: Row): Capture {
  return {
    id: r.id, time: r.time, tunnel: r.tunnel, target: r.target, method: r.method, path: r.path,
    requestHeaders: JSON.parse(r.req_headers) as string[], status: r.status,
    responseHeaders: r.res_headers === null ? undefined : (JSON.parse(r.res_headers) as string[]),
    error: r.error ?? undefined, message: r.message ?? undefined, durationMs: r.duration_ms,
    requestBytes: r.req_bytes, responseBytes: r.res_bytes, requestTruncated: r.req_truncated === 1, responseTruncated: r.res_truncated === 1,
    replayOf: r.replay_of ?? undefined, missed: r.missed === 1, complete: r.complete === 1, requestComplete: r.req_complete === 1,
    ...(r.signature !== null ? { signature: parseSignature(r.signature) } : {}),
    ...(r.tunnel_name !== null ? { tunnelName: r.tunnel_name } : {}),
    ...(r.route !== null ? { route: r.route } : {}),
    ...(r.mode !== null && (RESPONSE_MODES as readonly string[]).includes(r.mode) ? { mode: r.mode as ResponseMode } : {}),
    ...(r.ack_attempt !== null && r.ack_attempts !== null ? { ackAttempt: { n: r.ack_attempt, of: r.ack_attempts } } : {}),
    ...(r.upgrade !== null ? { upgrade: parseUpgrade(r.upgrade) } : {}),
    ...(r.delivery_id !== null ? { deliveryId: r.delivery_id } : {}),
    ...(r.redelivery_of !== null ? { redeliveryOf: r.redelivery_of } : {}),
    ...(r.attempt > 0 ? { attempt: r.attempt } : {}),
  };
}

/**
 * Which captures a listing keeps: those of one tunnel (its name in the config file, or its id), of one route, and
 * (`redeliveries`) only those marked as redeliveries.
 */
export interface CaptureFilter {
  readonly tunnel?: string;
  readonly route?: string;
  readonly redeliveries?: boolean;
}

function where(store: CaptureStore, filter: CaptureFilter): { sql: string; params: string[] } {
  const terms: string[] = [];
  const params: string[] = [];
  if (filter.tunnel !== undefined) {
    terms.push(store.format >= 5 ? '(tunnel_name = ? OR tunnel = ?)' : 'tunnel = ?');
    params.push(filter.tunnel, ...(store.format >= 5 ? [filter.tunnel] : []));
  }
  if (filter.route !== undefined) {
    // A store older than format 5 knows no routes: nothing matches.
    terms.push(store.format >= 5 ? 'route = ?' : '0');
    if (store.format >= 5) params.push(filter.route);
  }
  if (filter.redeliveries) terms.push(store.format >= 7 ? 'redelivery_of IS NOT NULL' : '0');
  return { sql: terms.length > 0 ? `WHERE ${terms.join(' AND ')}` : '', params };
}

/** The newest `limit` captures by arrival time (of those `filter` keeps), returned oldest first. */
export function listCaptures(store: CaptureStore, limit: number, filter: CaptureFilter = {}): Capture[] {
  const w = where(store, filter);
  const rows = store.database.prepare(`SELECT ${head(store)} FROM captures ${w.sql} ORDER BY time DESC, seq DESC LIMIT ?`).all(...w.params, limit) as Row[];
  return rows.reverse().map((r) => captureOf(store, r));
}

/** Every capture, oldest first, or those with the given ids (each a unique prefix) in the order given. */
export function selectCaptures(store: CaptureStore, ids: readonly string[]): Capture[] {
  if (ids.length > 0) return ids.map((id) => findCapture(store, id));
  return (store.database.prepare(`SELECT ${head(store)} FROM captures ORDER BY time, seq`).all() as Row[]).map((r) => captureOf(store, r));
}

/**
 * The capture whose id is `idOrPrefix` or starts with it. Throws `invalid_argument` with a clear message for an
 * unknown or ambiguous id.
 */
export function findCapture(store: CaptureStore, idOrPrefix: string): Capture {
  if (!EXCHANGE_ID_PATTERN.test(idOrPrefix)) throw new HooktunnelError(ErrorCode.InvalidArgument, `"${idOrPrefix}" is not a capture id (ids are lower-case letters and digits)`);
  // Ids are [a-z0-9] and '{' sorts right after 'z': the range is exactly the ids with this prefix, on the index.
  const rows = store.database.prepare(`SELECT ${head(store)} FROM captures WHERE id >= ? AND id < ? || '{' ORDER BY id LIMIT 6`).all(idOrPrefix, idOrPrefix) as Row[];
  const exact = rows.find((r) => r.id === idOrPrefix);
  if (exact) return captureOf(store, exact);
  if (rows.length === 0) throw new HooktunnelError(ErrorCode.InvalidArgument, `no capture with an id starting with "${idOrPrefix}" (see \`hooktunnel requests\`)`);
  if (rows.length > 1) {
    const listed = rows.slice(0, 5).map((r) => r.id).join(', ');
    throw new HooktunnelError(ErrorCode.InvalidArgument, `"${idOrPrefix}" is ambiguous: it starts ${listed}${rows.length > 5 ? ', …' : ''}; give more characters`);
  }
  return captureOf(store, rows[0]!);
}

/**
 * The stored bytes of one body (at most the store's per-body cap): inline in its row, or its chunk rows followed
 * by its body file. Empty when the capture is gone (a body file removed by retention meanwhile reads as absent).
 */
export function readBody(store: CaptureStore, id: string, direction: Direction): Buffer {
  const column = direction === REQUEST ? 'req_body' : 'res_body';
  const row = store.database.prepare(`SELECT seq, ${column} AS body, ${filesColumn(store)} FROM captures WHERE id = ?`).get(id) as { seq: number; body: Buffer | null; files: number } | undefined;
  if (!row) return Buffer.alloc(0);
  if (row.body !== null) return row.body;
  const parts = (store.database.prepare('SELECT data FROM bodies WHERE capture_seq = ? AND direction = ? ORDER BY part').all(row.seq, direction) as Array<{ data: Buffer }>).map((p) => p.data);
  if (row.files & bodyFileBit(direction)) parts.push(readFileOrEmpty(bodyFilePath(store.filesDir, row.seq, direction)));
  return Buffer.concat(parts);
}

function readFileOrEmpty(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
    throw err;
  }
}

/** Why a stored request body is not the whole body the sender sent (see partialRequestBody). */
export interface PartialBody {
  /** `truncated`: cut at the capture limit. `incomplete`: the agent stopped while the body was still arriving. */
  readonly reason: 'truncated' | 'incomplete';
  /** Bytes stored. */
  readonly stored: number;
  /** Bytes the sender sent or announced (Content-Length); undefined when not known. */
  readonly total?: number;
}

/**
 * Undefined when `body` (the stored request body of `c`) is the whole body the sender sent, else why not. An
 * exchange the agent never finished (killed mid-traffic) counts as whole when the store marked its request body
 * complete (`requestComplete`, also for a chunked one), or when the body reached its Content-Length; otherwise
 * it may have been cut anywhere.
 */
export function partialRequestBody(c: Capture, body: Buffer): PartialBody | undefined {
  if (c.requestTruncated) return { reason: 'truncated', stored: body.length, total: c.requestBytes };
  if (c.complete || c.requestComplete) return undefined;
  const announced = contentLength(c.requestHeaders);
  if (announced === body.length) return undefined;
  return { reason: 'incomplete', stored: body.length, total: announced };
}

function contentLength(headers: readonly string[]): number | undefined {
  const value = headerValue(headers, 'content-length');
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}
