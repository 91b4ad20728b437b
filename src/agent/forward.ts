import type { Readable } from 'node:stream';
import type { Dispatcher, Pool } from 'undici';
import { ErrorCode } from '../errors.js';
import { DEFAULT_UPSTREAM_TIMEOUT_MS } from '../protocol/index.js';
import type { Target } from './target.js';
import { forwardUpgrade, type UpgradeHandler, type UpgradeRequest } from './upgrade.js';

/**
 * Callbacks of one forwarded request. This is undici's dispatch handler protocol (the raw-header form, which
 * keeps header order, case and repeats without building header objects).
 */
export interface ForwardHandler {
  onConnect(abort: (err?: Error) => void): void;
  /** Return false to pause the response body; call `resume` to continue. */
  onHeaders(status: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean;
  /** Return false to pause until `resume` is called. */
  onData(chunk: Buffer): boolean;
  onComplete(trailers: Buffer[] | null): void;
  onError(err: Error): void;
}

/** What to send to the target. */
export interface ForwardRequest {
  readonly method: string;
  /** Path and query as the sender sent them (the target's base path is prepended here). */
  readonly path: string;
  readonly headers: readonly string[];
  readonly body: Buffer | Readable | null;
}

/** Options of a Forwarder. */
export interface ForwarderOptions {
  /** How long to wait for the target's response head. Default 30 s. */
  readonly timeoutMs?: number;
  /** Keep-alive connections to the target at most. Default 128. */
  readonly connections?: number;
}

type Undici = typeof import('undici');

let undici: Promise<Undici> | undefined;

/**
 * undici, imported when the first request is forwarded rather than with this module: it is about a fifth of what an
 * agent loads (60 ms here), and nothing needs it before then, so `hooktunnel <port>` shows its URL without it.
 */
function loadUndici(): Promise<Undici> {
  return (undici ??= import('undici'));
}

/**
 * Starts loading undici now, so that the first request does not wait for it: for the CLI, once the URL is out.
 * A failure to load is reported by the first forward() instead.
 */
export function preloadForwarding(): void {
  loadUndici().catch(() => {});
}

/** Sends requests to one target over a keep-alive connection pool (undici). Shared by the agent and replay. */
export class Forwarder {
  /** Made when undici has loaded; requests forwarded before then wait for it, in order. */
  private pool: Pool | undefined;
  private poolMade: Promise<unknown> | undefined;
  private closed = false;
  private readonly poolOptions: Pool.Options;
  readonly timeoutMs: number;

  constructor(
    readonly target: Target,
    options: ForwarderOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS;
    this.poolOptions = {
      connections: options.connections ?? 128,
      pipelining: 1,
      headersTimeout: this.timeoutMs,
      // Bodies may legitimately pause for long (a slow sender, backpressure); the sender's own close ends them.
      bodyTimeout: 0,
      connect: { autoSelectFamily: true },
    };
  }

  /** Forwards one request; the handler gets the response head, body and end, or the error. */
  forward(req: ForwardRequest, handler: ForwardHandler): void {
    if (this.pool) return this.dispatch(this.pool, req, handler);
    if (this.closed) return handler.onError(new Error('the forwarder is closed'));
    this.poolMade ??= loadUndici().then(({ Pool }) => (this.pool = new Pool(this.target.origin, this.poolOptions)));
    this.poolMade.then(
      () => this.dispatch(this.pool!, req, handler),
      (err: Error) => handler.onError(err),
    );
  }

  /** Forwards an upgrade request (WebSocket) on a connection of its own; see forwardUpgrade. */
  upgrade(req: UpgradeRequest, handler: UpgradeHandler): void {
    if (this.closed) return handler.onError(new Error('the forwarder is closed'));
    forwardUpgrade(this.target, this.timeoutMs, req, handler);
  }

  private dispatch(pool: Pool, req: ForwardRequest, handler: ForwardHandler): void {
    const options: Dispatcher.DispatchOptions = {
      method: req.method as Dispatcher.HttpMethod,
      path: this.target.basePath + req.path,
      headers: req.headers as string[],
      body: req.body,
      // Never retried or pipelined behind another request: a webhook is sent once.
      idempotent: false,
      blocking: true,
    };
    try {
      pool.dispatch(options, handler as unknown as Dispatcher.DispatchHandler);
    } catch (err) {
      handler.onError(err as Error);
    }
  }

  /** Closes the pool's connections (once made: a request still waiting for undici then fails as on a closed pool). */
  async close(): Promise<void> {
    this.closed = true;
    await this.poolMade?.catch(() => {});
    await this.pool?.destroy();
  }
}

/**
 * True when undici reports as a failure a response that is in fact complete: a 304 may carry the Content-Length a
 * 200 would have had (RFC 9110 8.6), and undici 7 counts that as a body that never came.
 */
export function completeDespite(err: Error, status: number | undefined, bodyBytes: number): boolean {
  return status === 304 && bodyBytes === 0 && (err as { code?: string }).code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH';
}

/** Maps a forwarding failure to the error code the sender sees, and a short reason. */
export function classifyForwardError(err: Error, responseStarted: boolean): { code: string; reason: string } {
  const code = (err as { code?: string }).code ?? '';
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return { code: ErrorCode.UpstreamTimeout, reason: 'no response within the timeout' };
  if (code === 'UND_ERR_INVALID_ARG') return { code: ErrorCode.BadRequest, reason: `the request cannot be forwarded: ${err.message}` };
  const reason =
    code === 'ECONNREFUSED' ? 'connection refused' :
    code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' ? 'connection reset' :
    code === 'ENOTFOUND' ? 'host not found' :
    err.message || code || 'unknown error';
  return { code: responseStarted ? ErrorCode.UpstreamAborted : ErrorCode.UpstreamUnreachable, reason };
}
