import { encodeFrame } from './codec.js';
import { FLAG_FIN, FrameType } from './frames.js';
import { MAX_CHUNK_BYTES } from './limits.js';

/**
 * Gathers one stream's body chunks into as few Data frames as possible: a frame leaves when MAX_CHUNK_BYTES have
 * gathered, or at the end of the current event-loop turn, so nothing waits longer than that. Sockets hand over
 * 16-64 KiB per read; fewer, larger frames cost fewer WebSocket sends, syscalls and window updates.
 */
export class DataBatcher {
  private parts: Buffer[] = [];
  private bytes = 0;
  private scheduled = false;
  private closed = false;

  constructor(
    private readonly stream: number,
    private readonly send: (frame: Buffer) => void,
  ) {}

  /** Queues body bytes; a full frame is sent at once. */
  push(chunk: Buffer): void {
    if (this.closed) return;
    for (let off = 0; off < chunk.length; ) {
      const part = chunk.subarray(off, off + MAX_CHUNK_BYTES - this.bytes);
      this.parts.push(part);
      this.bytes += part.length;
      off += part.length;
      if (this.bytes >= MAX_CHUNK_BYTES) this.flush(false);
    }
    if (this.bytes > 0 && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flush(false);
      });
    }
  }

  /** Sends what is queued now; with `fin`, marks the end of the body (an empty frame if nothing is queued). */
  flush(fin: boolean): void {
    if (this.closed || (this.bytes === 0 && !fin)) return;
    this.send(encodeFrame(FrameType.Data, fin ? FLAG_FIN : 0, this.stream, this.parts));
    this.parts = [];
    this.bytes = 0;
    if (fin) this.closed = true;
  }

  /** Drops what is queued; nothing more is sent (the stream was reset). */
  discard(): void {
    this.closed = true;
    this.parts = [];
    this.bytes = 0;
  }
}
