import { EventEmitter } from 'node:events';
import { ErrorCode, HooktunnelError, isHooktunnelError } from '../errors.js';
import { Deliveries } from '../capture/deliveries.js';
import { newExchangeId, type DeliveryLedger, type ResponseMode } from '../model/exchange.js';
import { setHeader } from '../protocol/headers.js';
import {
  FEATURE_UPGRADE,
  FLAG_FIN,
  FrameType,
  HEARTBEAT_INTERVAL_MS,
  basicAuthDigest,
  decodeFrame,
  decodeMissedHead,
  decodeRequestHead,
  encodeReset,
  type RelayControl,
  type RequestHead,
} from '../protocol/index.js';
import { deliveryIdOf } from '../webhooks/delivery.js';
import { senderUrls } from '../webhooks/url.js';
import { startVerification, verifySignature } from '../webhooks/verify.js';
import type { SignatureVerifier, VerifyOptions } from '../webhooks/types.js';
import type { AgentEventMap, RequestEvent } from './events.js';
import { AgentExchange, type ExchangeHost } from './exchange.js';
import { Forwarder } from './forward.js';
import { Link, type Welcome } from './link.js';
import { AckDispatch, AnswerDispatch, RouteSlot, answerOf, modesOf, routeHost, type Dispatch } from './routed.js';
import { Router, type AgentRoute, type FixedAnswer } from './routes.js';
import { forwardDetached } from './detached.js';
import { parseTarget, type Target } from './target.js';

export { connectUrl } from './link.js';

/** Exchange ids: 12 lower-case characters, unique enough to be the capture's primary key (see model/exchange.ts). */
export { newExchangeId };

/** Refusals that a retry cannot fix: the agent stops instead of reconnecting. */
const FINAL_CODES: ReadonlySet<string> = new Set([ErrorCode.TunnelTaken, ErrorCode.InvalidTunnelId, ErrorCode.ProtocolUnsupported, ErrorCode.Unauthorized, ErrorCode.Forbidden, ErrorCode.RateLimited]);

/** Reconnect backoff: 0.5 s doubling to a 30 s cap, each delay jittered to 50-100 % so agents do not stampede. */
export function backoffMs(attempt: number, random = Math.random): number {
  return Math.round(Math.min(30_000, 500 * 2 ** (attempt - 1)) * (0.5 + random() / 2));
}

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
  /** Ping interval; the link is dropped after 2.4 intervals without the relay confirming ownership. Default 5 s. */
  readonly heartbeatMs?: number;
  /** Also forward requests that arrived while the agent was away to the target, in arrival order. */
  readonly forwardMissed?: boolean;
  /** Token for a relay that requires one. */
  readonly token?: string;
  /** `user:pass`: senders must present this basic auth, checked by the relay. Only a digest leaves this machine. */
  readonly auth?: string;
  /** CIDR ranges senders must come from, checked by the relay. */
  readonly allowIps?: readonly string[];
  /** Extra CA certificates (PEM) to trust for a `wss://` / `https://` relay. */
  readonly ca?: string | Buffer;
  /**
   * Check webhook signatures with these secrets: every `request` (and `missed`) event then carries `signature`.
   * Checked on the bytes as received, while they pass; forwarding is never changed or held up by it.
   */
  readonly verify?: VerifyOptions;
  /**
   * The emitter to report on. Subscribe to it before calling connectAgent to see every event from the first
   * connection on, including requests the relay delivers right behind `ready` (a request held while the agent was
   * away, kept requests). Without it the handle has a new one, and what arrives with the first `ready` waits one
   * event-loop turn for the caller to subscribe.
   */
  readonly events?: EventEmitter<AgentEventMap>;
  /**
   * Routes (a config file's): each request goes to the first route whose conditions hold, with that route's
   * target and response mode; `target` is then only the tunnel's default for display. Without routes, everything
   * goes to `target`.
   */
  readonly routes?: readonly AgentRoute[];
  /** The answer when no route matches. Default 404 `no_route`. */
  readonly noMatch?: FixedAnswer;
  /** A project run's: the tunnel's name in the config file, on every exchange's `exchange-start`. */
  readonly name?: string;
  /**
   * Marks redeliveries (a provider's delivery id seen before, a replay): `request` and `missed` events then carry
   * `deliveryId`, `attempt`, `redeliveryOf`. Default: one in memory, for this agent's lifetime; the CLI passes one
   * backed by the capture store (capture/deliveries.ts).
   */
  readonly deliveries?: DeliveryLedger;
}

/** A route of a running agent and the modes it can be switched to. */
export interface RouteMode {
  readonly name: string;
  readonly mode: ResponseMode;
  /** passthrough and ack only with a target; mock and fail always. */
  readonly modes: readonly ResponseMode[];
}

