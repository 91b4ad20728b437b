import { ErrorCode, HooktunnelError } from '../errors.js';
import { FRAME_HEADER_BYTES, FrameType, type AgentControl, type Frame, type MissedHead, type RelayControl, type RequestHead, type ResetInfo, type ResponseHead } from './frames.js';
import { MAX_HEAD_BYTES } from './limits.js';

const MAX_STREAM_ID = 0xffffffff;

function protocolError(message: string): HooktunnelError {
  return new HooktunnelError(ErrorCode.ProtocolError, message);
}

function header(buf: Buffer, type: FrameType, flags: number, stream: number): void {
  buf[0] = type;
  buf[1] = flags;
  buf.writeUInt32BE(stream, 2);
}

/** Encodes a frame whose payload is raw bytes (Data), given whole or in parts, or nothing. */
export function encodeFrame(type: FrameType, flags: number, stream: number, payload?: Uint8Array | readonly Uint8Array[]): Buffer {
  const parts = payload === undefined ? [] : payload instanceof Uint8Array ? [payload] : payload;
  let len = 0;
  for (const p of parts) len += p.length;
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + len);
  header(buf, type, flags, stream);
  let off = FRAME_HEADER_BYTES;
  for (const p of parts) {
    buf.set(p, off);
    off += p.length;
  }
  return buf;
}

/** Encodes an Open or Response frame: a JSON head, then optional inline body bytes. */
export function encodeHeadFrame(
  type: typeof FrameType.Open | typeof FrameType.Response | typeof FrameType.Missed,
  flags: number,
  stream: number,
  head: RequestHead | ResponseHead | MissedHead,
  body?: readonly Buffer[],
): Buffer {
  const json = JSON.stringify(head);
  const headLen = Buffer.byteLength(json);
  if (headLen > MAX_HEAD_BYTES) throw protocolError(`head of ${headLen} bytes exceeds ${MAX_HEAD_BYTES}`);
  let bodyLen = 0;
  if (body) for (const b of body) bodyLen += b.length;
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 4 + headLen + bodyLen);
  header(buf, type, flags, stream);
  buf.writeUInt32BE(headLen, FRAME_HEADER_BYTES);
  let off = FRAME_HEADER_BYTES + 4;
  off += buf.write(json, off);
  if (body) for (const b of body) off += b.copy(buf, off);
  return buf;
}

/** Encodes a Window frame granting `credit` more bytes on `stream`. */
export function encodeWindow(stream: number, credit: number): Buffer {
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 4);
  header(buf, FrameType.Window, 0, stream);
  buf.writeUInt32BE(credit, FRAME_HEADER_BYTES);
  return buf;
}

/** Encodes a Reset frame. */
export function encodeReset(stream: number, info: ResetInfo): Buffer {
  return encodeFrame(FrameType.Reset, 0, stream, Buffer.from(JSON.stringify({ code: info.code, message: info.message })));
}

/** Decodes a binary frame's header. Throws a `protocol_error` HooktunnelError on anything malformed. */
export function decodeFrame(buf: Buffer): Frame {
  if (buf.length < FRAME_HEADER_BYTES) throw protocolError(`frame of ${buf.length} bytes is shorter than its header`);
  const type = buf[0] as FrameType;
  if (type < FrameType.Open || type > FrameType.Missed) throw protocolError(`unknown frame type ${type}`);
  const stream = buf.readUInt32BE(2);
  if (stream === 0 || stream > MAX_STREAM_ID) throw protocolError('stream id 0 is not valid');
  return { type, flags: buf[1]!, stream, payload: buf.subarray(FRAME_HEADER_BYTES) };
}

function splitHead(payload: Buffer): { json: unknown; body: Buffer } {
  if (payload.length < 4) throw protocolError('head frame without head length');
  const headLen = payload.readUInt32BE(0);
  if (headLen > MAX_HEAD_BYTES || 4 + headLen > payload.length) throw protocolError(`head length ${headLen} is out of bounds`);
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8', 4, 4 + headLen));
  } catch {
    throw protocolError('head is not valid JSON');
  }
  if (typeof json !== 'object' || json === null) throw protocolError('head is not an object');
  return { json, body: payload.subarray(4 + headLen) };
}

function isHeaderList(v: unknown): v is string[] {
  return Array.isArray(v) && v.length % 2 === 0 && v.every((s) => typeof s === 'string');
}

/** Decodes an Open frame's payload into the request head and inline body. */
export function decodeRequestHead(payload: Buffer): { head: RequestHead; body: Buffer } {
  const { json, body } = splitHead(payload);
  const h = json as Record<string, unknown>;
  if (typeof h.method !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(h.method)) throw protocolError('request head has no valid method');
  if (typeof h.path !== 'string' || !h.path.startsWith('/')) throw protocolError('request path must begin with /');
  if (!isHeaderList(h.headers)) throw protocolError('request headers must be a flat list of strings');
  const head: RequestHead = {
    method: h.method,
    path: h.path,
    headers: h.headers,
    remote: typeof h.remote === 'string' ? h.remote : '',
    host: typeof h.host === 'string' ? h.host : '',
    ...(typeof h.upgrade === 'string' && h.upgrade !== '' ? { upgrade: h.upgrade } : {}),
  };
  return { head, body };
}

