import WebSocket from 'ws';
import { ErrorCode, HooktunnelError, isHooktunnelError } from '../errors.js';
import {
  CLOSE_REPLACED,
  HANDSHAKE_TIMEOUT_MS,
  HEARTBEAT_INTERVAL_MS,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  VERSION_HEADER,
  decodeRelayControl,
  encodeControl,
  type RelayControl,
} from '../protocol/index.js';
import { batchedSender } from '../transport.js';
import { connectUrl } from './relay-url.js';

export { connectUrl };

/** What the relay said when it accepted the tunnel. */
export interface Welcome {
  readonly tunnel: string;
  readonly url: string;
  readonly secret: string;
}

/** Callbacks of a live link. */
export interface LinkHandlers {
  onFrame(data: Buffer): void;
  onControl(msg: RelayControl): void;
  /**
   * The link is gone; `goingAway` when the relay announced its shutdown first, `replaced` when another agent with
   * this tunnel's secret took the tunnel over (reconnecting would only take it back from that one). Called once.
   */
  onLost(reason: string, goingAway: boolean, replaced: boolean): void;
}

/** What the agent asks for in its hello. */
export interface Hello {
  readonly tunnel?: string;
  readonly secret?: string;
  /** SHA-256 hex of `user:pass` that senders must present. */
  readonly auth?: string;
  /** CIDR ranges senders must come from. */
  readonly allow?: readonly string[];
  /** What this agent can do (FEATURE_UPGRADE). */
  readonly features?: readonly string[];
}

/** How to reach the relay. */
export interface DialOptions {
  readonly relay: string;
  /** Sent as `Authorization: Bearer <token>` on the upgrade; never logged. */
  readonly token?: string;
  /** Extra CA certificates (PEM) to trust for a `wss://` relay with a private CA. */
  readonly ca?: string | Buffer;
  readonly heartbeatMs: number;
}

/**
 * One WebSocket connection to the relay, from the handshake to its loss. Once ready it pings every heartbeat and
 * counts the link as alive only while the relay confirms (pong with `owned: true`) that this connection still owns
 * the tunnel: a link that is open but deaf is dropped after 2.4 heartbeats without confirmation.
 */
export class Link {
  private readonly sendFrame: (frame: Buffer | string) => void;
  private timer: NodeJS.Timeout | undefined;
  private confirmedAt = Date.now();
  private goingAway = false;
  private lost = false;
  private ready = false;
  /**
   * Messages that arrived after `ready`, held until the agent has made the link its own and told its subscribers
   * (see `release`): a request the relay sends right behind `ready` must not be forwarded before anyone listens.
   */
  private held: Array<[data: Buffer, isBinary: boolean]> | undefined = [];

  private constructor(
    private readonly ws: WebSocket,
    private readonly handlers: LinkHandlers,
    private readonly heartbeatMs: number,
  ) {
    this.sendFrame = batchedSender(ws);
  }

