import { describe, expect, it } from 'vitest';
import { WebSocketMeter } from '../../src/agent/ws-meter.js';

/** One WebSocket frame (RFC 6455 5.2) with `payload`, masked when `mask`. */
function frame(opcode: number, fin: boolean, payload: Buffer, mask = false): Buffer {
  const len = payload.length;
  const ext = len > 0xffff ? 8 : len > 125 ? 2 : 0;
  const head = Buffer.alloc(2 + ext + (mask ? 4 : 0));
  head[0] = (fin ? 0x80 : 0) | opcode;
  head[1] = (mask ? 0x80 : 0) | (ext === 8 ? 127 : ext === 2 ? 126 : len);
  if (ext === 2) head.writeUInt16BE(len, 2);
  if (ext === 8) head.writeBigUInt64BE(BigInt(len), 2);
  return Buffer.concat([head, payload]);
}

describe('WebSocketMeter', () => {
  it('counts text and binary messages of every length form, masked or not', () => {
    const m = new WebSocketMeter();
    const stream = Buffer.concat([
      frame(1, true, Buffer.from('hi')),
      frame(2, true, Buffer.alloc(300, 1), true),
      frame(2, true, Buffer.alloc(70_000, 2)),
    ]);
    m.feed(stream);
    expect(m.messages).toBe(3);
    expect(m.bytes).toBe(stream.length);
  });

  it('counts a fragmented message once and control frames not at all', () => {
    const m = new WebSocketMeter();
    m.feed(Buffer.concat([
      frame(1, false, Buffer.from('part 1 ')),
      frame(9, true, Buffer.from('ping')),
      frame(0, false, Buffer.from('part 2 ')),
      frame(0, true, Buffer.from('end')),
      frame(10, true, Buffer.alloc(0)),
      frame(8, true, Buffer.from([0x03, 0xe8])),
    ]));
    expect(m.messages).toBe(1);
  });

  it('follows frames split at any byte, header and payload alike', () => {
    const stream = Buffer.concat([frame(1, true, Buffer.alloc(200, 65), true), frame(2, true, Buffer.alloc(70_000)), frame(1, true, Buffer.from('x'))]);
    for (const size of [1, 2, 3, 7, 13, 4096]) {
      const m = new WebSocketMeter();
      for (let at = 0; at < stream.length; at += size) m.feed(stream.subarray(at, at + size));
      expect(m.messages, `split every ${size} bytes`).toBe(3);
      expect(m.bytes).toBe(stream.length);
    }
  });

  it('only counts bytes for another protocol, and stops counting messages at an impossible length', () => {
    const other = new WebSocketMeter(false);
    other.feed(frame(1, true, Buffer.from('hi')));
    expect(other).toMatchObject({ messages: 0, bytes: 4 });
    const hostile = new WebSocketMeter();
    hostile.feed(Buffer.from([0x82, 127, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
    hostile.feed(frame(1, true, Buffer.from('after')));
    expect(hostile.messages).toBe(0);
    expect(hostile.bytes).toBe(17);
  });
});
