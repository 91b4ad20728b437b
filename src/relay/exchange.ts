import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { ErrorCode } from '../errors.js';
import {
  DataBatcher,
  FLAG_FIN,
  FrameType,
  INLINE_BODY_BYTES,
  ReceiveWindow,
  SendWindow,
  decodeResponseHead,
  decodeWindow,
  decodeReset,
  encodeHeadFrame,
  encodeReset,
  encodeWindow,
  type Frame,
  type RequestHead,
} from '../protocol/index.js';
import { bodyIdleMessage, refuseAndClose, sendError } from './respond.js';

/** What an exchange needs from the agent connection it runs on. */
export interface StreamSink {
  /** Sends one binary frame to the agent. */
  send(frame: Buffer): void;
  /** Forgets the stream (it is finished either way). */
  done(stream: number): void;
  /** Reports an agent that broke the protocol on this stream; the connection is closed. */
  violation(message: string): void;
}

/** The limits one exchange enforces. */
export interface ExchangeLimits {
  /** How long the agent has to start answering once the request is complete. */
  readonly responseTimeoutMs: number;
  /** Largest request body; beyond it the sender gets 413 and the stream is reset. */
  readonly maxBodyBytes: number;
  /** Longest pause in the sender's body; beyond it the sender gets 408. */
  readonly bodyIdleTimeoutMs: number;
}

/**
 * One sender's request relayed over one stream: reads the sender's body under the stream's send window, writes
 * the agent's response back under the receive window, and turns every failure into a clear answer or an abort.
 */
export class RelayExchange {
  private readonly sendWindow = new SendWindow();
  private readonly receiveWindow = new ReceiveWindow();
  private requestEnded = false;
  private finished = false;
  /** Body bytes written to the sender's response that have not yet reached its socket. */
  private unflushed = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly out: DataBatcher;
  /** Where the request body comes from: the sender's request, or a buffer read before the agent was back. */
  private source: Readable;

  private received = 0;

  constructor(
    readonly stream: number,
    private readonly sink: StreamSink,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly limits: ExchangeLimits,
  ) {
    this.out = new DataBatcher(stream, (frame) => sink.send(frame));
    this.source = req;
  }

  /**
   * Sends the request head (with the body inline when it is small and announced) and starts the body. `buffered`
   * is the whole body when the relay has already read it (a request that waited for its agent).
   */
  start(head: RequestHead, buffered?: Buffer): void {
    const { req, res } = this;
    res.on('close', () => this.onSenderClose());
    const source: Readable = buffered ? Readable.from([buffered]) : req;
    this.source = source;
    if (!buffered) {
      req.setTimeout(this.limits.bodyIdleTimeoutMs, () => this.refuse(ErrorCode.RequestTimeout, bodyIdleMessage(this.limits.bodyIdleTimeoutMs)));
    }
    const length = buffered ? String(buffered.length) : req.headers['content-length'];
    const chunked = !buffered && req.headers['transfer-encoding'] !== undefined;
    if (!chunked && (length === undefined || length === '0')) {
      this.requestComplete();
      this.sink.send(encodeHeadFrame(FrameType.Open, FLAG_FIN, this.stream, head));
      source.resume();
      return;
    }
    if (!chunked && Number(length) <= INLINE_BODY_BYTES) {
      const parts: Buffer[] = [];
      source.on('data', (c: Buffer) => this.countBody(c) && parts.push(c));
      source.on('end', () => {
        this.requestComplete();
        if (!this.finished) this.sink.send(encodeHeadFrame(FrameType.Open, FLAG_FIN, this.stream, head, parts));
      });
      return;
    }
    this.sink.send(encodeHeadFrame(FrameType.Open, 0, this.stream, head));
    source.on('data', (c: Buffer) => this.sendBody(c));
    source.on('end', () => {
      this.requestComplete();
      if (!this.finished) this.out.flush(true);
    });
  }

  /** The sender's body is complete: from now on the agent has `responseTimeoutMs` to start answering. */
  private requestComplete(): void {
    this.requestEnded = true;
    this.req.setTimeout(0);
    if (this.finished || this.res.headersSent) return;
    this.timer = setTimeout(() => this.fail(ErrorCode.UpstreamTimeout, 'the agent sent no response in time'), this.limits.responseTimeoutMs);
  }

  /** Counts request body bytes; false (and a 413) once they pass the limit. */
  private countBody(chunk: Buffer): boolean {
    this.received += chunk.length;
    if (this.received <= this.limits.maxBodyBytes) return true;
    this.refuse(ErrorCode.BodyTooLarge, `request body is over the relay's limit of ${this.limits.maxBodyBytes} bytes`);
    return false;
  }

