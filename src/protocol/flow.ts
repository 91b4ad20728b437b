import { ErrorCode, HooktunnelError } from '../errors.js';
import { MAX_CHUNK_BYTES, STREAM_WINDOW_BYTES, WINDOW_UPDATE_THRESHOLD } from './limits.js';

/**
 * Sending half of a stream's flow control: how many more body bytes may be sent before the peer grants credit.
 * The sender stops reading its source when `blocked` and starts again on `grant`.
 */
export class SendWindow {
  private credit = STREAM_WINDOW_BYTES;

  /** Records `n` bytes sent. */
  spend(n: number): void {
    this.credit -= n;
  }

  /** Adds credit granted by the peer's Window frame. */
  grant(n: number): void {
    this.credit += n;
  }

  /** True while the peer has not granted room for more bytes. */
  get blocked(): boolean {
    return this.credit <= 0;
  }
}

/**
 * Receiving half: counts bytes that arrived and bytes handed on to their destination, and says when to send a
 * Window frame. A peer that sends beyond the window (plus one chunk of slack) is breaking the protocol.
 */
export class ReceiveWindow {
  private outstanding = 0;
  private consumedUngranted = 0;

  /** Records `n` bytes received; throws `protocol_error` when the peer overran its window. */
  receive(n: number): void {
    this.outstanding += n;
    if (this.outstanding > STREAM_WINDOW_BYTES + MAX_CHUNK_BYTES) {
      throw new HooktunnelError(ErrorCode.ProtocolError, `peer sent ${this.outstanding} bytes beyond its flow-control window`);
    }
  }

  /**
   * Records `n` bytes handed on. Returns the credit to grant now (0 to wait for more), batching grants so that a
   * stream does not cost one Window frame per chunk. `flush` grants whatever is pending.
   */
  consume(n: number, flush = false): number {
    this.consumedUngranted += n;
    if (this.consumedUngranted === 0 || (!flush && this.consumedUngranted < WINDOW_UPDATE_THRESHOLD)) return 0;
    const credit = this.consumedUngranted;
    this.consumedUngranted = 0;
    this.outstanding -= credit;
    return credit;
  }
}
