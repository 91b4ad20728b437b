import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { isHooktunnelError } from '../errors.js';
import {
  FLAG_FIN,
  FrameType,
  decodeAgentControl,
  decodeFrame,
  encodeControl,
  encodeHeadFrame,
  type AgentControl,
  type Frame,
  type RelayControl,
  type RequestHead,
} from '../protocol/index.js';
import { batchedSender } from '../transport.js';
import { RelayExchange, type StreamSink } from './exchange.js';
import type { RelayLimits } from './limits.js';
import { RelayUpgrade } from './upgrade.js';
import type { KeptRequest } from './store/types.js';

/** WebSocket close code for a peer that broke the protocol (private range 4000-4999). */
export const CLOSE_PROTOCOL_ERROR = 4002;

/** Control messages (pings, acks) an agent may send per heartbeat interval; an agent pings once per interval. */
const CONTROL_BUDGET = 1000;
/**
 * Frames for already finished streams an agent may send per heartbeat interval. A few are normal (a window update
 * racing a reset); thousands are a flood.
 */
const LATE_FRAME_BUDGET = 1000;

/** Counters a session reports into the relay's totals. */
export interface SessionCounters {
  violations: number;
}

/** What a session needs from the relay around it. */
export interface SessionHooks {
  readonly counters: SessionCounters;
  readonly responseTimeoutMs: number;
  readonly limits: Pick<RelayLimits, 'maxBodyBytes' | 'bodyIdleTimeoutMs' | 'upgradeIdleTimeoutMs'>;
  /** The connection is gone (every exchange has been answered or aborted). */
  onClose(session: AgentSession): void;
  /** A control message from the agent after the handshake (ping, missed_ack). */
  onControl(session: AgentSession, msg: AgentControl): void;
}

/** A stream in flight on a session: a request exchange or an upgrade. */
interface SessionStream {
  onFrame(frame: Frame): void;
  abandon(message?: string): void;
}

/**
 * One agent's connection on the relay: allocates stream ids, routes the agent's frames to their exchanges and
 * keeps the connection alive (ping) or terminates it. Knows nothing about routing or registration.
 */
export class AgentSession implements StreamSink {
  /** The tunnel id, set once the registry has accepted the hello. */
  tunnel = '';
  /** The token (digest) or address this tunnel counts against, set with the tunnel id. */
  owner = '';
  /** The agent said in its hello that it relays upgrade streams (FEATURE_UPGRADE). */
  upgrades = false;
  private readonly exchanges = new Map<number, SessionStream>();
  private nextStream = 1;
  private alive = true;
  /** What the agent may still send before the next heartbeat without being treated as a flood. */
  private budget = { control: CONTROL_BUDGET, late: LATE_FRAME_BUDGET };
  private closed = false;
  private readonly sendFrame: (frame: Buffer | string) => void;

  constructor(
    private readonly ws: WebSocket,
    private readonly hooks: SessionHooks,
  ) {
    this.sendFrame = batchedSender(ws);
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    ws.on('pong', () => (this.alive = true));
    ws.on('close', () => this.shutdown());
    // ws reports oversized and malformed WebSocket frames as errors and closes the connection itself.
    ws.on('error', () => {
      if (!this.closed) this.hooks.counters.violations++;
      this.shutdown();
    });
  }

  /** True once the connection is closed (or closing). */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Number of exchanges in flight. */
  get inFlight(): number {
    return this.exchanges.size;
  }

  /** Relays one sender request over a new stream; `buffered` is its body when already read. */
  relay(req: IncomingMessage, res: ServerResponse, head: RequestHead, buffered?: Buffer): void {
    const stream = this.nextStream++;
    const exchange = new RelayExchange(stream, this, req, res, { responseTimeoutMs: this.hooks.responseTimeoutMs, ...this.hooks.limits });
    this.exchanges.set(stream, exchange);
    exchange.start(head, buffered);
  }

  /** Relays one upgrade request (WebSocket) over a new stream; `early` is what the sender sent behind its head. */
  relayUpgrade(socket: Socket, early: Buffer, head: RequestHead): void {
    const stream = this.nextStream++;
    const { upgradeIdleTimeoutMs } = this.hooks.limits;
    const upgrade = new RelayUpgrade(stream, this, socket, early, { responseTimeoutMs: this.hooks.responseTimeoutMs, upgradeIdleTimeoutMs });
    this.exchanges.set(stream, upgrade);
    upgrade.start(head);
  }

  /** Hands the agent the requests kept while it was away (it acknowledges each with missed_ack). */
  deliverMissed(items: readonly KeptRequest[], dropped: number): void {
    if (items.length === 0 && dropped === 0) return;
    this.control({ type: 'missed_summary', count: items.length, dropped });
    items.forEach((item, i) => this.send(encodeHeadFrame(FrameType.Missed, FLAG_FIN, i + 1, item.head, [item.body])));
  }

  /** Sends a control message. */
  control(msg: RelayControl): void {
    if (!this.closed) this.sendFrame(encodeControl(msg));
  }

  send(frame: Buffer): void {
    if (!this.closed) this.sendFrame(frame);
  }

  done(stream: number): void {
    this.exchanges.delete(stream);
  }

  /** Counts the agent's connection as a violator (once: what it sends while closing is ignored) and closes it. */
  violation(message: string): void {
    if (this.closed) return;
    this.hooks.counters.violations++;
    this.ws.close(CLOSE_PROTOCOL_ERROR, message.slice(0, 120));
    this.shutdown();
  }

  /** Heartbeat tick: terminates a connection that did not answer the previous ping. */
  heartbeat(): void {
    if (this.closed) return;
    this.budget = { control: CONTROL_BUDGET, late: LATE_FRAME_BUDGET };
    if (!this.alive) {
      this.ws.terminate();
      return this.shutdown();
    }
    this.alive = false;
    this.ws.ping();
  }

  /** Closes the connection with a code and reason, failing what is in flight (`unanswered` is what its senders read). */
  close(code: number, reason: string, unanswered?: string): void {
    if (this.closed) return;
    this.ws.close(code, reason);
    this.shutdown(unanswered);
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    // A connection being closed (a violator, a replaced one) may still deliver what was in flight: ignore it.
    if (this.closed) return;
    this.alive = true;
    try {
      if (!isBinary) {
        if (--this.budget.control < 0) return this.violation('too many control messages');
        return this.hooks.onControl(this, decodeAgentControl(data.toString('utf8')));
      }
      const frame = decodeFrame(data);
      const exchange = this.exchanges.get(frame.stream);
      if (exchange) return exchange.onFrame(frame);
      // Frames for a stream that has just finished are normal races; a stream never opened is an attack or a bug.
      if (frame.stream >= this.nextStream) return this.violation(`frame for stream ${frame.stream}, which was never opened`);
      if (--this.budget.late < 0) this.violation('too many frames for finished streams');
    } catch (err) {
      if (isHooktunnelError(err)) return this.violation(err.message);
      throw err;
    }
  }

  private shutdown(unanswered?: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const exchange of [...this.exchanges.values()]) exchange.abandon(unanswered);
    this.exchanges.clear();
    this.hooks.onClose(this);
  }
}
