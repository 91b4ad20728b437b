import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { ErrorCode, HooktunnelError } from '../errors.js';
import {
  HEARTBEAT_INTERVAL_MS,
  PROTOCOL_VERSION,
  stripHopByHop,
  type AgentControl,
  type RequestHead,
} from '../protocol/index.js';
import { RelayAcme, type AcmeOptions } from './acme/index.js';
import { Admission } from './admission.js';
import { TokenSet, senderAddress } from './auth.js';
import { gate, type TunnelAccess } from './gate.js';
import { DEFAULT_LIMITS, TokenUsage, type RelayLimits } from './limits.js';
import { AwayRequests } from './away.js';
import { DEFAULT_OFFLINE_LIMITS, OfflineQueues, type OfflineLimits } from './offline.js';
import { TunnelRegistry } from './registry.js';
import { RegistryFile } from './state-file.js';
import { sendError, sendSocketError } from './respond.js';
import { route, type Route } from './routing.js';
import type { AgentSession, SessionHooks } from './session.js';

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
  /** Tokens agents must present; with none (and no tokensFile), only agents on this machine are accepted. */
  readonly tokens?: readonly string[];
  /** A file of tokens, one per line; reread by `reloadTokens()` (the CLI calls it on SIGHUP). */
  readonly tokensFile?: string;
  /** Accept agents from anywhere without a token. Anyone can then open tunnels on this relay. */
  readonly open?: boolean;
  /**
   * The relay runs behind a reverse proxy that appends the sender's address to X-Forwarded-For and sets
   * X-Forwarded-Proto (`--trust-proxy`): allow lists, per-address limits and the headers the target sees use those.
   */
  readonly trustProxy?: boolean;
  /** Size, rate and time limits (README "Limits"). */
  readonly limits?: Partial<RelayLimits>;
  /** Serve HTTPS and WSS with this certificate and key (PEM). */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  /** Serve HTTPS and WSS with certificates from an ACME directory for `domain` and its tunnel hosts (not with `tls`). */
  readonly acme?: AcmeOptions;
  /**
   * A file where the relay keeps tunnel ids, their owners' secret digests and reservations across restarts
   * (`--state-file`). Without it a restarted relay has forgotten every tunnel. Throws `invalid_argument` at start
   * for a file that is not a relay state.
   */
  readonly stateFile?: string;
  /** Told when the state file cannot be written (the relay carries on). Default: a line on stderr. */
  readonly onStateError?: (err: Error) => void;
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
  /** Requests waiting now for an agent that is away (see AwayRequests). */
  readonly waiting: number;
}

/** A running relay. */
export interface RelayHandle {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  /** With ACME, the plain-HTTP port (challenges and redirects). */
  readonly httpPort?: number;
  stats(): RelayStats;
  /** Rereads the tokens file; resolves with the number of tokens now in force. */
  reloadTokens(): number;
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

const ignore = (): void => {};


class Relay {
  private readonly server: Server;
  private readonly registry: TunnelRegistry<AgentSession, TunnelAccess>;
  private readonly counters = { violations: 0, requests: 0 };
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly offlineLimits: OfflineLimits;
  private readonly queues: OfflineQueues;
  private readonly limits: RelayLimits;
  private readonly trustProxy: boolean;
  private readonly usage: TokenUsage;
  private readonly tokens: TokenSet;
  private readonly admission: Admission;
  private readonly away: AwayRequests;
  private readonly acme: RelayAcme | undefined;