  /** Fails the exchange because of the sender (too large, too slow) and closes the sender's connection. */
  private refuse(code: string, message: string): void {
    if (this.finished) return;
    if (this.res.headersSent) return this.fail(code, message);
    refuseAndClose(this.req, this.res, code, message);
    this.sink.send(encodeReset(this.stream, { code, message }));
    this.finish();
  }

  private sendBody(chunk: Buffer): void {
    if (this.finished || !this.countBody(chunk)) return;
    this.out.push(chunk);
    this.sendWindow.spend(chunk.length);
    if (this.sendWindow.blocked) this.source.pause();
  }

  /** Handles a frame the agent sent on this stream. */
  onFrame(frame: Frame): void {
    if (this.finished) return;
    switch (frame.type) {
      case FrameType.Response:
        return this.onResponse(frame);
      case FrameType.Data:
        return this.onData(frame.payload, (frame.flags & FLAG_FIN) !== 0);
      case FrameType.Window:
        this.sendWindow.grant(decodeWindow(frame.payload));
        if (!this.sendWindow.blocked && !this.requestEnded) this.source.resume();
        return;
      case FrameType.Reset: {
        const info = decodeReset(frame.payload);
        return this.fail(info.code, info.message);
      }
      default:
        return this.sink.violation(`frame type ${frame.type} is not valid from an agent`);
    }
  }

  private onResponse(frame: Frame): void {
    if (this.res.headersSent) return this.sink.violation(`second response head on stream ${this.stream}`);
    const { head, body } = decodeResponseHead(frame.payload);
    clearTimeout(this.timer);
    if (head.status < 200) {
      this.sink.violation(`final response status ${head.status} is not allowed`);
      return this.fail(ErrorCode.BadAgentResponse, `the agent sent status ${head.status} as a final response`);
    }
    try {
      this.res.writeHead(head.status, head.statusText, head.headers as string[]);
    } catch (err) {
      this.sink.violation(`response head rejected: ${(err as Error).message}`);
      return this.fail(ErrorCode.BadAgentResponse, 'the agent sent a response head that is not valid HTTP');
    }
    this.onData(body, (frame.flags & FLAG_FIN) !== 0);
  }

  private onData(chunk: Buffer, fin: boolean): void {
    if (!this.res.headersSent) return this.sink.violation(`body before response head on stream ${this.stream}`);
    if (fin && this.unflushed === 0) {
      // Body and end in one write: a small response leaves in a single syscall.
      this.receiveWindow.receive(chunk.length);
      this.res.end(chunk);
      return this.finish();
    }
    if (chunk.length > 0) {
      this.receiveWindow.receive(chunk.length);
      this.unflushed += chunk.length;
      const n = chunk.length;
      // Credit goes back as each chunk reaches the sender's socket (the write's callback), not when the whole
      // buffer has drained: waiting for 'drain' let the agent's window run dry while the kernel still had data to
      // send, and a 50 MiB download spent most of its time idle on both sides. At most a window per stream is
      // ever buffered here either way.
      this.res.write(chunk, () => this.onFlushed(n));
    }
    if (fin) {
      this.res.end();
      this.finish();
    }
  }

  private onFlushed(n: number): void {
    this.unflushed -= n;
    if (this.finished) return;
    const credit = this.receiveWindow.consume(n);
    if (credit > 0) this.sink.send(encodeWindow(this.stream, credit));
  }

  /** Ends the exchange with an error: a clear answer if nothing was sent yet, else an aborted response. */
  fail(code: string, message: string): void {
    if (this.finished) return;
    if (this.res.headersSent) this.res.destroy();
    else sendError(this.res, code, message);
    this.sink.send(encodeReset(this.stream, { code, message }));
    this.finish();
  }

  /** The agent connection went away: answer 502 (with `message`) or abort. No frame can be sent any more. */
  abandon(message = 'the agent disconnected before answering'): void {
    if (this.finished) return;
    if (this.res.headersSent) this.res.destroy();
    else sendError(this.res, ErrorCode.AgentDisconnected, message);
    this.finish();
  }

  private onSenderClose(): void {
    if (this.finished) return;
    // The sender went away before the response was complete: tell the agent to stop.
    this.sink.send(encodeReset(this.stream, { code: ErrorCode.SenderAborted, message: 'the sender closed the connection' }));
    this.finish();
  }

  private finish(): void {
    this.finished = true;
    this.req.setTimeout(0);
    this.out.discard();
    clearTimeout(this.timer);
    if (!this.requestEnded) this.source.resume();
    this.sink.done(this.stream);
  }
}
