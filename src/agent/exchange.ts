import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { ErrorCode, statusForCode } from '../errors.js';
import {
  FLAG_FIN,
  DataBatcher,
  FrameType,
  INLINE_BODY_BYTES,
  ReceiveWindow,
  SendWindow,
  decodeReset,
  decodeWindow,
  encodeHeadFrame,
  encodeReset,
  encodeWindow,
  stripHopByHop,
  type Frame,
  type RequestHead,
} from '../protocol/index.js';
import { headerValue, setHeader } from '../protocol/headers.js';
import type { DeliveryAttempt, DeliveryLedger, DeliveryMark } from '../model/exchange.js';
import { StreamPipe, type PipeEnd } from '../pipe.js';
import { DeliveryProbe } from '../webhooks/delivery.js';
import type { SignatureVerifier } from '../webhooks/types.js';
import type { RequestEvent } from './events.js';
import { classifyForwardError, completeDespite, type Forwarder } from './forward.js';
import type { UpgradeHandler } from './upgrade.js';
import { WebSocketMeter } from './ws-meter.js';

/** What an exchange needs from the agent around it. */
export interface ExchangeHost {
  send(frame: Buffer): void;
  done(stream: number): void;
  /** Where this exchange goes: a pool to the target, or (a route's) an answer of its own. */
  readonly forwarder: Pick<Forwarder, 'target' | 'forward'> & Partial<Pick<Forwarder, 'upgrade'>>;
  /** True to keep the sender's Host header instead of rewriting it to the target's. */
  readonly preserveHost: boolean;
  started(ex: AgentExchange, method: string, path: string, headers: readonly string[]): void;
  requestBody(ex: AgentExchange, chunk: Buffer): void;
  /** The request body has arrived whole (after its last requestBody). */
  requestEnded(ex: AgentExchange): void;
  responded(ex: AgentExchange, status: number, headers: readonly string[]): void;
  responseBody(ex: AgentExchange, chunk: Buffer): void;
  finished(ex: AgentExchange, event: RequestEvent): void;
  /**
   * A signature check for this request (webhook verification), fed the request body as it passes; its outcome
   * goes on the request event. Undefined when verification is not configured.
   */
  verifier?(head: RequestHead): SignatureVerifier | undefined;
  /** Marks redeliveries (see DeliveryLedger): its mark goes on the request event. Undefined: no marks. */
  readonly deliveries?: DeliveryLedger;
}