  constructor(private readonly options: ResolvedOptions) {
    if (options.acme && (!options.domain || options.tls)) throw new HooktunnelError(ErrorCode.InvalidArgument, 'ACME needs a domain and goes apart from a TLS certificate of your own');
    // Only tunnels that exist (connected or reserved) get a certificate of their own.
    const exists = (id: string): boolean => this.registry.meta(id) !== undefined && (this.registry.get(id) !== undefined || this.registry.isReserved(id));
    this.acme = options.acme ? new RelayAcme(options.domain!, options.acme, exists) : undefined;
    const onStateError = options.onStateError ?? ((err: Error) => process.stderr.write(`warning: cannot write the relay state file ${options.stateFile}: ${err.message}\n`));
    this.registry = new TunnelRegistry(options.reservationMs, options.stateFile ? new RegistryFile(options.stateFile, onStateError) : undefined);
    this.offlineLimits = { ...DEFAULT_OFFLINE_LIMITS, ...options.offline };
    this.queues = new OfflineQueues(this.offlineLimits);
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.away = new AwayRequests({ registry: this.registry, queues: this.queues, limits: this.limits, offline: this.offlineLimits });
    this.trustProxy = options.trustProxy === true;
    this.usage = new TokenUsage(this.limits);
    this.tokens = new TokenSet(options.tokens ?? [], options.tokensFile);
    const hooks: SessionHooks = {
      counters: this.counters,
      responseTimeoutMs: options.responseTimeoutMs,
      limits: this.limits,
      onClose: (session) => {
        this.registry.release(session.tunnel, session);
        if (session.owner) this.usage.count(session.owner, -1);
      },
      onControl: (session, msg) => this.onControl(session, msg),
    };
    this.admission = new Admission({
      registry: this.registry, queues: this.queues, usage: this.usage, tokens: this.tokens, open: options.open === true, trustProxy: this.trustProxy,
      hooks, publicUrl: options.publicUrl, domain: options.domain, tls: this.secure,
    });
    const serverOptions = {
      keepAlive: true,
      maxHeaderSize: this.limits.maxHeaderBytes,
      headersTimeout: this.limits.headersTimeoutMs,
      // Whole-request time is not limited (a 1 GiB upload takes a while); a stalled body is (bodyIdleTimeoutMs).
      requestTimeout: 0,
      // Node checks the head timeout on this interval (30 s by default), which would let a slow head run 3x over.
      connectionsCheckingInterval: Math.max(100, Math.min(1000, this.limits.headersTimeoutMs / 4)),
    };
    this.server = this.acme
      ? this.acme.createServer(serverOptions)
      : options.tls ? createHttpsServer({ ...serverOptions, cert: options.tls.cert, key: options.tls.key }) : createServer(serverOptions);
    this.server.maxHeadersCount = this.limits.maxHeaderCount;
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
    const { port } = server.address() as AddressInfo;
    if (this.acme) {
      await this.acme.start(options.host, port).catch(async (err: unknown) => {
        await new Promise((resolve) => server.close(resolve));
        throw err;
      });
    }
    this.heartbeat = setInterval(() => {
      for (const s of this.registry.sessions()) s.heartbeat();
      for (const id of this.registry.sweep()) this.queues.forget(id);
    }, options.heartbeatMs ?? HEARTBEAT_INTERVAL_MS);
    this.heartbeat.unref();
    const shownHost = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
    const hostPart = shownHost.includes(':') ? `[${shownHost}]` : shownHost;
    return {
      url: `${this.secure ? 'https' : 'http'}://${this.acme ? options.domain : hostPart}:${port}`,
      port,
      host: options.host,
      httpPort: this.acme?.httpPort,
      stats: () => this.stats(),
      reloadTokens: () => this.tokens.reload(),
      close: () => this.close(),
    };
  }

  /** HTTPS and WSS: a certificate of the operator's or from ACME. */
  private get secure(): boolean {
    return this.options.tls !== undefined || this.acme !== undefined;
  }

  private stats(): RelayStats {
    let inFlight = 0;
    for (const s of this.registry.sessions()) inFlight += s.inFlight;
    const { requests, violations } = this.counters;
    return { tunnels: this.registry.size, inFlight, requests, violations, kept: this.queues.size, dropped: this.queues.droppedTotal, waiting: this.away.size };
  }

