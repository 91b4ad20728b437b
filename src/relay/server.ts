import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { ErrorCode, isHooktunnelError } from '../errors.js';
import {
  CONNECT_PATH,
  HEARTBEAT_INTERVAL_MS,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  VERSION_HEADER,
  stripHopByHop,
  type AgentControl,
  type RequestHead,
} from '../protocol/index.js';
import { advertisedUrl, awaitHello, refuse } from './handshake.js';
import { DEFAULT_OFFLINE_LIMITS, OfflineQueues, keptRequest, readBounded, sendOffline, type OfflineLimits } from './offline.js';
import { TunnelRegistry } from './registry.js';
import { sendError, sendSocketError } from './respond.js';
import { route, type Route } from './routing.js';
import { AgentSession, CLOSE_REPLACED, type SessionHooks } from './session.js';

/** Options of createRelay. Every field has a default. */
export interface RelayOptions {
  /** Port to listen on; 0 picks a free one. Default 8080. */
  readonly port?: number;
  /** Address to listen on. Default `0.0.0.0`. */
  readonly host?: string;
  /** Enables subdomain routing: `Host: <id>.<domain>` reaches tunnel `<id>`. */
  readonly domain?: string;
  /** Base URL to advertise (a relay behind a TLS proxy). Default: from the Host header the agent dialled. */
  readonly publicUrl?: string;
  /** How long the relay waits for an agent's response head once the request is complete. Default 120 s. */
  readonly responseTimeoutMs?: number;
  /** Ping interval; a connection that misses one whole interval is terminated. Default 5 s. */
  readonly heartbeatMs?: number;
  /** How long a disconnected tunnel's id stays reserved for its owner. Default 24 h. */
  readonly reservationMs?: number;
  /** How long close() lets in-flight requests finish. Default 5 s. */
  readonly shutdownGraceMs?: number;
  /** Requests for a tunnel whose agent is away: how long to wait, how many to keep and for how long. */
  readonly offline?: Partial<OfflineLimits>;
}

/** Counters the relay exposes at `/_hooktunnel/metrics`. */
export interface RelayStats {
  readonly tunnels: number;
  readonly inFlight: number;
  readonly requests: number;
  readonly violations: number;
  /** Requests kept for agents that are away. */
  readonly kept: number;
  /** Kept requests dropped by the offline limits since start. */
  readonly dropped: number;
}

/** A running relay. */
export interface RelayHandle {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  stats(): RelayStats;
  /** Stops accepting, tells agents it is going away, lets in-flight requests finish (bounded), then closes. */
  close(): Promise<void>;
}

const DEFAULTS = { port: 8080, host: '0.0.0.0', responseTimeoutMs: 120_000, reservationMs: 24 * 3600_000, shutdownGraceMs: 5_000 };

/** Starts a relay; resolves once it is listening. */
export async function createRelay(options: RelayOptions = {}): Promise<RelayHandle> {
  const relay = new Relay({ ...DEFAULTS, ...options, domain: options.domain?.toLowerCase().replace(/\.$/, '') });
  return relay.listen();
}

type ResolvedOptions = typeof DEFAULTS & RelayOptions;


