import { STATUS_CODES, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ErrorCode, HooktunnelError, statusForCode } from '../errors.js';
import { headerCount } from '../protocol/headers.js';
import {
  CLOSE_REPLACED,
  HEARTBEAT_INTERVAL_MS,
  PROTOCOL_VERSION,
  stripHopByHop,
  type AgentControl,
  type RequestHead,
} from '../protocol/index.js';
import type { RelayAcme } from './acme/index.js';
import { Admission } from './admission.js';
import { TokenSet, senderAddress } from './auth.js';
import { gate, type TunnelAccess } from './gate.js';
import { DEFAULT_LIMITS, type RelayLimits } from './limits.js';
import { healthReport, metricFamilies, metricsFormat, metricsJson, prometheusText, PROMETHEUS_CONTENT_TYPE, type RelaySnapshot } from './metrics.js';
import { AwayRequests } from './away.js';
import { checkClusterSecret, checkClusterUrl, checkRedisUrl } from './cluster/config.js';
import { ClusterNode } from './cluster/node.js';
import { LocalTunnels } from './local.js';
import { DEFAULT_OFFLINE_LIMITS, type OfflineLimits } from './offline.js';
import { sendError, sendSocketError } from './respond.js';
import { route, type Route } from './routing.js';
import type { AgentSession, SessionHooks } from './session.js';
import { openRelayStore } from './store/open.js';
import type { RelayStore } from './store/types.js';
import type { RelayHandle, RelayOptions, RelayStats } from './options.js';

export type { ClusterOptions, RelayHandle, RelayOptions, RelayStats } from './options.js';


const DEFAULTS = { port: 8080, host: '0.0.0.0', responseTimeoutMs: 120_000, reservationMs: 24 * 3600_000, shutdownGraceMs: 5_000 };

/** Starts a relay; resolves once it is listening. */
export async function createRelay(options: RelayOptions = {}): Promise<RelayHandle> {
  // acme-client takes about 100 ms to load: only a relay that uses it pays for it.
  const acme = options.acme ? (await import('./acme/index.js')).RelayAcme : undefined;
  const store = options.cluster ? await clusterStore(options) : options.store;
  const cluster = options.cluster ? { ...options.cluster, url: checkClusterUrl(options.cluster.url) } : undefined;
  let relay: Relay;
  try {
    relay = new Relay({ ...DEFAULTS, ...options, store, cluster, domain: options.domain?.toLowerCase().replace(/\.$/, '') }, acme);
  } catch (err) {
    if (options.cluster) await store?.close();
    throw err;
  }
  try {
    return await relay.listen();
  } catch (err) {
    await relay.closeStore();
    throw err;
  }
}

type ResolvedOptions = typeof DEFAULTS & RelayOptions;

/** A cluster node's store: the cluster's Redis, with this node's URL as the holder of the tunnels connected here. */
async function clusterStore(options: RelayOptions): Promise<RelayStore> {
  const cluster = options.cluster!;
  if (options.store || options.dataDir !== undefined || options.stateFile !== undefined) {
    throw new HooktunnelError(ErrorCode.InvalidArgument, 'a cluster node keeps its state in the cluster\'s Redis: store, dataDir and stateFile go apart from cluster');
  }
  checkRedisUrl(cluster.redis);
  const nodeUrl = checkClusterUrl(cluster.url);
  checkClusterSecret(cluster.secret);
  // ioredis is loaded only by a relay that uses it.
  const { openRedisStore } = await import('./store/redis.js');
  return openRedisStore(cluster.redis, {
    prefix: cluster.prefix,
    reservationMs: options.reservationMs ?? DEFAULTS.reservationMs,
    offline: { ...DEFAULT_OFFLINE_LIMITS, ...options.offline },
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    leaseMs: cluster.leaseMs,
    nodeUrl,
  });
}

const ignore = (): void => {};
/** How long health and metrics wait for the store to answer before they call it failing. */
const STORE_PROBE_MS = 2000;

/** Answers an upgrade request with a relay error on its raw socket, the status from the code. */
function socketError(socket: Duplex, code: string, message: string, extra?: Record<string, string>): void {
  const status = statusForCode(code);
  sendSocketError(socket, status, STATUS_CODES[status] ?? '', code, message, extra);
}


