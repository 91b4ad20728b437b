import { EventEmitter } from 'node:events';
import { customAlphabet } from 'nanoid';
import WebSocket from 'ws';
import { ErrorCode, HooktunnelError, isHooktunnelError } from '../errors.js';
import {
  AGENT_SILENCE_TIMEOUT_MS,
  CONNECT_PATH,
  FLAG_FIN,
  FrameType,
  HANDSHAKE_TIMEOUT_MS,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  VERSION_HEADER,
  decodeFrame,
  decodeRelayControl,
  decodeRequestHead,
  encodeControl,
  encodeReset,
} from '../protocol/index.js';
import { batchedSender } from '../transport.js';
import type { AgentEventMap, RequestEvent } from './events.js';
import { AgentExchange, type ExchangeHost } from './exchange.js';
import { Forwarder } from './forward.js';
import { parseTarget, type Target } from './target.js';

/** Exchange ids: 12 lower-case characters, unique enough to be the capture's primary key. */
export const newExchangeId = customAlphabet('0123456789abcdefghijklmnopqrstuvwxyz', 12);

/** Options of connectAgent. */
export interface AgentOptions {
  /** Relay base URL: `http(s)://…` or `ws(s)://…`. */
  readonly relay: string;
  /** Where to forward: `3000`, `host:port`, a URL, or a parsed Target. */
  readonly target: string | Target;
  /** Ask for this tunnel id instead of a random one. */
  readonly subdomain?: string;
  /** Proves ownership of `subdomain` (kept by the agent between runs). */
  readonly secret?: string;
  /** `rewrite` (default) sets Host to the target's; `preserve` keeps the public Host. */
  readonly hostHeader?: 'rewrite' | 'preserve';
  /** How long the target may take to start answering. Default 30 s. */
  readonly timeoutMs?: number;
}

/** A connected agent. */
export interface AgentHandle {
  /** The public URL that reaches the target. */
  readonly publicUrl: string;
  readonly tunnelId: string;
  /** The secret that proves ownership of the tunnel id (pass it back as `secret` to keep the URL). */
  readonly secret: string;
  readonly target: Target;
  readonly relay: string;
  /** Typed events: `ready`, `request`, and the fine-grained exchange events for recorders. */
  readonly events: EventEmitter<AgentEventMap>;
  /** Number of exchanges in flight. */
  inFlight(): number;
  /** Fails what is in flight, closes the connection and the target's connection pool. */
  close(): Promise<void>;
}

/** Turns `http://relay:8080` into the WebSocket URL of its connect endpoint. */
export function connectUrl(relay: string): string {
  let url: URL;
  try {
    url = new URL(relay);
  } catch {
    throw new HooktunnelError(ErrorCode.InvalidArgument, `invalid relay URL "${relay}"`);
  }
  const scheme = { 'http:': 'ws:', 'https:': 'wss:', 'ws:': 'ws:', 'wss:': 'wss:' }[url.protocol];
  if (!scheme) throw new HooktunnelError(ErrorCode.InvalidArgument, `relay URL "${relay}" must be http(s):// or ws(s)://`);
  const base = url.pathname.replace(/\/+$/, '');
  return `${scheme}//${url.host}${base}${CONNECT_PATH}`;
}

/** Connects to the relay, registers a tunnel and resolves once traffic can flow. */
export async function connectAgent(options: AgentOptions): Promise<AgentHandle> {
  const target = typeof options.target === 'string' ? parseTarget(options.target) : options.target;
  const agent = new Agent(options, target);
  try {
    await agent.connect();
  } catch (err) {
    await agent.close();
    throw err;
  }
  return agent.handle();
}

class Agent implements ExchangeHost {
  readonly events = new EventEmitter<AgentEventMap>();
  readonly forwarder: Forwarder;
  readonly preserveHost: boolean;
  private readonly exchanges = new Map<number, AgentExchange>();
  private ws: WebSocket | undefined;
  private sendFrame: (frame: Buffer | string) => void = () => {};
  private silence: NodeJS.Timeout | undefined;
  private ready: { url: string; tunnel: string; secret: string } | undefined;

  constructor(
    private readonly options: AgentOptions,
    readonly target: Target,
  ) {
    this.forwarder = new Forwarder(target, { timeoutMs: options.timeoutMs });
    this.preserveHost = options.hostHeader === 'preserve';
  }

  handle(): AgentHandle {
    const ready = this.ready!;
    return {
      publicUrl: ready.url,
      tunnelId: ready.tunnel,
      secret: ready.secret,
      target: this.target,
      relay: this.options.relay,
      events: this.events,
      inFlight: () => this.exchanges.size,
      close: () => this.close(),
    };
  }