  /** Dials `relay`, says hello and resolves once the relay is ready; rejects with a HooktunnelError saying why not. */
  static dial(options: DialOptions, hello: Hello, handlers: LinkHandlers): Promise<{ link: Link; welcome: Welcome }> {
    const { relay, heartbeatMs = HEARTBEAT_INTERVAL_MS } = options;
    const ws = new WebSocket(connectUrl(relay), {
      headers: { [VERSION_HEADER]: String(PROTOCOL_VERSION), ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
      ...(options.ca ? { ca: options.ca } : {}),
      perMessageDeflate: false,
      maxPayload: MAX_FRAME_BYTES,
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      // An all-zero mask lets ws skip masking (and the relay skip unmasking) every body byte. Masking protects
      // intermediaries from payloads chosen by a hostile browser script; our agent->relay payloads are the
      // developer's own target's responses, not a script's, so the protection buys nothing here.
      generateMask: (mask: Buffer) => void mask.fill(0),
    });
    const link = new Link(ws, handlers, heartbeatMs);
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (err: HooktunnelError): void => {
        if (settled) return;
        settled = true;
        ws.terminate();
        reject(err);
      };
      const timer = setTimeout(() => fail(new HooktunnelError(ErrorCode.RelayUnreachable, `relay ${relay} did not complete the handshake in time`)), HANDSHAKE_TIMEOUT_MS);
      ws.on('unexpected-response', (_req, res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => fail(refusalFromBody(res.statusCode ?? 0, Buffer.concat(parts).toString('utf8'))));
        res.on('error', () => fail(new HooktunnelError(ErrorCode.RelayUnreachable, `relay answered ${res.statusCode} to the connect request`)));
      });
      ws.on('error', (err) => fail(new HooktunnelError(ErrorCode.RelayUnreachable, `cannot reach relay ${relay}: ${describe(err)}`, { cause: err })));
      ws.on('close', (code: number) => {
        clearTimeout(timer);
        fail(new HooktunnelError(ErrorCode.RelayUnreachable, `relay ${relay} closed the connection during the handshake`));
        link.onClose(code);
      });
      ws.on('open', () => ws.send(encodeControl({ type: 'hello', ...hello })));
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (settled) return link.onMessage(data, isBinary);
        try {
          const msg = isBinary ? undefined : decodeRelayControl(data.toString('utf8'));
          if (msg?.type === 'ready') {
            settled = true;
            clearTimeout(timer);
            link.startHeartbeat();
            resolve({ link, welcome: { tunnel: msg.tunnel, url: msg.url, secret: msg.secret } });
          } else if (msg?.type === 'refused') {
            fail(new HooktunnelError(msg.code as ErrorCode, `relay refused the tunnel: ${msg.message}`));
          } else {
            fail(new HooktunnelError(ErrorCode.ProtocolError, 'the relay sent something other than ready or refused'));
          }
        } catch (err) {
          if (!isHooktunnelError(err)) throw err;
          fail(err);
        }
      });
    });
  }

  /**
   * Hands the messages held since `ready` to the handlers, in order, and every later one as it arrives. The agent
   * calls it once the link is its own and `ready` has been emitted, so nothing is forwarded, acknowledged or
   * reported before its subscribers are in place.
   */
  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const [data, isBinary] of held) {
      if (this.lost) return;
      this.onMessage(data, isBinary);
    }
  }

  /** Sends a binary frame (batched per event-loop turn). */
  send(frame: Buffer): void {
    this.sendFrame(frame);
  }

  /** Sends a control message. */
  control(msg: Parameters<typeof encodeControl>[0]): void {
    this.sendFrame(encodeControl(msg));
  }

  /** Closes the link on purpose; resolves once the socket is closed. onLost is not called. */
  async close(code: number, reason: string): Promise<void> {
    this.lost = true;
    clearInterval(this.timer);
    if (this.ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close(code, reason);
      setTimeout(() => this.ws.terminate(), 1000).unref();
    });
  }

  /** Drops the link at once (a dead or deaf connection); onLost is called. */
  drop(reason: string): void {
    this.ws.terminate();
    this.lose(reason);
  }

  private startHeartbeat(): void {
    this.ready = true;
    this.confirmedAt = Date.now();
    // Ping every heartbeat, check five times as often: a link whose ownership has not been confirmed for 2.4
    // heartbeats (12 s by default, two lost pongs) is dropped, so a stall is noticed within 13 s of the last pong.
    let tick = 0;
    this.timer = setInterval(() => {
      const silentMs = Date.now() - this.confirmedAt;
      if (silentMs > 2.4 * this.heartbeatMs) return this.drop(`the relay has not confirmed the tunnel for ${(silentMs / 1000).toFixed(1)} s`);
      if (++tick % 5 === 0) this.control({ type: 'ping' });
    }, this.heartbeatMs / 5);
    this.timer.unref();
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (this.held) return void this.held.push([data, isBinary]);
    if (isBinary) return this.handlers.onFrame(data);
    let msg: RelayControl;
    try {
      msg = decodeRelayControl(data.toString('utf8'));
    } catch (err) {
      if (!isHooktunnelError(err)) throw err;
      return this.drop(err.message);
    }
    if (msg.type === 'pong') {
      if (!msg.owned) return this.drop('the relay no longer routes the tunnel to this connection');
      this.confirmedAt = Date.now();
      return;
    }
    if (msg.type === 'going_away') this.goingAway = true;
    this.handlers.onControl(msg);
  }

  private onClose(code: number): void {
    if (!this.ready) return;
    if (code === CLOSE_REPLACED) {
      return this.lose('another agent took this tunnel over with its secret (is the same data directory in use in another terminal?)', true);
    }
    this.lose(this.goingAway ? 'the relay is restarting' : 'the connection to the relay closed');
  }

  private lose(reason: string, replaced = false): void {
    if (this.lost) return;
    this.lost = true;
    clearInterval(this.timer);
    this.handlers.onLost(reason, this.goingAway, replaced);
  }
}

function describe(err: Error): string {
  const code = (err as { code?: string }).code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND') return 'host not found';
  if (code && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) return `the relay's TLS certificate is not trusted (${code}); pass its CA with --ca`;
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
