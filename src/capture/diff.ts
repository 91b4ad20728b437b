import { createHash } from 'node:crypto';
import { decodeContent } from '../model/content-encoding.js';
import type { SignatureCheck } from '../model/signature.js';
import { headerPairs, headerValue } from '../protocol/headers.js';
import { diffJson, type JsonChange } from './diff-json.js';
import { diffLines, type TextDiffLine } from './diff-text.js';
import type { Capture } from './queries.js';

/**
 * The difference between two captured exchanges (`hooktunnel diff`, the inspector's `d`): request line, headers,
 * bodies, response status and signature. Pure: the caller reads the captures and bodies. Its shape is the
 * `diff --json` output, a public contract (README, "hooktunnel diff").
 */
export interface ExchangeDiff {
  readonly a: string;
  readonly b: string;
  /** Nothing differs (order-only header changes count as a difference). */
  readonly same: boolean;
  readonly request: {
    readonly method: ValueChange<string> | null;
    readonly path: ValueChange<string> | null;
    readonly headers: HeaderDiff;
    readonly body: BodyDiff;
  };
  readonly response: {
    readonly status: ValueChange<number> | null;
    readonly headers: HeaderDiff;
    readonly body: BodyDiff;
  };
  /** Both sides' signature checks (null when not verified), side by side. */
  readonly signature: { readonly a: SignatureCheck | null; readonly b: SignatureCheck | null; readonly same: boolean };
}

/** A value that differs: a's and b's. */
export interface ValueChange<T> {
  readonly a: T;
  readonly b: T;
}

/** Headers compared by name (any case): each name's values, in order, on both sides. */
export interface HeaderDiff {
  readonly added: ReadonlyArray<{ readonly name: string; readonly values: readonly string[] }>;
  readonly removed: ReadonlyArray<{ readonly name: string; readonly values: readonly string[] }>;
  readonly changed: ReadonlyArray<{ readonly name: string; readonly a: readonly string[]; readonly b: readonly string[] }>;
  /** The headers both sides have came in another order: the names (lower case) in a's and b's order. Null when not. */
  readonly reordered: { readonly a: readonly string[]; readonly b: readonly string[] } | null;
}

/** How two bodies differ. */
export type BodyDiff =
  | { readonly kind: 'same'; readonly bytes: number }
  | { readonly kind: 'json'; readonly changes: readonly JsonChange[]; readonly cut: boolean }
  | { readonly kind: 'text'; readonly lines: readonly TextDiffLine[]; readonly added: number; readonly removed: number; readonly tooLarge: boolean }
  | { readonly kind: 'binary'; readonly a: BodyFacts; readonly b: BodyFacts };

/** Size and digest of a body. */
export interface BodyFacts {
  readonly bytes: number;
  readonly sha256: string;
}

/** A capture with its stored bodies. */
export interface DiffSide {
  readonly capture: Capture;
  readonly requestBody: Buffer;
  readonly responseBody: Buffer;
}

/** Bodies are parsed as JSON or split into lines up to this size (decompressed); larger ones compare by size and digest. */
export const MAX_STRUCTURED_BYTES = 1024 * 1024;

function change<T>(a: T, b: T): ValueChange<T> | null {
  return a === b ? null : { a, b };
}

function byName(raw: readonly string[]): Map<string, { name: string; values: string[] }> {
  const out = new Map<string, { name: string; values: string[] }>();
  for (const [name, value] of headerPairs(raw)) {
    const key = name.toLowerCase();
    const entry = out.get(key) ?? { name, values: [] };
    entry.values.push(value);
    out.set(key, entry);
  }
  return out;
}

/** Names (lower case) in first-appearance order, kept only when `keep` has them. */
function order(raw: readonly string[], keep: ReadonlySet<string>): string[] {
  const seen = new Set<string>();
  for (const [name] of headerPairs(raw)) {
    const key = name.toLowerCase();
    if (keep.has(key)) seen.add(key);
  }
  return [...seen];
}