  /** Dials the relay and completes the hello/ready handshake. */
  connect(): Promise<void> {
    const url = connectUrl(this.options.relay);
    return new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(url, {
        headers: { [VERSION_HEADER]: String(PROTOCOL_VERSION) },
        perMessageDeflate: false,
        maxPayload: MAX_FRAME_BYTES,
        handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
        // An all-zero mask lets ws skip masking (and the relay skip unmasking) every body byte. Masking protects
        // intermediaries from payloads chosen by a hostile browser script; our agent->relay payloads are the
        // developer's own target's responses, not a script's, so the protection buys nothing here.
        generateMask: (mask: Buffer) => void mask.fill(0),
      });
      this.ws = ws;
      let settled = false;
      const fail = (err: HooktunnelError): void => {
        if (settled) return;
        settled = true;
        ws.terminate();
        reject(err);
      };
      ws.on('unexpected-response', (_req, res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => fail(refusalFromBody(res.statusCode ?? 0, Buffer.concat(parts).toString('utf8'))));
        res.on('error', () => fail(new HooktunnelError(ErrorCode.RelayUnreachable, `relay answered ${res.statusCode} to the connect request`)));
      });
      ws.on('error', (err) => fail(new HooktunnelError(ErrorCode.RelayUnreachable, `cannot reach relay ${this.options.relay}: ${describe(err)}`, { cause: err })));
      ws.on('close', () => {
        fail(new HooktunnelError(ErrorCode.RelayUnreachable, `relay ${this.options.relay} closed the connection during the handshake`));
        this.onClosed();
      });
      ws.on('open', () => {
        this.sendFrame = batchedSender(ws);
        ws.send(encodeControl({ type: 'hello', tunnel: this.options.subdomain, secret: this.options.secret }));
      });
      ws.on('ping', () => this.heard());
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        this.heard();
        if (isBinary) return this.onFrame(data);
        try {
          const msg = decodeRelayControl(data.toString('utf8'));
          if (msg.type === 'ready') {
            this.ready = { url: msg.url, tunnel: msg.tunnel, secret: msg.secret };
            settled = true;
            this.events.emit('ready', { type: 'ready', url: msg.url, tunnel: msg.tunnel, target: this.target.display, relay: this.options.relay });
            resolve();
          } else if (msg.type === 'refused') {
            fail(new HooktunnelError(msg.code as ErrorCode, `relay refused the tunnel: ${msg.message}`));
          }
        } catch (err) {
          if (!isHooktunnelError(err)) throw err;
          fail(err);
        }
      });
    });
  }

  /** Any traffic from the relay proves it is alive; silence for too long means a dead connection. */
  private heard(): void {
    clearTimeout(this.silence);
    this.silence = setTimeout(() => this.ws?.terminate(), AGENT_SILENCE_TIMEOUT_MS);
    this.silence.unref();
  }

  private onFrame(data: Buffer): void {
    try {
      const frame = decodeFrame(data);
      if (frame.type === FrameType.Open) {
        if (this.exchanges.has(frame.stream)) return this.ws?.close(4002, 'stream opened twice');
        const { head, body } = decodeRequestHead(frame.payload);
        const ex = new AgentExchange(newExchangeId(), frame.stream, this);
        this.exchanges.set(frame.stream, ex);
        return ex.open(head, body, (frame.flags & FLAG_FIN) !== 0);
      }
      this.exchanges.get(frame.stream)?.onFrame(frame);
    } catch (err) {
      if (!isHooktunnelError(err)) throw err;
      this.ws?.close(4002, err.message.slice(0, 120));
    }
  }

  private onClosed(): void {
    clearTimeout(this.silence);
    for (const ex of [...this.exchanges.values()]) ex.cancel(ErrorCode.AgentDisconnected, 'the connection to the relay closed');
    this.exchanges.clear();
    if (this.ready) this.events.emit('disconnected', { reason: 'the connection to the relay closed', willRetry: false });
  }

  send(frame: Buffer): void {
    this.sendFrame(frame);
  }

  done(stream: number): void {
    this.exchanges.delete(stream);
  }

  started(ex: AgentExchange, method: string, path: string, headers: readonly string[]): void {
    if (this.events.listenerCount('exchange-start') === 0) return;
    this.events.emit('exchange-start', { id: ex.id, time: Date.now(), tunnel: this.ready?.tunnel ?? '', target: this.target.display, method, path, headers });
  }

  requestBody(ex: AgentExchange, chunk: Buffer): void {
    this.events.emit('request-body', ex.id, chunk);
  }

  responded(ex: AgentExchange, status: number, headers: readonly string[]): void {
    this.events.emit('exchange-response', { id: ex.id, status, headers });
  }

  responseBody(ex: AgentExchange, chunk: Buffer): void {
    this.events.emit('response-body', ex.id, chunk);
  }

  finished(_ex: AgentExchange, event: RequestEvent): void {
    this.events.emit('request', event);
  }

  async close(): Promise<void> {
    clearTimeout(this.silence);
    const ws = this.ws;
    for (const [stream, ex] of [...this.exchanges]) {
      this.send(encodeReset(stream, { code: ErrorCode.AgentDisconnected, message: 'the agent is shutting down' }));
      ex.cancel(ErrorCode.AgentDisconnected, 'the agent is shutting down');
    }
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        ws.close(1000, 'agent closing');
        setTimeout(() => ws.terminate(), 1000).unref();
      });
    }
    await this.forwarder.close();
  }
}

function describe(err: Error): string {
  const code = (err as { code?: string }).code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND') return 'host not found';
  return err.message || code || 'unknown error';
}

/** Reads the relay's JSON error body from a refused upgrade. */
function refusalFromBody(status: number, text: string): HooktunnelError {
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (body.error?.code && body.error.message) return new HooktunnelError(body.error.code as ErrorCode, `relay refused the connection: ${body.error.message}`);
  } catch {
    // not one of ours: fall through
  }
  return new HooktunnelError(ErrorCode.RelayUnreachable, `relay answered HTTP ${status} instead of accepting the connection: is this a hooktunnel relay?`);
}