const NO_ROUTE: FixedAnswer = { status: 404, headers: ['Content-Type', 'application/json'], body: Buffer.from('{"error":{"code":"no_route","message":"no route of this tunnel matches the request"}}') };

/** A connected agent. */
export interface AgentHandle {
  /** The public URL that reaches the target. */
  readonly publicUrl: string;
  readonly tunnelId: string;
  /** The secret that proves ownership of the tunnel id (pass it back as `secret` to keep the URL). */
  readonly secret: string;
  readonly target: Target;
  readonly relay: string;
  /** Typed events: `ready`, `request`, `state`, `missed`, and the fine-grained exchange events for recorders. */
  readonly events: EventEmitter<AgentEventMap>;
  /** Number of exchanges in flight. */
  inFlight(): number;
  /** The routes (a config file's) with their current modes; empty without routes. */
  routes(): RouteMode[];
  /**
   * Switches a route's response mode from the next request on (the ones in flight finish as they began) and emits
   * `mode`. Throws `invalid_argument` for an unknown route or a mode it cannot run in (passthrough or ack without `to`).
   */
  setMode(route: string, mode: ResponseMode): void;
  /** Fails what is in flight, closes the connection and the target's connection pool. Stops reconnecting. */
  close(): Promise<void>;
}

/**
 * Connects to the relay, registers a tunnel and resolves once traffic can flow. Fails fast when the first
 * connection fails; after that, reconnects by itself for as long as the handle is open.
 */
export async function connectAgent(options: AgentOptions): Promise<AgentHandle> {
  const target = typeof options.target === 'string' ? parseTarget(options.target) : options.target;
  const agent = new Agent(options, target);
  let link: Link;
  try {
    link = await agent.connect();
  } catch (err) {
    await agent.close();
    throw err;
  }
  // Subscribers on options.events are in place already; a caller that subscribes to handle.events after this
  // resolves gets one turn to do so before the frames that came with the welcome are handed over.
  if (options.events) link.release();
  else setImmediate(() => link.release());
  return agent.handle();
}

