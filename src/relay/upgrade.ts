import { STATUS_CODES, validateHeaderName, validateHeaderValue } from 'node:http';
import type { Socket } from 'node:net';
import { ErrorCode, statusForCode } from '../errors.js';
import { StreamPipe } from '../pipe.js';
import {
  FLAG_FIN,
  FrameType,
  decodeReset,
  decodeResponseHead,
  encodeHeadFrame,
  encodeReset,
  type Frame,
  type RequestHead,
  type ResponseHead,
} from '../protocol/index.js';
import type { StreamSink } from './exchange.js';
import { sendSocketError } from './respond.js';

/** Limits of an upgrade stream. */
export interface UpgradeLimits {
  /** Time the agent has to send the target's answer. */
  readonly responseTimeoutMs: number;
  /** An upgraded connection with no byte either way for this long is closed at both ends. */
  readonly upgradeIdleTimeoutMs: number;
}

/**
 * The HTTP/1.1 response head written on the sender's socket: the agent's status and headers (checked as Node checks
 * its own), then `Connection: Upgrade` and `Upgrade` for a 101, `Connection: close` for anything else (the body that
 * follows is then delimited by the close). Throws on a header that is not valid HTTP.
 */
export function responseHeadText(head: ResponseHead, protocol: string): string {
  const reason = head.statusText && !/[\r\n]/.test(head.statusText) ? head.statusText : (STATUS_CODES[head.status] ?? '');
  let text = `HTTP/1.1 ${head.status} ${reason}\r\n`;
  const add = (name: string, value: string): void => {
    validateHeaderName(name);
    validateHeaderValue(name, value);
    text += `${name}: ${value}\r\n`;
  };
  for (let i = 0; i < head.headers.length; i += 2) add(head.headers[i]!, head.headers[i + 1]!);
  if (head.status === 101) {
    add('Connection', 'Upgrade');
    add('Upgrade', head.upgrade ?? protocol);
  } else {
    add('Connection', 'close');
  }
  return `${text}\r\n`;
}

/**
 * One upgrade request (WebSocket) relayed over a stream. The head goes to the agent marked as an upgrade; the
 * agent's answer is written on the sender's raw socket. After a 101 both directions are piped as the stream's Data
 * frames with flow control until either end closes; any other answer is passed on as a plain response.
 */
export class RelayUpgrade {
  private timer: NodeJS.Timeout | undefined;
  private pipe: StreamPipe | undefined;
  private finished = false;
  private readonly onEarlyClose = (): void => {
    if (this.finished || this.pipe) return;
    this.sink.send(encodeReset(this.stream, { code: ErrorCode.SenderAborted, message: 'the sender closed the connection' }));
    this.finish();
  };

  constructor(
    readonly stream: number,
    private readonly sink: StreamSink,
    private readonly socket: Socket,
    /** What the sender sent right behind its request head (the upgraded protocol's first bytes). */
    private readonly early: Buffer,
    private readonly limits: UpgradeLimits,
  ) {}

  /** Sends the request head and waits for the agent's answer. */
  start(head: RequestHead): void {
    this.socket.on('error', () => {});
    this.socket.on('close', this.onEarlyClose);
    this.sink.send(encodeHeadFrame(FrameType.Open, 0, this.stream, head));
    this.timer = setTimeout(() => this.fail(ErrorCode.UpstreamTimeout, 'the agent sent no response in time'), this.limits.responseTimeoutMs);
  }

  /** Handles a frame the agent sent on this stream. */
  onFrame(frame: Frame): void {
    if (this.finished) return;
    if (this.pipe) {
      if (frame.type === FrameType.Response) return this.sink.violation(`second response head on stream ${this.stream}`);
      return this.pipe.onFrame(frame);
    }
    switch (frame.type) {
      case FrameType.Response:
        return this.onResponse(frame);
      case FrameType.Reset: {
        const info = decodeReset(frame.payload);
        return this.fail(info.code, info.message, false);
      }
      case FrameType.Window:
        return;
      default:
        return this.sink.violation(`frame type ${frame.type} before the response head on upgrade stream ${this.stream}`);
    }
  }

  private onResponse(frame: Frame): void {
    const { head, body } = decodeResponseHead(frame.payload);
    clearTimeout(this.timer);
    const switched = head.status === 101;
    if (head.status < 200 && !switched) {
      this.sink.violation(`final response status ${head.status} is not allowed`);
      return this.fail(ErrorCode.BadAgentResponse, `the agent sent status ${head.status} as a final response`);
    }
    let text: string;
    try {
      text = responseHeadText(head, 'websocket');
    } catch (err) {
      this.sink.violation(`response head rejected: ${(err as Error).message}`);
      return this.fail(ErrorCode.BadAgentResponse, 'the agent sent a response head that is not valid HTTP');
    }
    this.socket.off('close', this.onEarlyClose);
    // Node's server sets it on its connections already; an upgraded one must keep it whatever the server options.
    this.socket.setNoDelay(true);
    this.socket.write(text, 'latin1');
    this.pipe = new StreamPipe(this.stream, this.socket, { send: (f) => this.sink.send(f), onEnd: () => this.finish() }, {
      read: switched,
      abortCode: ErrorCode.SenderAborted,
      idleTimeoutMs: switched ? this.limits.upgradeIdleTimeoutMs : 0,
      idleCode: ErrorCode.UpgradeIdle,
    });
    this.pipe.start(this.early);
    if (body.length > 0 || (frame.flags & FLAG_FIN) !== 0) this.pipe.receive(body, (frame.flags & FLAG_FIN) !== 0);
  }

  /** Ends the stream with an error: a clear answer if nothing was written yet, else both ends cut. */
  fail(code: string, message: string, tellAgent = true): void {
    if (this.finished) return;
    if (this.pipe) return this.pipe.abort(code, message, tellAgent);
    const status = statusForCode(code);
    sendSocketError(this.socket, status, STATUS_CODES[status] ?? '', code, message);
    if (tellAgent) this.sink.send(encodeReset(this.stream, { code, message }));
    this.finish();
  }

  /** The agent connection went away: answer 502 (with `message`) or cut the upgraded connection. */
  abandon(message = 'the agent disconnected before answering'): void {
    if (this.finished) return;
    this.fail(ErrorCode.AgentDisconnected, message, false);
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    this.sink.done(this.stream);
  }
}