/** Headers added, removed and changed by name; a change of order alone is reported apart (`reordered`). */
export function diffHeaders(a: readonly string[], b: readonly string[]): HeaderDiff {
  const x = byName(a);
  const y = byName(b);
  const added = [...y].filter(([k]) => !x.has(k)).map(([, v]) => v);
  const removed = [...x].filter(([k]) => !y.has(k)).map(([, v]) => v);
  const changed = [...x]
    .filter(([k, v]) => y.has(k) && JSON.stringify(v.values) !== JSON.stringify(y.get(k)!.values))
    .map(([k, v]) => ({ name: v.name, a: v.values, b: y.get(k)!.values }));
  const common = new Set([...x.keys()].filter((k) => y.has(k)));
  const oa = order(a, common);
  const ob = order(b, common);
  return { added, removed, changed, reordered: oa.join('\n') === ob.join('\n') ? null : { a: oa, b: ob } };
}

function headersSame(d: HeaderDiff): boolean {
  return d.added.length === 0 && d.removed.length === 0 && d.changed.length === 0 && d.reordered === null;
}

/** The body as its content-encoding decodes (bounded); as stored when not encoded or not decodable. */
function decoded(body: Buffer, headers: readonly string[]): Buffer {
  return decodeContent(body, headerValue(headers, 'content-encoding'), MAX_STRUCTURED_BYTES + 1) ?? body;
}

function isText(buf: Buffer): boolean {
  const s = buf.toString('utf8');
  return !s.includes('\ufffd') && !/[\u0000-\u0008\u000e-\u001a]/.test(s);
}

function parseJson(text: string): { value: unknown } | undefined {
  if (!/^\s*[[{"\d-tfn]/.test(text)) return undefined;
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    // Not JSON (or nested beyond the engine's limits): compared as text.
    return undefined;
  }
}

function facts(body: Buffer): BodyFacts {
  return { bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') };
}

/** Two bodies: JSON by path when both parse, else lines when both are text, else size and sha256. */
export function diffBodies(a: Buffer, headersA: readonly string[], b: Buffer, headersB: readonly string[]): BodyDiff {
  if (a.equals(b)) return { kind: 'same', bytes: a.length };
  const x = decoded(a, headersA);
  const y = decoded(b, headersB);
  if (x.length > MAX_STRUCTURED_BYTES || y.length > MAX_STRUCTURED_BYTES || !isText(x) || !isText(y)) return { kind: 'binary', a: facts(a), b: facts(b) };
  const tx = x.toString('utf8');
  const ty = y.toString('utf8');
  const jx = parseJson(tx);
  const jy = jx && parseJson(ty);
  if (jx && jy) return { kind: 'json', ...diffJson(jx.value, jy.value) };
  return { kind: 'text', ...diffLines(tx, ty) };
}

function sameSignature(a: SignatureCheck | undefined, b: SignatureCheck | undefined): boolean {
  return a?.status === b?.status && a?.provider === b?.provider && a?.reason === b?.reason;
}

function bodySame(d: BodyDiff): boolean {
  return d.kind === 'same' || (d.kind === 'json' && d.changes.length === 0);
}

/** The difference between two captured exchanges, `a` the earlier (the marked one) and `b` the other. */
export function diffExchanges(a: DiffSide, b: DiffSide): ExchangeDiff {
  const [ca, cb] = [a.capture, b.capture];
  const request = {
    method: change(ca.method, cb.method),
    path: change(ca.path, cb.path),
    headers: diffHeaders(ca.requestHeaders, cb.requestHeaders),
    body: diffBodies(a.requestBody, ca.requestHeaders, b.requestBody, cb.requestHeaders),
  };
  const response = {
    status: change(ca.status, cb.status),
    headers: diffHeaders(ca.responseHeaders ?? [], cb.responseHeaders ?? []),
    body: diffBodies(a.responseBody, ca.responseHeaders ?? [], b.responseBody, cb.responseHeaders ?? []),
  };
  const signature = { a: ca.signature ?? null, b: cb.signature ?? null, same: sameSignature(ca.signature, cb.signature) };
  const same = !request.method && !request.path && headersSame(request.headers) && bodySame(request.body)
    && !response.status && headersSame(response.headers) && bodySame(response.body) && signature.same;
  return { a: ca.id, b: cb.id, same, request, response, signature };
}