function latin1(raw: Buffer[]): string[] {
  const out = new Array<string>(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw[i]!.toString('latin1');
  return out;
}

/**
 * One stream on the agent: forwards the relay's request to the target with undici and streams the answer back,
 * with flow control both ways. Implements undici's dispatch handler; for an upgrade stream (WebSocket), the target's
 * 101 hands its socket to a StreamPipe, and the exchange ends, with its upgrade summary, when that connection does.
 */
export class AgentExchange implements UpgradeHandler {
  private readonly began = performance.now();
  private readonly sendWindow = new SendWindow();
  private readonly receiveWindow = new ReceiveWindow();
  private readonly out: DataBatcher;
  private body: Readable | undefined;
  private pendingRead = 0;
  private abortTarget: ((err?: Error) => void) | undefined;
  private resumeTarget: (() => void) | undefined;
  private paused = false;
  private head: { status: number; statusText: string; headers: string[] } | undefined;
  private headSent = false;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private requestBytes = 0;
  private responseBytes = 0;
  private ended = false;
  private method = '';
  private path = '';
  private check: SignatureVerifier | undefined;
  /** After a 101: the upgraded connection to the target, and its meters (in: sender to target, out: back). */
  private pipe: StreamPipe | undefined;
  private upgraded: { protocol: string; in: WebSocketMeter; out: WebSocketMeter } | undefined;
  private delivery: DeliveryProbe | undefined;
  private mark: DeliveryMark | undefined;

  constructor(
    readonly id: string,
    readonly stream: number,
    private readonly host: ExchangeHost,
    /** The exchange this one re-sends, if any (a replay or a missed request forwarded later). */
    readonly replayOf?: string,
    /** An ack route's background delivery: which one it is. */
    readonly ackAttempt?: DeliveryAttempt,
  ) {
    this.out = new DataBatcher(stream, (frame) => host.send(frame));
  }

  /** Starts forwarding the request described by an Open frame. */
  open(head: RequestHead, inline: Buffer, fin: boolean): void {
    this.method = head.method;
    this.path = head.path;
    // Created before the first body byte is counted; it sees the headers and bytes exactly as the relay sent them.
    this.check = this.host.verifier?.(head);
    if (this.host.deliveries) this.delivery = new DeliveryProbe(head.headers);
    // The target's Host in place of the sender's (first when there was none).
    const headers = this.host.preserveHost ? [...head.headers] : setHeader(head.headers, 'Host', this.host.forwarder.target.host, 'first');
    this.host.started(this, head.method, head.path, headers);
    const { forwarder } = this.host;
    if (head.upgrade !== undefined && forwarder.upgrade) {
      // No request body before the switch: what the sender sends after the 101 is the upgraded connection's.
      this.requestEnded();
      return forwarder.upgrade({ method: head.method, path: head.path, headers, body: null, protocol: head.upgrade }, this);
    }
    let body: Buffer | Readable | null = null;
    if (fin) {
      if (inline.length > 0) body = inline;
    } else {
      this.body = new Readable({ read: () => this.onBodyRead() });
      body = this.body;
    }
    if (inline.length > 0) this.countRequest(inline);
    if (fin) this.requestEnded();
    if (!fin && inline.length > 0) this.body!.push(inline);
    this.host.forwarder.forward({ method: head.method, path: head.path, headers, body }, this);
  }

  /** Handles a frame the relay sent on this stream. */
  onFrame(frame: Frame): void {
    if (this.ended) return;
    if (this.pipe) return this.pipe.onFrame(frame);
    switch (frame.type) {
      case FrameType.Data:
        return this.onRequestData(frame.payload, (frame.flags & FLAG_FIN) !== 0);
      case FrameType.Window:
        this.sendWindow.grant(decodeWindow(frame.payload));
        if (this.paused && !this.sendWindow.blocked) {
          this.paused = false;
          this.resumeTarget?.();
        }
        return;
      case FrameType.Reset: {
        const info = decodeReset(frame.payload);
        return this.cancel(info.code, info.message);
      }
      default:
        return;
    }
  }

  private countRequest(chunk: Buffer): void {
    this.requestBytes += chunk.length;
    this.check?.update(chunk);
    this.delivery?.update(chunk);
    this.host.requestBody(this, chunk);
  }

  private onRequestData(chunk: Buffer, fin: boolean): void {
    if (!this.body) return;
    if (chunk.length > 0) {
      this.receiveWindow.receive(chunk.length);
      this.countRequest(chunk);
      if (this.body.push(chunk)) {
        const credit = this.receiveWindow.consume(chunk.length);
        if (credit > 0 && !fin) this.host.send(encodeWindow(this.stream, credit));
      } else {
        this.pendingRead += chunk.length;
      }
    }
    if (fin) {
      this.requestEnded();
      this.body.push(null);
    }
  }

  private requestEnded(): void {
    this.check?.end();
    this.placeDelivery();
    this.host.requestEnded(this);
  }

  /**
   * Asks the ledger which delivery this is, once: when the request has arrived (so attempts count in arrival
   * order), or at the end for a request cut short.
   */
  private placeDelivery(): void {
    const probe = this.delivery;
    if (!probe) return;
    this.delivery = undefined;
    this.mark = this.host.deliveries!.place(this.id, probe.result(), this.replayOf);
  }

  private onBodyRead(): void {
    if (this.pendingRead === 0 || this.ended) return;
    const credit = this.receiveWindow.consume(this.pendingRead, true);
    this.pendingRead = 0;
    if (credit > 0) this.host.send(encodeWindow(this.stream, credit));
  }

  /** The relay or the sender gave up (or the connection to the relay is gone): stop talking to the target. */
  cancel(code: string, reason: string): void {
    if (this.ended) return;
    if (this.pipe) return this.pipe.abort(code, reason, false);
    this.out.discard();
    // What the sender got: the response already begun, else the relay's answer for this code (502 when the
    // connection dropped, 504 when the relay gave up waiting), or nothing at all when the sender itself went away.
    const status = this.headSent ? this.head!.status : code === ErrorCode.SenderAborted ? 0 : statusForCode(code);
    this.finish(status, code, reason);
    this.abortTarget?.(new Error(reason));
    this.body?.destroy();
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.ended) return abort(new Error('cancelled'));
    this.abortTarget = abort;
  }

  onHeaders(status: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (status < 200) return true;
    this.head = { status, statusText, headers: stripHopByHop(latin1(rawHeaders)) };
    this.host.responded(this, status, this.head.headers);
    this.resumeTarget = resume;
    // Hold the head for one turn so that a body arriving with it goes out in the same frame.
    setImmediate(() => this.flushHead(false));
    return true;
  }

  onUpgrade(statusText: string, rawHeaders: string[], socket: Socket, head: Buffer): void {
    if (this.ended) return void socket.destroy();
    const protocol = headerValue(rawHeaders, 'upgrade') ?? 'unknown';
    const headers = stripHopByHop(rawHeaders);
    this.head = { status: 101, statusText, headers };
    this.headSent = true;
    this.host.responded(this, 101, headers);
    this.host.send(encodeHeadFrame(FrameType.Response, 0, this.stream, { status: 101, statusText, headers, upgrade: protocol }));
    // Each direction's end is passed on as it happens (a half-close), not answered by Node closing ours.
    socket.allowHalfOpen = true;
    // Small messages (a chat line, a ping) leave at once, not after Nagle's delay waiting for an ACK.
    socket.setNoDelay(true);
    const websocket = protocol.toLowerCase() === 'websocket';
    const meters = { protocol, in: new WebSocketMeter(websocket), out: new WebSocketMeter(websocket) };
    this.upgraded = meters;
    this.pipe = new StreamPipe(this.stream, socket, {
      send: (frame) => this.host.send(frame),
      onRead: (chunk) => meters.out.feed(chunk),
      onWrite: (chunk) => meters.in.feed(chunk),
      onEnd: (end) => this.onPipeEnd(end),
    }, { read: true, abortCode: ErrorCode.UpstreamAborted });
    this.pipe.start(head);
  }

  private onPipeEnd(end: PipeEnd): void {
    this.finish(101, end.code, end.code ? `${this.method} ${this.path} -> ${this.host.forwarder.target.display}: ${end.message}` : undefined);
  }

  onData(chunk: Buffer): boolean {
    if (this.ended) return false;
    this.responseBytes += chunk.length;
    this.host.responseBody(this, chunk);
    if (!this.headSent && this.heldBytes + chunk.length <= INLINE_BODY_BYTES) {
      this.held.push(chunk);
      this.heldBytes += chunk.length;
      return true;
    }
    this.flushHead(false);
    this.out.push(chunk);
    this.sendWindow.spend(chunk.length);
    if (this.sendWindow.blocked) this.paused = true;
    return !this.paused;
  }

  onComplete(): void {
    if (this.ended) return;
    if (!this.headSent) this.flushHead(true);
    else this.out.flush(true);
    this.finish(this.head!.status);
  }

  onError(err: Error): void {
    if (this.ended) return;
    if (completeDespite(err, this.head?.status, this.responseBytes)) return this.onComplete();
    this.out.discard();
    const { code, reason } = classifyForwardError(err, this.head !== undefined);
    const message = `${this.method} ${this.path} -> ${this.host.forwarder.target.display} failed: ${reason}`;
    this.host.send(encodeReset(this.stream, { code, message }));
    this.finish(this.head ? this.head.status : statusForCode(code), code, message);
    this.body?.destroy();
  }

  private flushHead(fin: boolean): void {
    if (this.headSent || this.ended || !this.head) return;
    this.headSent = true;
    const { status, statusText, headers } = this.head;
    this.host.send(encodeHeadFrame(FrameType.Response, fin ? FLAG_FIN : 0, this.stream, { status, statusText, headers }, this.held));
    this.sendWindow.spend(this.heldBytes);
    this.held = [];
  }

  private upgradeSummary(u: NonNullable<AgentExchange['upgraded']>): NonNullable<RequestEvent['upgrade']> {
    return { protocol: u.protocol, messagesIn: u.in.messages, messagesOut: u.out.messages, bytesIn: u.in.bytes, bytesOut: u.out.bytes };
  }

  private finish(status: number, error?: string, message?: string): void {
    this.ended = true;
    this.placeDelivery();
    this.host.done(this.stream);
    const event: RequestEvent = {
      type: 'request',
      id: this.id,
      method: this.method,
      path: this.path,
      status,
      durationMs: Math.round((performance.now() - this.began) * 100) / 100,
      requestBytes: this.requestBytes,
      responseBytes: this.responseBytes,
      ...(error ? { error, message } : {}),
      ...(this.replayOf ? { replayOf: this.replayOf } : {}),
      ...(this.ackAttempt ? { ackAttempt: this.ackAttempt } : {}),
      ...(this.check ? { signature: this.check.result() } : {}),
      ...(this.upgraded ? { upgrade: this.upgradeSummary(this.upgraded) } : {}),
      ...this.mark,
    };
    this.host.finished(this, event);
  }
}
