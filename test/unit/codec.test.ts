import { describe, expect, it } from 'vitest';
import { ErrorCode, isHooktunnelError } from '../../src/errors.js';
import {
  FLAG_FIN,
  FrameType,
  MAX_CHUNK_BYTES,
  MAX_HEAD_BYTES,
  ReceiveWindow,
  STREAM_WINDOW_BYTES,
  SendWindow,
  WINDOW_UPDATE_THRESHOLD,
  decodeAgentControl,
  decodeFrame,
  decodeRelayControl,
  decodeRequestHead,
  decodeReset,
  decodeResponseHead,
  decodeWindow,
  encodeFrame,
  encodeHeadFrame,
  encodeReset,
  encodeWindow,
  stripHopByHop,
} from '../../src/protocol/index.js';

function protocolError(fn: () => unknown): boolean {
  try {
    fn();
  } catch (err) {
    return isHooktunnelError(err, ErrorCode.ProtocolError);
  }
  return false;
}

describe('frame codec', () => {
  it('encodes the 6-byte header literally', () => {
    const buf = encodeFrame(FrameType.Data, FLAG_FIN, 0x01020304, Buffer.from('hi'));

    expect([...buf]).toEqual([3, 1, 1, 2, 3, 4, 0x68, 0x69]);
    expect(decodeFrame(buf)).toMatchObject({ type: FrameType.Data, flags: FLAG_FIN, stream: 0x01020304 });
    expect(decodeFrame(buf).payload.toString()).toBe('hi');
  });

  it('round-trips a request head with an inline body split over several buffers', () => {
    const head = { method: 'POST', path: '/hook?x=%2F', headers: ['X-A', '1', 'x-a', '2', 'Latin', 'caf\u00e9'], remote: '127.0.0.1', host: 'h' };
    const buf = encodeHeadFrame(FrameType.Open, FLAG_FIN, 7, head, [Buffer.from([0, 255]), Buffer.from('tail')]);

    const frame = decodeFrame(buf);
    const { head: got, body } = decodeRequestHead(frame.payload);

    expect(frame).toMatchObject({ type: FrameType.Open, flags: FLAG_FIN, stream: 7 });
    expect(got).toEqual(head);
    expect([...body]).toEqual([0, 255, ...Buffer.from('tail')]);
  });

  it('round-trips a response head, window and reset', () => {
    const resp = decodeResponseHead(decodeFrame(encodeHeadFrame(FrameType.Response, 0, 1, { status: 201, statusText: 'Created', headers: ['Set-Cookie', 'a', 'Set-Cookie', 'b'] })).payload);
    const win = decodeWindow(decodeFrame(encodeWindow(3, 65536)).payload);
    const reset = decodeReset(decodeFrame(encodeReset(4, { code: 'upstream_timeout', message: 'slow' })).payload);

    expect(resp.head).toEqual({ status: 201, statusText: 'Created', headers: ['Set-Cookie', 'a', 'Set-Cookie', 'b'] });
    expect(win).toBe(65536);
    expect(reset).toEqual({ code: 'upstream_timeout', message: 'slow' });
  });

  it('rejects short, unknown and stream-0 frames', () => {
    expect(protocolError(() => decodeFrame(Buffer.from([3, 0, 0])))).toBe(true);
    expect(protocolError(() => decodeFrame(Buffer.from([9, 0, 0, 0, 0, 1])))).toBe(true);
    expect(protocolError(() => decodeFrame(Buffer.from([0, 0, 0, 0, 0, 1])))).toBe(true);
    expect(protocolError(() => decodeFrame(Buffer.from([3, 0, 0, 0, 0, 0])))).toBe(true);
  });

  it('rejects heads that lie about their length, are not JSON, or are oversized', () => {
    const lying = Buffer.alloc(8);
    lying.writeUInt32BE(100, 0);
    const notJson = Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from('{x}')]);
    const huge = Buffer.alloc(4);
    huge.writeUInt32BE(MAX_HEAD_BYTES + 1, 0);

    expect(protocolError(() => decodeRequestHead(lying))).toBe(true);
    expect(protocolError(() => decodeRequestHead(notJson))).toBe(true);
    expect(protocolError(() => decodeRequestHead(huge))).toBe(true);
    expect(protocolError(() => decodeRequestHead(Buffer.from([0, 0])))).toBe(true);
  });

  it('validates head contents: method token, path, header list, status range', () => {
    const req = (h: object): Buffer => decodeFrame(encodeHeadFrame(FrameType.Open, 0, 1, h as never)).payload;
    const res = (h: object): Buffer => decodeFrame(encodeHeadFrame(FrameType.Response, 0, 1, h as never)).payload;

    expect(protocolError(() => decodeRequestHead(req({ method: 'GE T', path: '/', headers: [] })))).toBe(true);
    expect(protocolError(() => decodeRequestHead(req({ method: 'GET', path: 'http://evil/', headers: [] })))).toBe(true);
    expect(protocolError(() => decodeRequestHead(req({ method: 'GET', path: '/', headers: ['odd'] })))).toBe(true);
    expect(protocolError(() => decodeRequestHead(req({ method: 'GET', path: '/', headers: [1, 2] })))).toBe(true);
    expect(protocolError(() => decodeResponseHead(res({ status: 600, headers: [] })))).toBe(true);
    expect(protocolError(() => decodeResponseHead(res({ status: 99, headers: [] })))).toBe(true);
    expect(protocolError(() => decodeResponseHead(res({ status: 200.5, headers: [] })))).toBe(true);
    expect(protocolError(() => decodeWindow(Buffer.from([0, 0, 0, 0])))).toBe(true);
    expect(protocolError(() => decodeWindow(Buffer.from([0, 1])))).toBe(true);
  });

  it('refuses to encode an oversized head', () => {
    const headers = ['X-Big', 'v'.repeat(MAX_HEAD_BYTES)];

    expect(protocolError(() => encodeHeadFrame(FrameType.Open, 0, 1, { method: 'GET', path: '/', headers, remote: '', host: '' }))).toBe(true);
  });

  it('turns an unreadable reset reason into a protocol error reason', () => {
    expect(decodeReset(Buffer.from('nope'))).toEqual({ code: ErrorCode.ProtocolError, message: 'reset without a readable reason' });
  });
});

