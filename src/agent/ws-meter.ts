/**
 * Counts the messages of one direction of a WebSocket connection from its byte stream, reading frame headers only
 * (RFC 6455 section 5.2: FIN bit, opcode, 7/16/64-bit length, mask key) and skipping payloads without keeping them.
 * A data message is counted when its last frame (FIN set, opcode 0 continuation, 1 text or 2 binary) begins;
 * control frames (close, ping, pong) are not messages. Bytes are counted whatever they are.
 */
export class WebSocketMeter {
  /** Data messages seen. */
  messages = 0;
  /** Bytes seen. */
  bytes = 0;
  private readonly header = Buffer.alloc(14);
  private have = 0;
  private need = 2;
  /** Payload bytes of the current frame still to skip. */
  private skip = 0;
  /** A length beyond 2^53: not a stream we can follow (only bytes are counted from then on). */
  private lost = false;

  /** Counts `chunk`; with `frames` false (not a WebSocket) only its bytes. */
  constructor(private readonly frames = true) {}

  feed(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (!this.frames || this.lost) return;
    let i = 0;
    while (i < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        this.skip -= n;
        i += n;
        continue;
      }
      this.header[this.have++] = chunk[i++]!;
      if (this.have === 2) {
        const len7 = this.header[1]! & 0x7f;
        this.need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (this.header[1]! & 0x80 ? 4 : 0);
      }
      if (this.have < this.need) continue;
      this.frameHeader();
    }
  }

  private frameHeader(): void {
    const b0 = this.header[0]!;
    const len7 = this.header[1]! & 0x7f;
    let length = len7;
    if (len7 === 126) length = this.header.readUInt16BE(2);
    else if (len7 === 127) {
      const big = this.header.readBigUInt64BE(2);
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) {
        this.lost = true;
        return;
      }
      length = Number(big);
    }
    const opcode = b0 & 0x0f;
    if (b0 & 0x80 && opcode <= 2) this.messages++;
    this.skip = length;
    this.have = 0;
    this.need = 2;
  }
}
