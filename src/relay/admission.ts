import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { ErrorCode, HooktunnelError, isHooktunnelError } from '../errors.js';
import { CLOSE_REPLACED, CONNECT_PATH, FEATURE_UPGRADE, MAX_FRAME_BYTES, PROTOCOL_VERSION, VERSION_HEADER } from '../protocol/index.js';
import { bearer, isLoopback, parseAllowList, senderAddress, viaProxy, type TokenSet } from './auth.js';
import type { TunnelAccess } from './gate.js';
import { advertisedUrl, awaitHello, refuse } from './handshake.js';
import type { LocalTunnels } from './local.js';
import { sendSocketError } from './respond.js';
import { AgentSession, type SessionHooks } from './session.js';
import type { Claimed, RelayStore } from './store/types.js';
import { secretDigest } from './tunnel-ids.js';

/** What admission needs from the relay. */
export interface AdmissionContext {
  readonly local: LocalTunnels<AgentSession>;
  readonly store: Pick<RelayStore, 'directory' | 'inbox' | 'usage'>;
  /** Told when the store fails; the agent is refused with `relay_store_unavailable`. */
  readonly onStoreError: (err: Error) => void;
  readonly tokens: TokenSet;
  /** Accept agents from any address without a token (`--open`). */
  readonly open: boolean;
  readonly hooks: SessionHooks;
  readonly publicUrl?: string;
  readonly domain?: string;
  readonly tls: boolean;
  /** Behind a reverse proxy (`--trust-proxy`): agents' addresses come from its X-Forwarded-For. */
  readonly trustProxy: boolean;
}

/**
 * Lets agents in: checks the protocol version and the token (or, on a relay without tokens, that the agent is on
 * this machine) before the WebSocket upgrade, then the hello, then registers the tunnel and sends `ready` and any
 * requests kept while it was away. Every refusal is a clear message the agent prints.
 */
export class Admission {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false });

  constructor(private readonly ctx: AdmissionContext) {}

  /** Handles an upgrade request for the connect path. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, path: string): void {
    if (path.split('?')[0] !== CONNECT_PATH) return sendSocketError(socket, 404, 'Not Found', ErrorCode.TunnelNotFound, 'no WebSocket endpoint here');
    const version = req.headers[VERSION_HEADER];
    if (version !== String(PROTOCOL_VERSION)) {
      const message = `this relay speaks hooktunnel protocol ${PROTOCOL_VERSION}, the agent speaks ${version ?? 'none'}: upgrade the older side`;
      return sendSocketError(socket, 426, 'Upgrade Required', ErrorCode.ProtocolUnsupported, message);
    }
    let owner: string;
    if (this.ctx.tokens.enabled) {
      const key = this.ctx.tokens.match(bearer(req.headers.authorization));
      if (!key) return sendSocketError(socket, 401, 'Unauthorized', ErrorCode.Unauthorized, 'this relay needs a valid token (--token or HOOKTUNNEL_TOKEN)');
      owner = `token:${key}`;
    } else {
      const address = senderAddress(req, this.ctx.trustProxy);
      if (!this.ctx.open && !this.ctx.trustProxy && viaProxy(req)) {
        // Behind a proxy on the same machine every agent would look local: refuse rather than be an open relay.
        return sendSocketError(socket, 403, 'Forbidden', ErrorCode.Forbidden, 'this relay has no tokens and a proxy forwarded this agent: start the relay with --token (or --trust-proxy, so that the proxy says where agents come from)');
      }
      if (!this.ctx.open && !isLoopback(address)) {
        return sendSocketError(socket, 403, 'Forbidden', ErrorCode.Forbidden, 'this relay has no tokens and accepts agents from its own machine only (start it with --token, or --open)');
      }
      owner = `addr:${address ?? ''}`;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => void this.admit(ws, req, owner));
  }

  private async admit(ws: WebSocket, req: IncomingMessage, owner: string): Promise<void> {
    ws.on('error', () => ws.terminate());
    let hello;
    try {
      hello = await awaitHello(ws);
    } catch {
      return;
    }
    const { local, store, onStoreError } = this.ctx;
    const session = new AgentSession(ws, this.ctx.hooks);
    let claimed: Claimed;
    let access: TunnelAccess;
    try {
      const allowList = hello.allow?.length ? hello.allow : undefined;
      access = { owner, authDigest: hello.auth, allow: allowList ? parseAllowList(allowList) : undefined, allowList };
      // An agent taking its own tunnel back while the relay still holds the old, half-dead connection replaces it
      // and opens nothing new (claim checks the secret); without this, an owner at the limit could never reconnect.
      const retaking = hello.tunnel !== undefined && local.get(hello.tunnel)?.session.owner === owner;
      if (!retaking && !(await store.usage.canOpen(owner))) throw new HooktunnelError(ErrorCode.RateLimited, 'too many tunnels open for this token');
      claimed = await store.directory.claim(hello.tunnel, hello.secret, access);
      // A stranger's id whose reservation ran out: what was kept for its old owner is not this agent's.
      if (!claimed.inherited) await store.inbox.forget([claimed.id]);
    } catch (err) {
      if (isHooktunnelError(err)) return refuse(ws, err.code, err.message);
      onStoreError(err as Error);
      return refuse(ws, ErrorCode.RelayStoreUnavailable, 'the relay cannot reach its store; try again shortly');
    }
    if (session.isClosed) {
      // The agent went away while the claim was being made: the id is reserved for it as after any disconnect.
      return void store.directory.release(claimed.id, claimed.epoch).catch(onStoreError);
    }
    session.tunnel = claimed.id;
    session.owner = owner;
    session.upgrades = hello.features?.includes(FEATURE_UPGRADE) === true;
    store.usage.count(owner, 1);
    const replaced = local.set(claimed.id, { session, access, epoch: claimed.epoch, secretDigest: secretDigest(claimed.secret).toString('hex') });
    replaced?.session.close(CLOSE_REPLACED, 'replaced by a newer connection of the same owner');
    const url = advertisedUrl(req, claimed.id, { publicUrl: this.ctx.publicUrl, domain: this.ctx.domain, tls: this.ctx.tls });
    session.control({ type: 'ready', tunnel: claimed.id, url, secret: claimed.secret });
    let missed;
    try {
      missed = await store.inbox.pending(claimed.id);
    } catch (err) {
      // The tunnel works; what was kept stays in the store and is offered at the agent's next connection.
      return onStoreError(err as Error);
    }
    session.deliverMissed(missed.items, missed.dropped);
  }
}