describe('control messages', () => {
  it('parses hello, ready, refused and going_away', () => {
    expect(decodeAgentControl('{"type":"hello","tunnel":"abc","secret":"s"}')).toEqual({ type: 'hello', tunnel: 'abc', secret: 's' });
    expect(decodeAgentControl('{"type":"hello"}')).toEqual({ type: 'hello', tunnel: undefined, secret: undefined });
    expect(decodeRelayControl('{"type":"ready","tunnel":"t","url":"u","secret":"s"}')).toEqual({ type: 'ready', tunnel: 't', url: 'u', secret: 's' });
    expect(decodeRelayControl('{"type":"refused","code":"tunnel_taken","message":"m"}')).toMatchObject({ code: 'tunnel_taken' });
    expect(decodeRelayControl('{"type":"going_away","message":"bye"}')).toMatchObject({ type: 'going_away' });
  });

  it('rejects unknown, untyped and malformed messages', () => {
    expect(protocolError(() => decodeAgentControl('{"type":"shell"}'))).toBe(true);
    expect(protocolError(() => decodeAgentControl('[]'))).toBe(true);
    expect(protocolError(() => decodeAgentControl('{'))).toBe(true);
    expect(protocolError(() => decodeRelayControl('{"type":"ready","tunnel":"t"}'))).toBe(true);
  });
});

describe('flow control windows', () => {
  it('blocks the sender once the window is spent and unblocks on credit', () => {
    const w = new SendWindow();
    w.spend(STREAM_WINDOW_BYTES - 1);
    expect(w.blocked).toBe(false);
    w.spend(1);
    expect(w.blocked).toBe(true);
    w.grant(10);
    expect(w.blocked).toBe(false);
  });

  it('batches credit and flags a peer that overruns its window', () => {
    const r = new ReceiveWindow();
    r.receive(WINDOW_UPDATE_THRESHOLD);
    expect(r.consume(WINDOW_UPDATE_THRESHOLD - 1)).toBe(0);
    expect(r.consume(1)).toBe(WINDOW_UPDATE_THRESHOLD);
    r.receive(10);
    expect(r.consume(10, true)).toBe(10);

    const greedy = new ReceiveWindow();
    greedy.receive(STREAM_WINDOW_BYTES + MAX_CHUNK_BYTES);
    expect(protocolError(() => greedy.receive(1))).toBe(true);
  });
});

describe('hop-by-hop headers', () => {
  it('drops the fixed set, Proxy-* and headers named in Connection, keeping the rest in order', () => {
    const raw = ['Host', 'h', 'Connection', 'close, X-Hop', 'X-Hop', '1', 'Keep-Alive', '5', 'Transfer-Encoding', 'chunked', 'Upgrade', 'ws', 'Proxy-Authorization', 'p', 'TE', 't', 'Trailer', 'x', 'Expect', '100-continue', 'X-A', '1', 'x-a', '2'];

    expect(stripHopByHop(raw)).toEqual(['Host', 'h', 'X-A', '1', 'x-a', '2']);
  });
});

describe('upgrade streams', () => {
  it('carries the upgrade protocol on request and response heads, and nothing when absent or empty', () => {
    const open = encodeHeadFrame(FrameType.Open, 0, 3, { method: 'GET', path: '/ws', headers: ['Sec-WebSocket-Key', 'k'], remote: '', host: 'h', upgrade: 'websocket' });
    expect(decodeRequestHead(decodeFrame(open).payload).head.upgrade).toBe('websocket');
    const plain = encodeHeadFrame(FrameType.Open, 0, 3, { method: 'GET', path: '/', headers: [], remote: '', host: 'h', upgrade: '' });
    expect('upgrade' in decodeRequestHead(decodeFrame(plain).payload).head).toBe(false);
    const switched = encodeHeadFrame(FrameType.Response, 0, 3, { status: 101, headers: ['Sec-WebSocket-Accept', 'a'], upgrade: 'websocket' });
    expect(decodeResponseHead(decodeFrame(switched).payload).head).toEqual({ status: 101, statusText: undefined, headers: ['Sec-WebSocket-Accept', 'a'], upgrade: 'websocket' });
  });

  it('reads the features of a hello, keeping only strings', () => {
    expect(decodeAgentControl('{"type":"hello","features":["upgrade",7]}')).toMatchObject({ features: ['upgrade'] });
    expect('features' in decodeAgentControl('{"type":"hello"}')).toBe(false);
  });
});