/** Decodes a Missed frame's payload into the kept request's head and body. */
export function decodeMissedHead(payload: Buffer): { head: MissedHead; body: Buffer } {
  const { head, body } = decodeRequestHead(payload);
  const h = JSON.parse(payload.toString('utf8', 4, 4 + payload.readUInt32BE(0))) as Record<string, unknown>;
  if (typeof h.id !== 'string' || typeof h.arrivedAt !== 'number' || typeof h.status !== 'number') {
    throw protocolError('missed head lacks id, arrivedAt or status');
  }
  return { head: { ...head, id: h.id, arrivedAt: h.arrivedAt, status: h.status }, body };
}

/** Decodes a Response frame's payload. The status must be an integer from 100 to 599. */
export function decodeResponseHead(payload: Buffer): { head: ResponseHead; body: Buffer } {
  const { json, body } = splitHead(payload);
  const h = json as Record<string, unknown>;
  if (typeof h.status !== 'number' || !Number.isInteger(h.status) || h.status < 100 || h.status > 599) {
    throw protocolError(`response status ${String(h.status)} is outside 100-599`);
  }
  if (!isHeaderList(h.headers)) throw protocolError('response headers must be a flat list of strings');
  const statusText = typeof h.statusText === 'string' ? h.statusText : undefined;
  const upgrade = typeof h.upgrade === 'string' && h.upgrade !== '' ? { upgrade: h.upgrade } : {};
  return { head: { status: h.status, statusText, headers: h.headers, ...upgrade }, body };
}

/** Decodes a Window frame's credit increment. */
export function decodeWindow(payload: Buffer): number {
  if (payload.length !== 4) throw protocolError('window frame must carry exactly 4 bytes');
  const credit = payload.readUInt32BE(0);
  if (credit === 0) throw protocolError('window increment of 0');
  return credit;
}

/** Decodes a Reset frame's reason. Malformed reasons become a generic protocol error reason. */
export function decodeReset(payload: Buffer): ResetInfo {
  try {
    const v = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
    if (typeof v.code === 'string' && typeof v.message === 'string') return { code: v.code, message: v.message };
  } catch {
    // fall through to the generic reason
  }
  return { code: ErrorCode.ProtocolError, message: 'reset without a readable reason' };
}

function parseControl(text: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw protocolError('control message is not valid JSON');
  }
  if (typeof v !== 'object' || v === null || typeof (v as { type?: unknown }).type !== 'string') {
    throw protocolError('control message has no type');
  }
  return v as Record<string, unknown>;
}

const optionalString = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Parses an agent -> relay control message. */
export function decodeAgentControl(text: string): AgentControl {
  const v = parseControl(text);
  if (v.type === 'hello') {
    const allow = Array.isArray(v.allow) && v.allow.every((c) => typeof c === 'string') ? (v.allow as string[]) : undefined;
    if (v.allow !== undefined && allow === undefined) throw protocolError('hello allow must be a list of strings');
    const auth = optionalString(v.auth);
    if (auth !== undefined && !/^[0-9a-f]{64}$/.test(auth)) throw protocolError('hello auth must be a SHA-256 hex digest');
    const features = Array.isArray(v.features) ? v.features.filter((f): f is string => typeof f === 'string') : undefined;
    return { type: 'hello', tunnel: optionalString(v.tunnel), secret: optionalString(v.secret), auth, allow, ...(features ? { features } : {}) };
  }
  if (v.type === 'ping') return { type: 'ping' };
  if (v.type === 'missed_ack') {
    if (!Array.isArray(v.ids) || !v.ids.every((id) => typeof id === 'string')) throw protocolError('missed_ack needs a list of ids');
    return { type: 'missed_ack', ids: v.ids as string[] };
  }
  throw protocolError(`unknown agent control message ${JSON.stringify(v.type)}`);
}

/** Parses a relay -> agent control message. */
export function decodeRelayControl(text: string): RelayControl {
  const v = parseControl(text);
  const str = (k: string): string => {
    if (typeof v[k] !== 'string') throw protocolError(`${String(v.type)} message lacks ${k}`);
    return v[k] as string;
  };
  switch (v.type) {
    case 'ready':
      return { type: 'ready', tunnel: str('tunnel'), url: str('url'), secret: str('secret') };
    case 'refused':
      return { type: 'refused', code: str('code'), message: str('message') };
    case 'going_away':
      return { type: 'going_away', message: str('message') };
    case 'pong':
      return { type: 'pong', owned: v.owned === true };
    case 'missed_summary':
      return { type: 'missed_summary', count: Number(v.count) || 0, dropped: Number(v.dropped) || 0 };
    default:
      throw protocolError(`unknown relay control message ${JSON.stringify(v.type)}`);
  }
}

/** Encodes a control message as the text of a WebSocket frame. */
export function encodeControl(msg: AgentControl | RelayControl): string {
  return JSON.stringify(msg);
}
