import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode } from '../../errors.js';
import { hasHeader, removeHeader } from '../../protocol/headers.js';
import { stripHopByHop, type RequestHead } from '../../protocol/index.js';
import type { LocalTunnels } from '../local.js';
import { readBounded } from '../offline.js';
import { bodyIdleMessage, refuseAndClose, sendError } from '../respond.js';
import type { AgentSession } from '../session.js';
import type { Inbox, TunnelDirectory, TunnelRecord } from '../store/types.js';
import { ADDED_HOST_HEADER, AUTH_HEADER, CLUSTER_PREFIX, NOT_HERE_HEADER, REMOTE_HEADER, verify } from './auth.js';
import { NodeForwarder } from './forward.js';

/** How long a node trusts what it learned of another node holding a tunnel (its holder and access rules). */
export const HOLDER_CACHE_MS = 1000;
/** At most this many tunnels held elsewhere are remembered. */
const HOLDER_CACHE_ENTRIES = 10_000;
/**
 * A request body declared (Content-Length) at most this large is read whole before it crosses to the holder, and
 * goes with the head in one write: see ClusterNode.deliver.
 */
export const SMALL_BODY_BYTES = 64 * 1024;
const NO_BODY = Buffer.alloc(0);

/** This relay as a node of a cluster: where the other nodes reach it, and the secret they share. */
export interface ClusterIdentity {
  /** The URL other nodes use to reach this one (`--cluster-url`); recorded as the holder of its tunnels. */
  readonly url: string;
  /** Shared by every node: signs node-to-node requests. */
  readonly secret: string;
  /** See ClusterOptions.holderCacheMs. Default HOLDER_CACHE_MS. */
  readonly holderCacheMs?: number;
}

/** What a cluster node needs from the relay around it. */
export interface ClusterContext {
  readonly local: LocalTunnels<AgentSession>;
  readonly directory: TunnelDirectory;
  readonly inbox: Inbox;
  readonly maxInFlight: number;
  /** How long a sender's body may pause (RelayLimits.bodyIdleTimeoutMs). */
  readonly bodyIdleTimeoutMs: number;
  readonly onStoreError: (err: Error) => void;
}

/**
 * Forwarding between the nodes of a cluster. A request reaching a node whose tunnel's agent is connected to another
 * node goes there (forward), after the gatekeeping of the node it reached; the other node serves it to its agent
 * as if it had arrived itself (serve), trusting the sender's address and headers only on a signed request.
 */
export class ClusterNode {
  private readonly forwarder: NodeForwarder;
  /**
   * Tunnels found held by other nodes lately (HOLDER_CACHE_MS): a stream of requests crossing to one tunnel asks Redis
   * once a second, not once per request. A holder that refuses or cannot be reached is forgotten at once.
   */
  private readonly holders = new Map<string, { readonly record: TunnelRecord; readonly until: number }>();

  constructor(
    readonly identity: ClusterIdentity,
    private readonly ctx: ClusterContext,
  ) {
    this.forwarder = new NodeForwarder(identity.secret);
  }

  /** True for a request addressed to this node by another one (what serve() handles). */
  static isNodeRequest(url: string | undefined): boolean {
    return url?.startsWith(CLUSTER_PREFIX) === true;
  }

  /** True when `req` carries a node's signature header (valid or not). */
  static isSigned(req: IncomingMessage): boolean {
    return req.headers[AUTH_HEADER] !== undefined;
  }

  /**
   * The directory's record of `tunnel`, not connected here: from what this node learned in the last HOLDER_CACHE_MS
   * when another node held it then, else from the store.
   */
  async lookup(tunnel: string): Promise<TunnelRecord | undefined> {
    const now = Date.now();
    const cached = this.holders.get(tunnel);
    if (cached && cached.until > now) return cached.record;
    const record = await this.ctx.directory.lookup(tunnel);
    this.holders.delete(tunnel);
    if (record?.holder && record.holder !== this.identity.url) {
      // Insertion order is age order: past the bound, the oldest entry goes.
      if (this.holders.size >= HOLDER_CACHE_ENTRIES) this.holders.delete(this.holders.keys().next().value!);
      this.holders.set(tunnel, { record, until: now + (this.identity.holderCacheMs ?? HOLDER_CACHE_MS) });
    }
    return record;
  }

  /**
   * Sends a request that passed this node's gatekeeping to `holder`. When the holder says it does not hold the tunnel
   * (the agent just moved), the directory is asked once more; when the tunnel is then here, it is served here. When
   * no node takes it, `away` gets the request whole: it waits for the agent like any request for an absent one.
   * A small body (a webhook's, see SMALL_BODY_BYTES) is read first and sent with the head, without waiting for the
   * holder's 100 Continue: one round trip between nodes fewer, and a refusal leaves it in hand for the next try.
   */
  async deliver(req: IncomingMessage, res: ServerResponse, tunnel: string, head: RequestHead, holder: string, away: (body?: Buffer) => void): Promise<void> {
    const body = await this.smallBody(req, res);
    if (body === null) return;
    let result = await this.forwarder.forward(holder, tunnel, head, req, res, body);
    if (result !== 'served') this.holders.delete(tunnel);
    if (result === 'not_here') {
      let record;
      try {
        record = await this.ctx.directory.lookup(tunnel);
      } catch (err) {
        this.ctx.onStoreError(err as Error);
      }
      const here = this.ctx.local.get(tunnel);
      if (here) return this.relayHere(here.session, req, res, tunnel, head, body);
      if (record?.holder && record.holder !== holder && record.holder !== this.identity.url) {
        result = await this.forwarder.forward(record.holder, tunnel, head, req, res, body);
      }
    }
    if (result !== 'served') away(body);
  }