class Relay {
  private readonly server: Server;
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false });
  private readonly registry: TunnelRegistry<AgentSession>;
  private readonly counters = { violations: 0, requests: 0 };
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly offlineLimits: OfflineLimits;
  private readonly queues: OfflineQueues;
  private readonly hooks: SessionHooks;

  constructor(private readonly options: ResolvedOptions) {
    this.registry = new TunnelRegistry(options.reservationMs);
    this.offlineLimits = { ...DEFAULT_OFFLINE_LIMITS, ...options.offline };
    this.queues = new OfflineQueues(this.offlineLimits);
    this.hooks = {
      counters: this.counters,
      responseTimeoutMs: options.responseTimeoutMs,
      onClose: (session) => this.registry.release(session.tunnel, session),
      onControl: (session, msg) => this.onControl(session, msg),
    };
    this.server = createServer({ keepAlive: true });
    this.server.on('request', (req, res) => this.onRequest(req, res));
    this.server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    this.server.on('connect', (_req, socket: Duplex) =>
      sendSocketError(socket, 400, 'Bad Request', ErrorCode.BadRequest, 'CONNECT is not served: this relay is not a proxy'),
    );
  }

  async listen(): Promise<RelayHandle> {
    const { server, options } = this;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.heartbeat = setInterval(() => {
      for (const s of this.registry.sessions()) s.heartbeat();
      for (const id of this.registry.sweep()) this.queues.forget(id);
    }, options.heartbeatMs ?? HEARTBEAT_INTERVAL_MS);
    this.heartbeat.unref();
    const { port } = server.address() as AddressInfo;
    const shownHost = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
    const hostPart = shownHost.includes(':') ? `[${shownHost}]` : shownHost;
    return {
      url: `http://${hostPart}:${port}`,
      port,
      host: options.host,
      stats: () => this.stats(),
      close: () => this.close(),
    };
  }

  private stats(): RelayStats {
    let inFlight = 0;
    for (const s of this.registry.sessions()) inFlight += s.inFlight;
    const { requests, violations } = this.counters;
    return { tunnels: this.registry.size, inFlight, requests, violations, kept: this.queues.size, dropped: this.queues.droppedTotal };
  }

  private routeOf(req: IncomingMessage): Route {
    let hosts = 0;
    for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() === 'host') hosts++;
    if (hosts > 1) return { kind: 'bad', message: 'more than one Host header' };
    return route(req.url ?? '', req.headers.host, this.options.domain);
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const r = this.routeOf(req);
    switch (r.kind) {
      case 'bad':
        return sendError(res, ErrorCode.BadRequest, r.message);
      case 'relay':
        return this.serveOwn(r.path, res);
      case 'home':
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        return void res.end('hooktunnel relay: tunnels are served under /t/<id>\n');
      case 'none':
        return sendError(res, ErrorCode.TunnelNotFound, 'no tunnel here: tunnel URLs look like /t/<id>/…');
      case 'tunnel': {
        const session = this.registry.get(r.tunnel);
        this.counters.requests++;
        if (session) return session.relay(req, res, this.requestHead(req, r.path));
        if (this.registry.isReserved(r.tunnel)) return void this.whileAway(req, res, r.tunnel, this.requestHead(req, r.path));
        return sendError(res, ErrorCode.TunnelNotFound, `tunnel "${r.tunnel}" is not connected`);
      }
    }
  }

  /**
   * A request for a tunnel whose agent is away: wait a little for it to come back and relay normally, else answer
   * 503 and keep the request for the agent.
   */
  private async whileAway(req: IncomingMessage, res: ServerResponse, tunnel: string, head: RequestHead): Promise<void> {
    const arrivedAt = Date.now();
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    const body = await readBounded(req, this.offlineLimits.maxBytes);
    const session = body && (await this.registry.whenOnline(tunnel, this.offlineLimits.waitMs - (Date.now() - arrivedAt), gone.signal));
    if (session && body && !res.destroyed) return session.relay(req, res, head, body);
    if (body) this.queues.keep(tunnel, keptRequest(head, body, arrivedAt));
    else this.queues.refuse(tunnel);
    sendOffline(res, tunnel, body !== undefined);
  }

  private onControl(session: AgentSession, msg: AgentControl): void {
    switch (msg.type) {
      case 'ping':
        return session.control({ type: 'pong', owned: this.registry.get(session.tunnel) === session });
      case 'missed_ack':
        return this.queues.ack(session.tunnel, msg.ids);
      case 'hello':
        return session.violation('hello after the handshake');
    }
  }

  private requestHead(req: IncomingMessage, path: string): RequestHead {
    const headers = stripHopByHop(req.rawHeaders);
    const remote = req.socket.remoteAddress ?? '';
    const host = req.headers.host ?? '';
    let forwardedFor: string | undefined;
    const kept: string[] = [];
    for (let i = 0; i < headers.length; i += 2) {
      const lower = headers[i]!.toLowerCase();
      // The sender's own X-Forwarded-Host/Proto are not trusted; X-Forwarded-For is a list we append to.
      if (lower === 'x-forwarded-host' || lower === 'x-forwarded-proto') continue;
      if (lower === 'x-forwarded-for') {
        forwardedFor = forwardedFor === undefined ? headers[i + 1] : `${forwardedFor}, ${headers[i + 1]}`;
        continue;
      }
      kept.push(headers[i]!, headers[i + 1]!);
    }
    const proto = this.options.publicUrl?.startsWith('https:') ? 'https' : 'http';
    kept.push('X-Forwarded-Host', host, 'X-Forwarded-Proto', proto, 'X-Forwarded-For', forwardedFor ? `${forwardedFor}, ${remote}` : remote);
    return { method: req.method ?? 'GET', path, headers: kept, remote, host };
  }

  private serveOwn(path: string, res: ServerResponse): void {
    const bare = path.split('?')[0];
    if (bare === '/_hooktunnel/health') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(`${JSON.stringify({ ok: true, protocol: PROTOCOL_VERSION })}\n`);
    }
    if (bare === '/_hooktunnel/metrics') {
      const mem = process.memoryUsage();
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(`${JSON.stringify({ ...this.stats(), rssBytes: mem.rss, heapUsedBytes: mem.heapUsed })}\n`);
    }
    sendError(res, ErrorCode.TunnelNotFound, `no relay endpoint at ${bare}`);
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const r = this.routeOf(req);
    if (r.kind === 'tunnel') {
      return sendSocketError(socket, 501, 'Not Implemented', ErrorCode.UpgradeNotSupported, 'WebSocket and other upgrades are not relayed through tunnels yet');
    }
    if (r.kind !== 'relay' || r.path.split('?')[0] !== CONNECT_PATH) {
      return sendSocketError(socket, 404, 'Not Found', ErrorCode.TunnelNotFound, 'no WebSocket endpoint here');
    }
    const version = req.headers[VERSION_HEADER];
    if (version !== String(PROTOCOL_VERSION)) {
      const message = `this relay speaks hooktunnel protocol ${PROTOCOL_VERSION}, the agent speaks ${version ?? 'none'}: upgrade the older side`;
      return sendSocketError(socket, 426, 'Upgrade Required', ErrorCode.ProtocolUnsupported, message);
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => void this.onAgent(ws, req));
  }

  private async onAgent(ws: WebSocket, req: IncomingMessage): Promise<void> {
    ws.on('error', () => ws.terminate());
    let hello;
    try {
      hello = await awaitHello(ws);
    } catch {
      return;
    }
    const session = new AgentSession(ws, this.hooks);
    let claimed;
    try {
      claimed = this.registry.claim(session, hello.tunnel, hello.secret);
    } catch (err) {
      if (!isHooktunnelError(err)) throw err;
      return refuse(ws, err.code, err.message);
    }
    session.tunnel = claimed.id;
    claimed.replaced?.close(CLOSE_REPLACED, 'replaced by a newer connection of the same owner');
    const url = advertisedUrl(req, claimed.id, { publicUrl: this.options.publicUrl, domain: this.options.domain, tls: false });
    session.control({ type: 'ready', tunnel: claimed.id, url, secret: claimed.secret });
    const missed = this.queues.pending(claimed.id);
    session.deliverMissed(missed.items, missed.dropped);
  }

  private async close(): Promise<void> {
    clearInterval(this.heartbeat);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const sessions = this.registry.sessions();
    for (const s of sessions) s.control({ type: 'going_away', message: 'the relay is shutting down' });
    const deadline = Date.now() + this.options.shutdownGraceMs;
    while (sessions.some((s) => s.inFlight > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const s of sessions) s.close(1001, 'relay shutting down');
    this.server.closeIdleConnections();
    this.server.closeAllConnections();
    await closed;
  }
}
