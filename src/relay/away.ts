import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode } from '../errors.js';
import type { RequestHead } from '../protocol/index.js';
import type { RelayLimits } from './limits.js';
import type { LocalTunnels } from './local.js';
import { boundedOf, keptRequest, readBounded, sendOffline, type OfflineLimits } from './offline.js';
import { bodyIdleMessage, refuseAndClose, sendError } from './respond.js';
import type { AgentSession } from './session.js';
import type { Inbox } from './store/types.js';

/** What the requests of an away agent need from the relay. */
export interface AwayContext {
  readonly local: LocalTunnels<AgentSession>;
  readonly inbox: Inbox;
  /** The inbox survives this process: a request waiting when the relay stops is kept, not refused. */
  readonly durable: boolean;
  /** Told when the inbox fails (the sender is answered that the request was not kept). */
  readonly onStoreError: (err: Error) => void;
  readonly limits: Pick<RelayLimits, 'maxBodyBytes' | 'bodyIdleTimeoutMs' | 'maxInFlight'>;
  readonly offline: OfflineLimits;
  /** On a cluster node: the agent may come back through another node, and a kept request be for an agent there. */
  readonly cluster?: AwayCluster;
}

/** What the away path of a cluster node asks the other nodes (ClusterNode). */
export interface AwayCluster {
  /** Serves the request through the node holding `tunnel` now, if another one does; false when none took it. */
  elsewhere(req: IncomingMessage, res: ServerResponse, tunnel: string, head: RequestHead, body: Buffer): Promise<boolean>;
  /** A request was kept for `tunnel`: the node its agent is connected to now (if any) delivers it. */
  kept(tunnel: string): Promise<void>;
}

/** How often a request waiting on a cluster node asks the directory whether its agent is back elsewhere. */
const CLUSTER_POLL_MS = 250;

/** Requests and body bytes held for one tunnel while they wait. */
interface Held {
  count: number;
  bytes: number;
}

/**
 * Requests for a tunnel whose agent is away: each waits a little for the agent to come back and is then relayed
 * normally, else kept in the inbox and then (only once it is stored) answered 503 `agent_offline`. Their bodies are in memory while they wait, so per tunnel
 * they are bounded like the rest: at most `maxInFlight` requests (503 `tunnel_busy` beyond) and `offline.maxBytes`
 * bytes of body between them (a request that does not fit is not kept, and counted as dropped); a stalled body gets
 * 408 as it would online.
 */
export class AwayRequests {
  private readonly held = new Map<string, Held>();
  /** Aborted by stop(): waiting requests stop waiting and are answered. */
  private readonly stopping = new AbortController();

  constructor(private readonly ctx: AwayContext) {}

  /** Requests waiting now, over all tunnels. */
  get size(): number {
    let n = 0;
    for (const h of this.held.values()) n += h.count;
    return n;
  }

  /** Handles one request for `tunnel`, whose agent is away (`body`: its body, when it was already read whole). */
  async handle(req: IncomingMessage, res: ServerResponse, tunnel: string, head: RequestHead, body?: Buffer): Promise<void> {
    const held = this.held.get(tunnel) ?? { count: 0, bytes: 0 };
    if (held.count >= this.ctx.limits.maxInFlight) {
      return sendError(res, ErrorCode.TunnelBusy, `tunnel "${tunnel}" has ${this.ctx.limits.maxInFlight} requests waiting for its agent`, { 'Retry-After': '1' });
    }
    this.held.set(tunnel, held);
    held.count++;
    let mine = 0;
    const room = (n: number): boolean => {
      if (held.bytes + n > this.ctx.offline.maxBytes) return false;
      held.bytes += n;
      mine += n;
      return true;
    };
    try {
      await this.wait(req, res, tunnel, head, room, body);
    } finally {
      held.bytes -= mine;
      if (--held.count === 0) this.held.delete(tunnel);
    }
  }

  /** Ends every wait at once (the relay is shutting down). */
  stop(): void {
    this.stopping.abort();
  }

  private async wait(req: IncomingMessage, res: ServerResponse, tunnel: string, head: RequestHead, room: (n: number) => boolean, body?: Buffer): Promise<void> {
    const { local, inbox, limits, offline } = this.ctx;
    const arrivedAt = Date.now();
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    const max = Math.min(offline.maxBytes, limits.maxBodyBytes);
    const read = body ? boundedOf(body, max, room) : await readBounded(req, max, limits.bodyIdleTimeoutMs, room);
    if (read.kind === 'aborted') return;
    if (read.kind === 'idle' || (read.kind === 'too_large' && limits.maxBodyBytes <= offline.maxBytes)) {
      const [code, message] = read.kind === 'idle'
        ? [ErrorCode.RequestTimeout, bodyIdleMessage(limits.bodyIdleTimeoutMs)]
        : [ErrorCode.BodyTooLarge, `request body is over the relay's limit of ${limits.maxBodyBytes} bytes`];
      return refuseAndClose(req, res, code, message);
    }
    if (read.kind !== 'body') {
      inbox.refuse(tunnel).catch(this.ctx.onStoreError);
      return sendOffline(res, tunnel, read.kind === 'no_room' ? 'full' : 'too_large');
    }
    const cancel = AbortSignal.any([gone.signal, this.stopping.signal]);
    const session = await this.waitForAgent(req, res, tunnel, head, read.body, arrivedAt + offline.waitMs, cancel);
    if (session === 'served') return;
    if (session && !res.destroyed) return session.relay(req, res, head, read.body);
    if (this.stopping.signal.aborted && !this.ctx.durable) return sendOffline(res, tunnel, 'stopping');
    try {
      await inbox.keep(tunnel, keptRequest(head, read.body, arrivedAt));
    } catch (err) {
      this.ctx.onStoreError(err as Error);
      return sendOffline(res, tunnel, 'unstored');
    }
    sendOffline(res, tunnel, 'kept');
    this.ctx.cluster?.kept(tunnel).catch(this.ctx.onStoreError);
  }

  /**
   * Waits until `deadline` for the agent of `tunnel` to connect here; on a cluster node also asks the directory now
   * and then whether it came back through another node, and if so the request is served there ('served').
   */
  private async waitForAgent(req: IncomingMessage, res: ServerResponse, tunnel: string, head: RequestHead, body: Buffer, deadline: number, cancel: AbortSignal): Promise<AgentSession | 'served' | undefined> {
    const { local, cluster } = this.ctx;
    if (!cluster) return local.whenOnline(tunnel, deadline - Date.now(), cancel);
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0 || cancel.aborted) return undefined;
      const session = await local.whenOnline(tunnel, Math.min(left, CLUSTER_POLL_MS), cancel);
      if (session || cancel.aborted) return session;
      if (await cluster.elsewhere(req, res, tunnel, head, body)) return 'served';
    }
  }
}