  private routeOf(req: IncomingMessage): Route {
    let hosts = 0;
    for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() === 'host') hosts++;
    if (hosts > 1) return { kind: 'bad', message: 'more than one Host header' };
    return route(req.url ?? '', req.headers.host, this.options.domain);
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    // A sender that disconnects mid-body makes the request emit 'aborted' errors; the exchange learns of it from
    // the response's 'close', so the error itself needs no handling, only a listener (or the process would crash).
    req.on('error', ignore);
    res.on('error', ignore);
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
      case 'tunnel':
        return this.toTunnel(req, res, r.tunnel, r.path);
    }
  }

  /** A request for a tunnel: gatekeeping, then the agent, or the offline path while it is away. */
  private toTunnel(req: IncomingMessage, res: ServerResponse, tunnel: string, path: string): void {
    const access = this.registry.meta(tunnel);
    const session = this.registry.get(tunnel);
    if (!access || (!session && !this.registry.isReserved(tunnel))) {
      return sendError(res, ErrorCode.TunnelNotFound, `tunnel "${tunnel}" is not connected`);
    }
    this.counters.requests++;
    const refusal = gate(req, senderAddress(req, this.trustProxy), tunnel, access, this.limits, this.usage);
    if (refusal) return sendError(res, refusal.code, refusal.message, refusal.headers);
    if (!session) return void this.away.handle(req, res, tunnel, this.requestHead(req, path));
    if (session.inFlight >= this.limits.maxInFlight) {
      return sendError(res, ErrorCode.TunnelBusy, `tunnel "${tunnel}" has ${this.limits.maxInFlight} requests in flight`, { 'Retry-After': '1' });
    }
    session.relay(req, res, this.requestHead(req, path));
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
    const remote = senderAddress(req, this.trustProxy) ?? '';
    const host = req.headers.host ?? '';
    let forwardedFor: string | undefined;
    let proxyProto: string | undefined;
    const kept: string[] = [];
    for (let i = 0; i < headers.length; i += 2) {
      const lower = headers[i]!.toLowerCase();
      // A sender's own X-Forwarded-Host/Proto are not believed; a trusted proxy's Proto is. X-Forwarded-For is a
      // list: the relay appends its peer, or, behind a trusted proxy, keeps the list the proxy already appended to.
      if (lower === 'x-forwarded-proto' && this.trustProxy) proxyProto = headers[i + 1]!.split(',').pop()!.trim();
      if (lower === 'x-forwarded-host' || lower === 'x-forwarded-proto') continue;
      if (lower === 'x-forwarded-for') {
        forwardedFor = forwardedFor === undefined ? headers[i + 1] : `${forwardedFor}, ${headers[i + 1]}`;
        continue;
      }
      kept.push(headers[i]!, headers[i + 1]!);
    }
    const proto = proxyProto === 'https' || proxyProto === 'http' ? proxyProto : this.secure || this.options.publicUrl?.startsWith('https:') ? 'https' : 'http';
    const chain = this.trustProxy && forwardedFor ? forwardedFor : forwardedFor ? `${forwardedFor}, ${remote}` : remote;
    kept.push('X-Forwarded-Host', host, 'X-Forwarded-Proto', proto, 'X-Forwarded-For', chain);
    return { method: req.method ?? 'GET', path, headers: kept, remote, host };
  }

  private serveOwn(path: string, res: ServerResponse): void {
    const bare = path.split('?')[0];
    if (bare === '/_hooktunnel/health') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(`${JSON.stringify({ ok: true, protocol: PROTOCOL_VERSION, ...(this.acme ? { acme: this.acme.status() } : {}) })}\n`);
    }
    if (bare === '/_hooktunnel/metrics') {
      const mem = process.memoryUsage();
      res.writeHead(200, { 'content-type': 'application/json' });
      const acme = this.acme ? { acme: this.acme.status() } : {};
      return void res.end(`${JSON.stringify({ ...this.stats(), rssBytes: mem.rss, heapUsedBytes: mem.heapUsed, ...acme })}\n`);
    }
    sendError(res, ErrorCode.TunnelNotFound, `no relay endpoint at ${bare}`);
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const r = this.routeOf(req);
    if (r.kind === 'tunnel') {
      return sendSocketError(socket, 501, 'Not Implemented', ErrorCode.UpgradeNotSupported, 'WebSocket and other upgrades are not relayed through tunnels yet');
    }
    if (r.kind !== 'relay') return sendSocketError(socket, 404, 'Not Found', ErrorCode.TunnelNotFound, 'no WebSocket endpoint here');
    this.admission.upgrade(req, socket, head, r.path);
  }

  private async close(): Promise<void> {
    clearInterval(this.heartbeat);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const sessions = this.registry.sessions();
    for (const s of sessions) s.control({ type: 'going_away', message: 'the relay is shutting down' });
    this.away.stop();
    const deadline = Date.now() + this.options.shutdownGraceMs;
    const busy = (): boolean => this.away.size > 0 || sessions.some((s) => s.inFlight > 0);
    while (busy() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const s of sessions) s.close(1001, 'relay shutting down', 'the relay shut down before the agent answered');
    // Every tunnel is now reserved for its owner: written before the process may exit.
    this.registry.save();
    this.server.closeIdleConnections();
    this.server.closeAllConnections();
    await this.acme?.close();
    await closed;
  }
}
