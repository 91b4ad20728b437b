import type { Socket } from 'node:net';
import {
  DataBatcher,
  FLAG_FIN,
  FrameType,
  ReceiveWindow,
  SendWindow,
  decodeReset,
  decodeWindow,
  encodeReset,
  encodeWindow,
  type Frame,
} from './protocol/index.js';

/** How a pipe ended: no code for a clean close (both directions ended), else the error code and a sentence. */
export interface PipeEnd {
  readonly code?: string;
  readonly message?: string;
}

/** What a pipe needs from the end it runs on. */
export interface PipeHooks {
  /** Sends one binary frame to the peer. */
  send(frame: Buffer): void;
  /** Bytes read from the socket, before they leave as Data frames. */
  onRead?(chunk: Buffer): void;
  /** Bytes from the peer, as they are written to the socket. */
  onWrite?(chunk: Buffer): void;
  /** The pipe is over (called once); the socket is closed or being closed. */
  onEnd(end: PipeEnd): void;
}

/** Options of a pipe. */
export interface PipeOptions {
  /** Read the socket and send what it gives (false: only write the peer's bytes to it, a plain response). */
  readonly read: boolean;
  /** The Reset code sent when the socket closes before both directions ended. */
  readonly abortCode: string;
  /** Close both ends after this long without a byte either way (0: never). */
  readonly idleTimeoutMs?: number;
  /** The Reset code of an idle timeout. */
  readonly idleCode?: string;
}

/**
 * An upgraded connection's bytes between a socket and a stream, both ways, with the stream's flow control: the socket
 * is paused while the peer has not granted credit, and credit goes back as the peer's bytes reach the socket. The
 * end of one direction (a half-close) is a FIN; a socket that closes before both directions ended, an idle timeout or
 * a Reset ends both sides. Shared by the relay (the sender's socket) and the agent (the target's).
 */
export class StreamPipe {
  private readonly sendWindow = new SendWindow();
  private readonly receiveWindow = new ReceiveWindow();
  private readonly out: DataBatcher;
  private sentFin = false;
  private gotFin = false;
  private over = false;

  constructor(
    readonly stream: number,
    private readonly socket: Socket,
    private readonly hooks: PipeHooks,
    private readonly options: PipeOptions,
  ) {
    this.out = new DataBatcher(stream, (frame) => hooks.send(frame));
  }

  /** Starts piping; `initial` is what the socket had already delivered (bytes right behind the HTTP head). */
  start(initial?: Buffer): void {
    const { socket, options } = this;
    socket.on('error', () => {});
    socket.on('close', () => this.onClose());
    if (options.idleTimeoutMs) {
      socket.setTimeout(options.idleTimeoutMs, () =>
        this.abort(options.idleCode ?? options.abortCode, `no bytes either way for ${options.idleTimeoutMs! / 1000} s`, true),
      );
    }
    if (!options.read) {
      this.sentFin = true;
      return;
    }
    if (initial && initial.length > 0) this.onSocketData(initial);
    socket.on('data', (chunk: Buffer) => this.onSocketData(chunk));
    socket.on('end', () => {
      if (this.over) return;
      this.sentFin = true;
      this.out.flush(true);
    });
  }

  /** Handles a frame the peer sent on this stream (Data, Window, Reset). */
  onFrame(frame: Frame): void {
    if (this.over) return;
    switch (frame.type) {
      case FrameType.Data:
        return this.receive(frame.payload, (frame.flags & FLAG_FIN) !== 0);
      case FrameType.Window:
        this.sendWindow.grant(decodeWindow(frame.payload));
        if (!this.sendWindow.blocked && !this.sentFin) this.socket.resume();
        return;
      case FrameType.Reset: {
        const info = decodeReset(frame.payload);
        return this.abort(info.code, info.message, false);
      }
      default:
        return;
    }
  }

  /** Writes the peer's bytes to the socket; `fin` half-closes it (ends its writing side). */
  receive(chunk: Buffer, fin: boolean): void {
    if (this.over || this.gotFin) return;
    if (chunk.length > 0) {
      this.receiveWindow.receive(chunk.length);
      this.hooks.onWrite?.(chunk);
      const n = chunk.length;
      this.socket.write(chunk, () => this.onFlushed(n));
    }
    if (!fin) return;
    this.gotFin = true;
    this.socket.end();
    // A plain response is over once written: nothing is read from this socket.
    if (!this.options.read) this.socket.once('finish', () => this.socket.destroy());
  }

  /** Ends both sides now: the socket is destroyed, the peer told with a Reset when `tellPeer`. */
  abort(code: string, message: string, tellPeer: boolean): void {
    if (this.over) return;
    this.over = true;
    this.out.discard();
    if (tellPeer) this.hooks.send(encodeReset(this.stream, { code, message }));
    this.socket.destroy();
    this.hooks.onEnd({ code, message });
  }

  private onSocketData(chunk: Buffer): void {
    if (this.over) return;
    this.hooks.onRead?.(chunk);
    this.out.push(chunk);
    this.sendWindow.spend(chunk.length);
    if (this.sendWindow.blocked) this.socket.pause();
  }

  private onFlushed(n: number): void {
    if (this.over) return;
    const credit = this.receiveWindow.consume(n);
    if (credit > 0) this.hooks.send(encodeWindow(this.stream, credit));
  }

  private onClose(): void {
    if (this.over) return;
    if (this.sentFin && this.gotFin) {
      this.over = true;
      return this.hooks.onEnd({});
    }
    this.abort(this.options.abortCode, 'the connection closed before both directions ended', true);
  }
}