class Relay {
  private readonly server: Server;
  private readonly local = new LocalTunnels<AgentSession>();
  private readonly store: RelayStore;
  /** Store calls not awaited by a request (releases, acks, sweeps): close() waits for them. */
  private readonly background = new Set<Promise<unknown>>();
  private readonly onStoreError: (err: Error) => void;
  /** The last store call failed (the default reporter stays quiet until one succeeds). */
  private storeFailing = false;
  /** The last store call's error while it is failing (health), and the failures since start (metrics). */
  private storeError: string | undefined;
  private storeErrors = 0;
  private readonly counters = { violations: 0, requests: 0 };
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly offlineLimits: OfflineLimits;
  private readonly limits: RelayLimits;
  private readonly trustProxy: boolean;
  private readonly tokens: TokenSet;
  private readonly admission: Admission;
  private readonly away: AwayRequests;
  private readonly acme: RelayAcme | undefined;
  private readonly cluster: ClusterNode | undefined;

  constructor(
    private readonly options: ResolvedOptions,
    Acme?: typeof RelayAcme,
  ) {
    if (options.acme && (!options.domain || options.tls)) throw new HooktunnelError(ErrorCode.InvalidArgument, 'ACME needs a domain and goes apart from a TLS certificate of your own');
    // By default a failing store is reported once, and again once it answers (not at every heartbeat meanwhile).
    const report = options.onStateError ?? ((err: Error) => {
      if (this.storeFailing) return;
      this.storeFailing = true;
      process.stderr.write(`warning: relay state (${this.store.location}): ${err.message}; retrying\n`);
    });
    const onStateError = (err: Error): void => {
      this.storeError = err.message;
      this.storeErrors++;
      report(err);
    };
    this.onStoreError = onStateError;
    this.offlineLimits = { ...DEFAULT_OFFLINE_LIMITS, ...options.offline };
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    // Before the store: a tokens file that cannot be read must not leave a store open (and its file locked).
    this.tokens = new TokenSet(options.tokens ?? [], options.tokensFile);
    this.store = options.store ?? openRelayStore({
      dataDir: options.dataDir, stateFile: options.stateFile, reservationMs: options.reservationMs, offline: this.offlineLimits, limits: this.limits,
      onNotice: options.onNotice ?? ((line) => process.stderr.write(`${line}\n`)), onStateError,
    });
    this.cluster = options.cluster
      ? new ClusterNode(options.cluster, { local: this.local, directory: this.store.directory, inbox: this.store.inbox, maxInFlight: this.limits.maxInFlight, bodyIdleTimeoutMs: this.limits.bodyIdleTimeoutMs, onStoreError: onStateError })
      : undefined;
    this.away = new AwayRequests({
      local: this.local, inbox: this.store.inbox, durable: this.store.durable, limits: this.limits, offline: this.offlineLimits, onStoreError: onStateError,
      // What the away path asks of other nodes; a hand-over after a request was kept is waited for by close().
      cluster: this.cluster && {
        elsewhere: (req, res, tunnel, head, body) => this.cluster!.elsewhere(req, res, tunnel, head, body),
        kept: async (tunnel) => this.inBackground(this.cluster!.kept(tunnel)),
      },
    });
    this.trustProxy = options.trustProxy === true;
    try {
      this.acme = this.createAcme(Acme);
    } catch (err) {
      void this.store.close();
      throw err;
    }
    const hooks: SessionHooks = {
      counters: this.counters,
      responseTimeoutMs: options.responseTimeoutMs,
      limits: this.limits,
      onClose: (session) => {
        const gone = this.local.remove(session.tunnel, session);
        if (gone) this.inBackground(this.store.directory.release(session.tunnel, gone.epoch).then(() => this.sweep()));
        if (session.owner) this.store.usage.count(session.owner, -1);
      },
      onControl: (session, msg) => this.onControl(session, msg),
    };
    this.admission = new Admission({
      local: this.local, store: this.store, onStoreError: onStateError, tokens: this.tokens, open: options.open === true, trustProxy: this.trustProxy,
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
    // A node takes another node's request body only once it has said it holds the tunnel (ClusterNode.serve); every
    // other request gets 100 Continue at once, as Node does by default.
    this.server.on('checkContinue', (req, res) => {
      if (this.cluster && this.fromNode(req)) return this.cluster.serve(req, res, true);
      res.writeContinue();
      this.onRequest(req, res);
    });
    this.server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    this.server.on('connect', (_req, socket: Duplex) =>
      sendSocketError(socket, 400, 'Bad Request', ErrorCode.BadRequest, 'CONNECT is not served: this relay is not a proxy'),
    );
  }

  /**
   * ACME with the store's shared certificate store when it has one (Redis: every node orders, answers challenges
   * and serves certificates through it), else `acme.store` or the files of `acme.dir`.
   */
  private createAcme(Acme: typeof RelayAcme | undefined): RelayAcme | undefined {
    const { acme, domain } = this.options;
    if (!acme || !Acme) return undefined;
    // Only tunnels that exist (connected here, or held or reserved in the store) get a certificate of their own.
    const exists = async (id: string): Promise<boolean> => this.local.get(id) !== undefined || (await this.store.directory.lookup(id)) !== undefined;
    const shared = acme.store === undefined ? this.store.certStore?.() : undefined;
    return new Acme(domain!, shared ? { ...acme, store: shared } : acme, exists);
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
      for (const s of this.local.sessions()) s.heartbeat();
      // One chain that always reaches the store, so that its success says the store answers.
      this.inBackground(this.renew().then(() => this.sweep()).then(() => this.store.inbox.expire()));
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
    for (const s of this.local.sessions()) inFlight += s.inFlight;
    const { requests, violations } = this.counters;
    const { kept, dropped } = this.store.inbox.counts();
    return { tunnels: this.local.size, inFlight, requests, violations, kept, dropped, waiting: this.away.size };
  }

  /** Closes the store (createRelay calls it when listening failed). */
  closeStore(): Promise<void> {
    return this.store.close();
  }

  /** Forgets tunnels whose reservation ran out, with what was kept for them. */
  private async sweep(): Promise<void> {
    const gone = await this.store.directory.sweep();
    if (gone.length > 0) await this.store.inbox.forget(gone);
  }

  /**
   * Renews this relay's claims; a tunnel another relay took over since (its agent reconnected there) is closed here
   * as replaced (4003), so that two relays never both deliver to one tunnel. While the store is unreachable the
   * renewal fails and the tunnels connected here carry on.
   */
  private async renew(): Promise<void> {
    const claims = this.local.claims();
    if (claims.length === 0) return;
    const lost = await this.store.directory.renew(claims);
    const renewed = new Map(claims.map((c) => [c.id, c.epoch]));
    for (const id of lost) {
      const entry = this.local.get(id);
      // A newer connection here since the renewal started holds a newer claim: it stays.
      if (entry && entry.epoch === renewed.get(id)) entry.session.close(CLOSE_REPLACED, 'replaced by a newer connection of the same owner through another relay');
    }
  }

  private storeAnswered(): void {
    this.storeError = undefined;
    if (!this.storeFailing) return;
    this.storeFailing = false;
    if (!this.options.onStateError) process.stderr.write(`relay state (${this.store.location}) answers again\n`);
  }

  /** Runs a store call nobody waits for: its failure is reported, and close() waits for it. */
  private inBackground(p: Promise<unknown>): void {
    const tracked = p.then(() => this.storeAnswered(), (err: Error) => this.onStoreError(err)).finally(() => this.background.delete(tracked));
    this.background.add(tracked);
  }

  private routeOf(req: IncomingMessage): Route {
    if (headerCount(req.rawHeaders, 'host') > 1) return { kind: 'bad', message: 'more than one Host header' };
    return route(req.url ?? '', req.headers.host, this.options.domain);
  }

  /**
   * A request to the node-to-node path: signed ones always, unsigned ones too (refused 403) except on a tunnel's own
   * host, where every path is the tunnel's.
   */
  private fromNode(req: IncomingMessage): boolean {
    if (!ClusterNode.isNodeRequest(req.url)) return false;
    return ClusterNode.isSigned(req) || this.routeOf(req).kind !== 'tunnel';
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    // A sender that disconnects mid-body makes the request emit 'aborted' errors; the exchange learns of it from
    // the response's 'close', so the error itself needs no handling, only a listener (or the process would crash).
    req.on('error', ignore);
    res.on('error', ignore);
    if (this.cluster && this.fromNode(req)) return this.cluster.serve(req, res, false);
    const r = this.routeOf(req);
    switch (r.kind) {
      case 'bad':
        return sendError(res, ErrorCode.BadRequest, r.message);
      case 'relay':
        return this.serveOwn(r.path, req, res);
      case 'home':
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        return void res.end('hooktunnel relay: tunnels are served under /t/<id>\n');
      case 'none':
        return sendError(res, ErrorCode.TunnelNotFound, 'no tunnel here: tunnel URLs look like /t/<id>/…');
      case 'tunnel':
        return this.toTunnel(req, res, r.tunnel, r.path);
    }
  }

  /**
   * A request for a tunnel: gatekeeping, then the agent, or the offline path while it is away. A tunnel connected
   * to this relay is served from the local table alone; only one that is not asks the store whether it exists.
   */
  private toTunnel(req: IncomingMessage, res: ServerResponse, tunnel: string, path: string): void {
    const here = this.local.get(tunnel);
    if (here) return this.serveTunnel(req, res, tunnel, path, here.access, here.session);
    (this.cluster ? this.cluster.lookup(tunnel) : this.store.directory.lookup(tunnel)).then(
      (record) => {
        if (!record) return sendError(res, ErrorCode.TunnelNotFound, `tunnel "${tunnel}" is not connected`);
        // It may have connected here while the store answered.
        const now = this.local.get(tunnel);
        if (!now && this.cluster && record.holder && record.holder !== this.cluster.identity.url) {
          return this.serveRemote(req, res, tunnel, path, record.access, record.holder);
        }
        this.serveTunnel(req, res, tunnel, path, now?.access ?? record.access, now?.session);
      },
      (err: Error) => {
        this.onStoreError(err);
        sendError(res, ErrorCode.RelayStoreUnavailable, `the relay cannot reach its store to find tunnel "${tunnel}"; try again shortly`, { 'Retry-After': '1' });
      },
    );
  }

  private serveTunnel(req: IncomingMessage, res: ServerResponse, tunnel: string, path: string, access: TunnelAccess, session: AgentSession | undefined): void {
    this.counters.requests++;
    const refusal = gate(req, senderAddress(req, this.trustProxy), tunnel, access, this.limits, this.store.usage);
    if (refusal) return sendError(res, refusal.code, refusal.message, refusal.headers);
    if (!session) return void this.away.handle(req, res, tunnel, this.requestHead(req, path));
    if (session.inFlight >= this.limits.maxInFlight) {
      return sendError(res, ErrorCode.TunnelBusy, `tunnel "${tunnel}" has ${this.limits.maxInFlight} requests in flight`, { 'Retry-After': '1' });
    }
    session.relay(req, res, this.requestHead(req, path));
  }

  /** A request for a tunnel whose agent is connected to another node: gatekeeping here, then that node serves it. */
  private serveRemote(req: IncomingMessage, res: ServerResponse, tunnel: string, path: string, access: TunnelAccess, holder: string): void {
    this.counters.requests++;
    const refusal = gate(req, senderAddress(req, this.trustProxy), tunnel, access, this.limits, this.store.usage);
    if (refusal) return sendError(res, refusal.code, refusal.message, refusal.headers);
    const head = this.requestHead(req, path);
    void this.cluster!.deliver(req, res, tunnel, head, holder, (body) => void this.away.handle(req, res, tunnel, head, body));
  }

  private onControl(session: AgentSession, msg: AgentControl): void {
    switch (msg.type) {
      case 'ping':
        return session.control({ type: 'pong', owned: this.local.get(session.tunnel)?.session === session });
      case 'missed_ack':
        return this.inBackground(this.store.inbox.ack(session.tunnel, msg.ids));
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

  private serveOwn(path: string, req: IncomingMessage, res: ServerResponse): void {
    const bare = path.split('?')[0];
    if (bare === '/_hooktunnel/health') {
      return void this.snapshot().then((snapshot) => {
        const { status, body } = healthReport(snapshot, PROTOCOL_VERSION);
        res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(`${JSON.stringify(body)}\n`);
      });
    }
    if (bare === '/_hooktunnel/metrics') {
      const format = metricsFormat(path, req.headers.accept);
      if (!format) return sendError(res, ErrorCode.BadRequest, 'format must be prometheus or json');
      return void this.snapshot().then((snapshot) => {
        const mem = process.memoryUsage();
        if (format === 'prometheus') {
          res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'cache-control': 'no-store' });
          return void res.end(prometheusText(metricFamilies(snapshot, mem)));
        }
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(`${JSON.stringify(metricsJson(snapshot, mem))}\n`);
      });
    }
    sendError(res, ErrorCode.TunnelNotFound, `no relay endpoint at ${bare}`);
  }

  /**
   * Counters, ACME state and the store's health: the store is asked for the cluster's tunnel count (bounded by
   * STORE_PROBE_MS), which also says whether it answers now; a background call that failed since the last success
   * counts as failing too (a disk that cannot be written still answers reads). Never rejects.
   */
  private async snapshot(): Promise<RelaySnapshot> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${STORE_PROBE_MS} ms`)), STORE_PROBE_MS);
    });
    const probe = await Promise.race([this.store.directory.countHeld(), timeout]).then(
      (n) => ({ clusterTunnels: n }),
      (err: Error) => ({ error: err.message }),
    ).finally(() => clearTimeout(timer));
    const error = 'error' in probe ? probe.error : this.storeError;
    const store = {
      location: this.store.location,
      up: error === undefined,
      ...(error !== undefined ? { error } : {}),
      errors: this.storeErrors,
      ...('clusterTunnels' in probe ? { clusterTunnels: probe.clusterTunnels } : {}),
    };
    return { stats: this.stats(), store, ...(this.acme ? { acme: this.acme.status() } : {}) };
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const r = this.routeOf(req);
    if (r.kind === 'tunnel') return this.upgradeTunnel(req, socket as Socket, head, r.tunnel, r.path);
    if (r.kind === 'bad') return socketError(socket, ErrorCode.BadRequest, r.message);
    if (r.kind !== 'relay') return sendSocketError(socket, 404, 'Not Found', ErrorCode.TunnelNotFound, 'no WebSocket endpoint here');
    this.admission.upgrade(req, socket, head, r.path);
  }

  /** An upgrade request (WebSocket) for a tunnel: the same gatekeeping as a request, then the agent's stream. */
  private upgradeTunnel(req: IncomingMessage, socket: Socket, early: Buffer, tunnel: string, path: string): void {
    socket.on('error', ignore);
    const serve = (access: TunnelAccess, session: AgentSession | undefined): void => {
      this.counters.requests++;
      const refusal = gate(req, senderAddress(req, this.trustProxy), tunnel, access, this.limits, this.store.usage);
      if (refusal) return socketError(socket, refusal.code, refusal.message, refusal.headers);
      if (!session) return socketError(socket, ErrorCode.AgentOffline, `the agent of tunnel "${tunnel}" is offline; upgrade requests are not kept for it`, { 'Retry-After': '1' });
      if (!session.upgrades) {
        return socketError(socket, ErrorCode.UpgradeNotSupported, `the agent of tunnel "${tunnel}" is older than this relay and does not relay upgrades (WebSocket): update hooktunnel where the agent runs`);
      }
      if (session.inFlight >= this.limits.maxInFlight) {
        return socketError(socket, ErrorCode.TunnelBusy, `tunnel "${tunnel}" has ${this.limits.maxInFlight} requests in flight`, { 'Retry-After': '1' });
      }
      session.relayUpgrade(socket, early, { ...this.requestHead(req, path), upgrade: req.headers.upgrade ?? '' });
    };
    const here = this.local.get(tunnel);
    if (here) return serve(here.access, here.session);
    this.store.directory.lookup(tunnel).then(
      (record) => {
        if (!record) return socketError(socket, ErrorCode.TunnelNotFound, `tunnel "${tunnel}" is not connected`);
        const now = this.local.get(tunnel);
        serve(now?.access ?? record.access, now?.session);
      },
      (err: Error) => {
        this.onStoreError(err);
        socketError(socket, ErrorCode.RelayStoreUnavailable, `the relay cannot reach its store to find tunnel "${tunnel}"; try again shortly`, { 'Retry-After': '1' });
      },
    );
  }

  private async close(): Promise<void> {
    clearInterval(this.heartbeat);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const sessions = this.local.sessions();
    // Agents reconnect at once on going_away: on a cluster node, through the load balancer to another node.
    const leaving = this.cluster ? 'this relay node is leaving the cluster: reconnect through the load balancer' : 'the relay is shutting down';
    for (const s of sessions) s.control({ type: 'going_away', message: leaving });
    this.away.stop();
    const deadline = Date.now() + this.options.shutdownGraceMs;
    const busy = (): boolean => this.away.size > 0 || sessions.some((s) => s.inFlight > 0) || (this.cluster?.inFlight ?? 0) > 0;
    while (busy() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const s of sessions) s.close(1001, 'relay shutting down', 'the relay shut down before the agent answered');
    // Every tunnel is now reserved for its owner (the releases are in the background set): written before the
    // process may exit.
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
    await this.store.close();
    this.cluster?.close();
    this.server.closeIdleConnections();
    this.server.closeAllConnections();
    await this.acme?.close();
    await closed;
  }
}
