import { Readable } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { RESPONSE_MODES, deliveryState, newExchangeId, type ResponseMode } from '../model/exchange.js';
import { setHeader } from '../protocol/headers.js';
import type { RequestHead } from '../protocol/index.js';
import { forwardDetached } from './detached.js';
import type { RequestEvent } from './events.js';
import type { AgentExchange, ExchangeHost } from './exchange.js';
import { Forwarder, type ForwardHandler, type ForwardRequest } from './forward.js';
import type { AgentRoute, FixedAnswer } from './routes.js';
import type { Target } from './target.js';
import type { UpgradeHandler, UpgradeRequest } from './upgrade.js';

/** What a route forwards with: a pool to its target, or an answer of its own. */
export interface Dispatch {
  readonly target: Target;
  forward(req: ForwardRequest, handler: ForwardHandler): void;
  /** Forwards an upgrade request; a dispatch without it answers upgrades as any request (`mock`, `fail`). */
  upgrade?(req: UpgradeRequest, handler: UpgradeHandler): void;
  close(): Promise<void>;
}

/** The most an `ack` route holds of one request body in memory before answering (the relay's own cap is larger). */
export const ACK_MAX_BODY_BYTES = 10 * 1024 * 1024;

function rawHeaders(answer: FixedAnswer, bodyBytes: number): Buffer[] {
  const headers = setHeader(answer.headers, 'Content-Length', String(bodyBytes));
  return headers.map((v) => Buffer.from(v, 'latin1'));
}

/** Reads a request body whole (up to `max` bytes; undefined past it). */
async function readWhole(body: ForwardRequest['body'], max: number): Promise<Buffer | undefined> {
  if (body === null) return Buffer.alloc(0);
  if (Buffer.isBuffer(body)) return body.length > max ? undefined : body;
  const parts: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of body as Readable) {
    bytes += (chunk as Buffer).length;
    if (bytes > max) {
      body.destroy();
      return undefined;
    }
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts, bytes);
}

/** Plays a fixed answer to an exchange as a target would: head, body, end. */
function answerWith(handler: ForwardHandler, answer: FixedAnswer): void {
  handler.onConnect(() => {});
  handler.onHeaders(answer.status, rawHeaders(answer, answer.body.length), () => {}, STATUS_CODES[answer.status] ?? '');
  if (answer.body.length > 0) handler.onData(answer.body);
  handler.onComplete(null);
}

/**
 * `mock` and `fail`: the request is read (and captured) as usual, nothing is forwarded, and the route's answer goes
 * back to the sender.
 */
export class AnswerDispatch implements Dispatch {
  constructor(
    readonly target: Target,
    private readonly answer: FixedAnswer,
  ) {}

  forward(req: ForwardRequest, handler: ForwardHandler): void {
    readWhole(req.body, Number.MAX_SAFE_INTEGER).then(() => answerWith(handler, this.answer), (err: Error) => handler.onError(err));
  }

  async close(): Promise<void> {}
}

/**
 * `ack`: the sender gets the route's answer as soon as the request body is in, and the request is then delivered to
 * the target in the background, as an exchange of its own (replayOf the acknowledged one), retried with the
 * route's delays while the target is down or answers 5xx. Every attempt is reported and captured.
 */
export class AckDispatch implements Dispatch {
  private readonly pending = new Set<Promise<void>>();
  private closed = false;
  private wake = new Set<() => void>();

  constructor(
    private readonly forwarder: Forwarder,
    private readonly answer: FixedAnswer,
    private readonly retry: NonNullable<AgentRoute['retry']>,
    /** The host the background deliveries report through (the route's, forwarding with `forwarder`). */
    private readonly host: ExchangeHost,
    /** The id of the exchange being acknowledged, by its handler. */
    private readonly idOf: (handler: ForwardHandler) => string,
  ) {}

  get target(): Target {
    return this.forwarder.target;
  }

  /** An upgrade cannot be acknowledged and delivered later: it passes straight through to the route's target. */
  upgrade(req: UpgradeRequest, handler: UpgradeHandler): void {
    this.forwarder.upgrade(req, handler);
  }

  forward(req: ForwardRequest, handler: ForwardHandler): void {
    readWhole(req.body, ACK_MAX_BODY_BYTES).then(
      (body) => {
        if (body === undefined) {
          return answerWith(handler, { status: 413, headers: ['Content-Type', 'text/plain'], body: Buffer.from(`an ack route holds at most ${ACK_MAX_BODY_BYTES} bytes of a request body\n`) });
        }
        answerWith(handler, this.answer);
        const head: RequestHead = { method: req.method, path: req.path, headers: req.headers, remote: '', host: '' };
        const delivery = this.deliver(head, body, this.idOf(handler)).finally(() => this.pending.delete(delivery));
        this.pending.add(delivery);
      },
      (err: Error) => handler.onError(err),
    );
  }