  /**
   * The body of a request that declares none or a small one, read whole. Undefined for a larger or chunked body
   * (streamed once the holder has said it takes the request); null when the sender went away or stalled (answered).
   */
  private async smallBody(req: IncomingMessage, res: ServerResponse): Promise<Buffer | undefined | null> {
    if (req.headers['transfer-encoding'] !== undefined) return undefined;
    const declared = req.headers['content-length'];
    if (declared === undefined || declared === '0') return NO_BODY;
    const length = Number(declared);
    if (!(length <= SMALL_BODY_BYTES)) return undefined;
    const read = await readBounded(req, length, this.ctx.bodyIdleTimeoutMs);
    if (read.kind === 'body') return read.body;
    if (read.kind === 'idle') refuseAndClose(req, res, ErrorCode.RequestTimeout, bodyIdleMessage(this.ctx.bodyIdleTimeoutMs));
    return null;
  }

  /**
   * For a request waiting for an absent agent: serves it through the node that holds the tunnel now, if another node
   * does (the agent came back there). False when none took it.
   */
  async elsewhere(req: IncomingMessage, res: ServerResponse, tunnel: string, head: RequestHead, body: Buffer): Promise<boolean> {
    let record;
    try {
      record = await this.ctx.directory.lookup(tunnel);
    } catch (err) {
      this.ctx.onStoreError(err as Error);
      return false;
    }
    if (!record?.holder || record.holder === this.identity.url || res.destroyed) return false;
    return (await this.forwarder.forward(record.holder, tunnel, head, req, res, body)) === 'served';
  }

  /**
   * A request was kept here for `tunnel`: if its agent is connected (here or to another node) it was admitted before
   * the request was stored and would only get it at its next connection, so its node hands it over now.
   */
  async kept(tunnel: string): Promise<void> {
    const record = await this.ctx.directory.lookup(tunnel);
    if (!record?.holder) return;
    if (record.holder === this.identity.url) return this.deliverKept(tunnel);
    await this.forwarder.notify(record.holder, tunnel);
  }

  /** Handles a request from another node (`expectsContinue`: it waits for 100 Continue before sending the body). */
  serve(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void {
    const url = req.url ?? '';
    const remote = typeof req.headers[REMOTE_HEADER] === 'string' ? req.headers[REMOTE_HEADER] : '';
    const auth = req.headers[AUTH_HEADER];
    if (!verify(this.identity.secret, typeof auth === 'string' ? auth : undefined, req.method ?? '', url, remote)) {
      return sendError(res, ErrorCode.Forbidden, 'this endpoint is for the nodes of the cluster: the request is not signed with the cluster secret (or its clock is off)', { Connection: 'close' });
    }
    const rest = url.slice(CLUSTER_PREFIX.length);
    if (rest.startsWith('deliver/')) {
      void this.deliverKept(rest.slice('deliver/'.length)).catch(this.ctx.onStoreError);
      res.writeHead(204).end();
      return;
    }
    const m = /^tunnel\/([a-z0-9-]{1,63})(\/.*)$/s.exec(rest);
    if (!m) return sendError(res, ErrorCode.TunnelNotFound, `no cluster endpoint at ${url.split('?')[0]}`);
    const [, tunnel, path] = m as unknown as [string, string, string];
    const here = this.ctx.local.get(tunnel);
    if (!here) {
      res.writeHead(421, { [NOT_HERE_HEADER]: '1', 'content-length': '0', connection: 'close' }).end();
      return;
    }
    if (expectsContinue) res.writeContinue();
    this.relayHere(here.session, req, res, tunnel, headOf(req, path, remote));
  }

  private relayHere(session: AgentSession, req: IncomingMessage, res: ServerResponse, tunnel: string, head: RequestHead, body?: Buffer): void {
    if (session.inFlight >= this.ctx.maxInFlight) {
      return sendError(res, ErrorCode.TunnelBusy, `tunnel "${tunnel}" has ${this.ctx.maxInFlight} requests in flight`, { 'Retry-After': '1' });
    }
    session.relay(req, res, head, body);
  }

  /** Hands the agent of `tunnel`, if connected here, what is kept for it (the agent ignores what it already has). */
  private async deliverKept(tunnel: string): Promise<void> {
    if (!this.ctx.local.get(tunnel)) return;
    const { items, dropped } = await this.ctx.inbox.pending(tunnel);
    this.ctx.local.get(tunnel)?.session.deliverMissed(items, dropped);
  }

  /** Sender requests being answered through other nodes now. */
  get inFlight(): number {
    return this.forwarder.inFlight;
  }

  /** Closes the connections to the other nodes. */
  close(): void {
    this.forwarder.close();
  }
}

/** The request head as the node that received the request built it: its headers, without what the hop added. */
function headOf(req: IncomingMessage, path: string, remote: string): RequestHead {
  let headers = stripHopByHop(req.rawHeaders);
  for (const name of [AUTH_HEADER, REMOTE_HEADER, ADDED_HOST_HEADER]) headers = removeHeader(headers, name);
  const addedHost = hasHeader(req.rawHeaders, ADDED_HOST_HEADER);
  if (addedHost) headers = removeHeader(headers, 'host');
  return { method: req.method ?? 'GET', path, headers, remote, host: addedHost ? '' : (req.headers.host ?? '') };
}