class Agent implements ExchangeHost {
  readonly events: EventEmitter<AgentEventMap>;
  readonly forwarder: Forwarder;
  readonly preserveHost: boolean;
  private readonly exchanges = new Map<number, AgentExchange>();
  /** With routes: the host of each route's exchanges, and that of requests no route matches. */
  private readonly router: Router<RouteSlot> | undefined;
  private readonly slots: RouteSlot[] = [];
  private readonly noRoute: ExchangeHost | undefined;
  private readonly dispatches: Dispatch[] = [];
  private readonly seenMissed = new Set<string>();
  readonly deliveries: DeliveryLedger;
  private missedChain: Promise<void> = Promise.resolve();
  private link: Link | undefined;
  private welcome: Welcome | undefined;
  private closing = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly options: AgentOptions,
    readonly target: Target,
  ) {
    this.events = options.events ?? new EventEmitter<AgentEventMap>();
    // Before the routes' hosts, which share it.
    this.deliveries = options.deliveries ?? new Deliveries();
    this.forwarder = new Forwarder(target, { timeoutMs: options.timeoutMs });
    this.preserveHost = options.hostHeader === 'preserve';
    if (options.routes) {
      this.slots = options.routes.map((route) => new RouteSlot(route, (r, mode) => this.hostFor(r, mode)));
      this.router = new Router(this.slots.map((slot) => ({ route: slot, when: slot.route.when })));
      this.noRoute = this.hostFor({ name: 'no route', when: {}, mode: 'fail', answer: options.noMatch ?? NO_ROUTE }, 'fail');
    }
  }

  /** The exchange host of one route in one mode, with its own pool or answer. */
  private hostFor(route: AgentRoute, mode: ResponseMode): ExchangeHost {
    const { timeoutMs } = this.options;
    let dispatch: Dispatch;
    if (mode === 'mock' || mode === 'fail') {
      dispatch = new AnswerDispatch(route.target ?? this.target, answerOf(route, mode));
    } else if (mode === 'ack') {
      // The background deliveries are exchanges of this route too, forwarded by a pool of their own.
      const delivery = new Forwarder(route.target!, { timeoutMs });
      dispatch = new AckDispatch(delivery, answerOf(route, 'ack'), route.retry ?? { attempts: 1, delaysMs: [] }, routeHost(this, route, mode, delivery), (h) => (h as AgentExchange).id);
    } else {
      dispatch = new Forwarder(route.target!, { timeoutMs });
    }
    this.dispatches.push(dispatch);
    return routeHost(this, route, mode, dispatch);
  }

  /** Where a request goes: its route's host (in the route's mode now), the no-route answer, or (without routes) this agent. */
  private hostOf(head: RequestHead, body: Buffer, complete: boolean): ExchangeHost {
    if (!this.router) return this;
    return this.router.match(head, body, complete)?.host() ?? this.noRoute!;
  }

  routes(): RouteMode[] {
    return this.slots.map((s) => ({ name: s.route.name, mode: s.mode, modes: modesOf(s.route) }));
  }

  setMode(name: string, mode: ResponseMode): void {
    const slot = this.slots.find((s) => s.route.name === name);
    if (!slot) throw new HooktunnelError(ErrorCode.InvalidArgument, `no route "${name}" in this tunnel`);
    const previous = slot.mode;
    if (!slot.setMode(mode)) throw new HooktunnelError(ErrorCode.InvalidArgument, `route ${name} cannot ${mode}: it has no "to" to forward to`);
    if (previous !== mode) this.events.emit('mode', { type: 'mode', route: name, mode, previous });
  }

  handle(): AgentHandle {
    const agent = this;
    return {
      get publicUrl() {
        return agent.welcome!.url;
      },
      get tunnelId() {
        return agent.welcome!.tunnel;
      },
      get secret() {
        return agent.welcome!.secret;
      },
      target: this.target,
      relay: this.options.relay,
      events: this.events,
      inFlight: () => this.exchanges.size,
      routes: () => this.routes(),
      setMode: (route, mode) => this.setMode(route, mode),
      close: () => this.close(),
    };
  }

  /**
   * One connection attempt: on success the tunnel is ready, `ready` and `online` have been emitted, and the link
   * holds what the relay sent after its welcome until the caller releases it.
   */
  async connect(): Promise<Link> {
    const { options } = this;
    const hello = {
      ...(this.welcome ? { tunnel: this.welcome.tunnel, secret: this.welcome.secret } : { tunnel: options.subdomain, secret: options.secret }),
      auth: options.auth ? basicAuthDigest(options.auth) : undefined,
      allow: options.allowIps?.length ? options.allowIps : undefined,
      features: [FEATURE_UPGRADE],
    };
    const { link, welcome } = await Link.dial(
      { relay: options.relay, token: options.token, ca: options.ca, heartbeatMs: options.heartbeatMs ?? HEARTBEAT_INTERVAL_MS },
      hello,
      {
        onFrame: (data) => this.onFrame(data),
        onControl: (msg) => this.onControl(msg),
        onLost: (reason, goingAway, replaced) => this.onLost(reason, goingAway, replaced),
      },
    );
    if (this.closing) {
      await link.close(1000, 'agent closing');
      throw new HooktunnelError(ErrorCode.AgentDisconnected, 'the agent was closed while connecting');
    }
    this.link = link;
    this.welcome = welcome;
    this.events.emit('ready', { type: 'ready', url: welcome.url, tunnel: welcome.tunnel, target: this.target.display, relay: this.options.relay });
    this.events.emit('state', { type: 'state', state: 'online', url: welcome.url });
    return link;
  }

  private onLost(reason: string, goingAway: boolean, replaced: boolean): void {
    this.link = undefined;
    for (const ex of [...this.exchanges.values()]) ex.cancel(ErrorCode.AgentDisconnected, reason);
    this.exchanges.clear();
    if (this.closing) return;
    if (replaced) {
      this.events.emit('state', { type: 'state', state: 'offline', reason });
      return void this.events.emit('disconnected', { reason, willRetry: false });
    }
    this.events.emit('disconnected', { reason, willRetry: true });
    void this.reconnect(reason, goingAway);
  }

  /** Retries with capped, jittered backoff until connected, refused for good, or closed. */
  private async reconnect(reason: string, goingAway: boolean): Promise<void> {
    for (let attempt = 1; !this.closing; attempt++) {
      // A relay that announced its restart is worth trying again almost at once.
      const delayMs = goingAway && attempt === 1 ? Math.round(100 + Math.random() * 400) : backoffMs(attempt);
      this.events.emit('state', { type: 'state', state: 'reconnecting', attempt, delayMs, reason });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delayMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      if (this.closing) return;
      try {
        // What the relay sends right behind `ready` (kept requests, a request held for us) is handed over only now
        // that the link is ours: acknowledged on it, and reported after `online`.
        return (await this.connect()).release();
      } catch (err) {
        if (!isHooktunnelError(err)) throw err;
        reason = err.message;
        if (FINAL_CODES.has(err.code)) {
          this.events.emit('state', { type: 'state', state: 'offline', reason });
          this.events.emit('disconnected', { reason, willRetry: false });
          return;
        }
      }
    }
  }

  private onControl(msg: RelayControl): void {
    if (msg.type !== 'missed_summary' || msg.dropped === 0) return;
    this.events.emit('dropped', { type: 'dropped', count: msg.dropped });
  }

  private onFrame(data: Buffer): void {
    try {
      const frame = decodeFrame(data);
      if (frame.type === FrameType.Open) {
        if (this.exchanges.has(frame.stream)) return this.link?.drop('the relay opened a stream twice');
        const { head, body } = decodeRequestHead(frame.payload);
        const fin = (frame.flags & FLAG_FIN) !== 0;
        const ex = new AgentExchange(newExchangeId(), frame.stream, this.hostOf(head, body, fin));
        this.exchanges.set(frame.stream, ex);
        return ex.open(head, body, fin);
      }
      if (frame.type === FrameType.Missed) return this.onMissed(frame.payload);
      this.exchanges.get(frame.stream)?.onFrame(frame);
    } catch (err) {
      if (!isHooktunnelError(err)) throw err;
      this.link?.drop(err.message);
    }
  }

  /** A request kept by the relay while we were away: record it once, acknowledge it, forward it if asked. */
  private onMissed(payload: Buffer): void {
    const { head, body } = decodeMissedHead(payload);
    if (!this.seenMissed.has(head.id)) {
      this.seenMissed.add(head.id);
      // Host as live traffic gets it: the target's, first if the sender sent none.
      const headers = this.preserveHost ? head.headers : setHeader(head.headers, 'Host', this.target.host, 'first');
      this.events.emit('missed', {
        type: 'missed', id: head.id, time: head.arrivedAt, tunnel: this.welcome?.tunnel ?? '', target: this.target.display,
        method: head.method, path: head.path, headers, body, status: head.status,
        ...this.deliveries.place(head.id, deliveryIdOf(head.headers, body), undefined),
        ...(this.options.verify ? { signature: verifySignature(head.headers, body, { ...this.options.verify, now: () => head.arrivedAt }, this.senderUrls(head)) } : {}),
      });
      if (this.options.forwardMissed) {
        const host = this.hostOf(head, body, true);
        this.missedChain = this.missedChain.then(async () => void (await forwardDetached(host, newExchangeId(), head, body, head.id)));
      }
    }
    this.link?.control({ type: 'missed_ack', ids: [head.id] });
  }

  send(frame: Buffer): void {
    this.link?.send(frame);
  }

  done(stream: number): void {
    this.exchanges.delete(stream);
  }

  started(ex: AgentExchange, method: string, path: string, headers: readonly string[]): void {
    this.startedAt(ex, method, path, headers, this.target.display);
  }

  /** An exchange has begun, towards `target` (a route's own, with routes, and the route's name and mode). */
  startedAt(ex: AgentExchange, method: string, path: string, headers: readonly string[], target: string, route?: { readonly route: string; readonly mode: ResponseMode }): void {
    if (this.events.listenerCount('exchange-start') === 0) return;
    this.events.emit('exchange-start', {
      id: ex.id, time: Date.now(), tunnel: this.welcome?.tunnel ?? '', target, method, path, headers, replayOf: ex.replayOf,
      ...(this.options.name !== undefined ? { tunnelName: this.options.name } : {}), ...route, ...(ex.ackAttempt ? { ackAttempt: ex.ackAttempt } : {}),
    });
  }

  requestBody(ex: AgentExchange, chunk: Buffer): void {
    this.events.emit('request-body', ex.id, chunk);
  }

  requestEnded(ex: AgentExchange): void {
    this.events.emit('request-end', ex.id);
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

  verifier(head: RequestHead): SignatureVerifier | undefined {
    const verify = this.options.verify;
    return verify ? startVerification(head.headers, verify, this.senderUrls(head)) : undefined;
  }

  /** The URLs the sender of `head` may have called: Twilio signs the public URL, never the local one. */
  private senderUrls(head: RequestHead): string[] {
    try {
      return this.welcome ? senderUrls(this.welcome.url, head.path, head.host || undefined) : [];
    } catch {
      return [];
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    this.wake?.();
    for (const [stream, ex] of [...this.exchanges]) {
      this.send(encodeReset(stream, { code: ErrorCode.AgentDisconnected, message: 'the agent is shutting down' }));
      ex.cancel(ErrorCode.AgentDisconnected, 'the agent is shutting down');
    }
    await this.link?.close(1000, 'agent closing');
    await this.missedChain;
    await Promise.all(this.dispatches.map((d) => d.close()));
    await this.forwarder.close();
  }
}