  private async deliver(head: RequestHead, body: Buffer, acked: string): Promise<void> {
    for (let attempt = 1; attempt <= this.retry.attempts && !this.closed; attempt++) {
      const event: RequestEvent = await forwardDetached(this.host, newExchangeId(), head, body, acked, { n: attempt, of: this.retry.attempts });
      if (!event.error && event.status > 0 && event.status < 500) return;
      if (attempt === this.retry.attempts) return;
      const delayMs = this.retry.delaysMs[Math.min(attempt - 1, this.retry.delaysMs.length - 1)] ?? 1000;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.wake.delete(done);
          resolve();
        };
        const timer = setTimeout(done, delayMs);
        this.wake.add(done);
      });
    }
  }

  /** Stops retrying; deliveries under way finish (bounded by the target's timeout). */
  async close(): Promise<void> {
    this.closed = true;
    for (const w of [...this.wake]) w();
    await Promise.all([...this.pending]);
    await this.forwarder.close();
  }
}

/** What the agent gives a route's exchange host: its own reporting, with the route's target shown. */
export type RouteAgent = ExchangeHost & {
  startedAt(ex: AgentExchange, method: string, path: string, headers: readonly string[], target: string, route?: { readonly route: string; readonly mode: ResponseMode }): void;
};

/**
 * An exchange host for one route in one mode: the agent's, with the route's dispatch and target, and the route's
 * name and mode on events (an ack delivery's also says where the deliveries stand).
 */
export function routeHost(agent: RouteAgent, route: AgentRoute, mode: ResponseMode, dispatch: Dispatch): ExchangeHost {
  const display = mode === 'mock' || mode === 'fail' ? `${mode} (route ${route.name})` : dispatch.target.display;
  const tag = { route: route.name, mode };
  return {
    forwarder: dispatch,
    preserveHost: agent.preserveHost,
    send: (frame) => agent.send(frame),
    done: (stream) => agent.done(stream),
    started: (ex, method, path, headers) => agent.startedAt(ex, method, path, headers, display, tag),
    requestBody: (ex, chunk) => agent.requestBody(ex, chunk),
    requestEnded: (ex) => agent.requestEnded(ex),
    responded: (ex, status, headers) => agent.responded(ex, status, headers),
    responseBody: (ex, chunk) => agent.responseBody(ex, chunk),
    finished: (ex, event) => {
      const delivery = event.ackAttempt ? deliveryState({ ...event, complete: true }) : undefined;
      agent.finished(ex, { ...event, ...tag, ...(delivery ? { delivery } : {}) });
    },
    ...(agent.verifier ? { verifier: (head: RequestHead) => agent.verifier!(head) } : {}),
    deliveries: agent.deliveries,
  };
}

/** Answers of the answering modes when a route has none of its own (as a config file's defaults). */
export const DEFAULT_ANSWERS: Readonly<Record<'ack' | 'mock' | 'fail', FixedAnswer>> = {
  ack: { status: 202, headers: ['Content-Type', 'application/json'], body: Buffer.from('{"received":true}') },
  mock: { status: 200, headers: [], body: Buffer.alloc(0) },
  fail: { status: 503, headers: [], body: Buffer.alloc(0) },
};

/** The modes a route can run in: passthrough and ack need a target; mock and fail always have an answer. */
export function modesOf(route: AgentRoute): ResponseMode[] {
  return RESPONSE_MODES.filter((m) => route.target !== undefined || m === 'mock' || m === 'fail');
}

/** The answer a route gives in an answering mode: its own for that mode, else the default. */
export function answerOf(route: AgentRoute, mode: 'ack' | 'mock' | 'fail'): FixedAnswer {
  return route.answers?.[mode] ?? (route.mode === mode ? route.answer : undefined) ?? DEFAULT_ANSWERS[mode];
}

/**
 * One route of a running agent. Its mode can be switched while the agent runs: a request takes the host of the
 * mode current when it arrives (built the first time that mode is used), so exchanges in flight finish as they began.
 */
export class RouteSlot {
  private current: ResponseMode;
  private readonly hosts = new Map<ResponseMode, ExchangeHost>();

  constructor(
    readonly route: AgentRoute,
    private readonly build: (route: AgentRoute, mode: ResponseMode) => ExchangeHost,
  ) {
    this.current = route.mode;
  }

  get mode(): ResponseMode {
    return this.current;
  }

  /** The host for a request arriving now. */
  host(): ExchangeHost {
    let host = this.hosts.get(this.current);
    if (!host) {
      host = this.build(this.route, this.current);
      this.hosts.set(this.current, host);
    }
    return host;
  }

  /** Switches the mode for requests from now on; false when the route cannot run in it (no target). */
  setMode(mode: ResponseMode): boolean {
    if (!modesOf(this.route).includes(mode)) return false;
    this.current = mode;
    return true;
  }
}
