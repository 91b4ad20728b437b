import type { EventEmitter } from 'node:events';
import type { AgentEventMap, ExchangeStart } from '../agent/events.js';
import type { ProviderName, SignatureCheck } from '../model/signature.js';
import { headerValue } from '../protocol/headers.js';
import { eventOf, providerOf } from '../webhooks/identify.js';

/** One side of a finished exchange, with its whole body. */
export interface TestMessage {
  /** Flat `[name, value, …]` list in wire order, repeats kept (as everywhere in hooktunnel). */
  readonly headers: readonly string[];
  readonly body: Buffer;
  /** The first value of header `name`, any case. */
  header(name: string): string | undefined;
  /** The body parsed as JSON (throws when it is not). */
  json<T = unknown>(): T;
}

/** An exchange as a test sees it: the request as the target got it, the target's answer, the signature check. */
export interface TestExchange {
  readonly id: string;
  /** Milliseconds since the epoch when the request arrived at the agent. */
  readonly time: number;
  readonly method: string;
  /** Query included. */
  readonly path: string;
  /** What the sender got: the target's status, or the relay's error status. */
  readonly status: number;
  readonly request: TestMessage;
  /** Undefined when the target never answered (see `error`). */
  readonly response?: TestMessage & { readonly status: number };
  /** With `verify` configured: the signature check of the request. */
  readonly signature?: SignatureCheck;
  /** The provider that sent it, when recognised (from the signature or its headers). */
  readonly provider?: ProviderName;
  /** The provider's event type, when it says one (`payment_intent.succeeded`, `push`). */
  readonly event?: string;
  readonly error?: string;
  readonly message?: string;
  /** Set on replays: the capture id (or fixture name) replayed. */
  readonly replayOf?: string;
}

function message(headers: readonly string[], body: Buffer): TestMessage {
  return { headers, body, header: (name) => headerValue(headers, name), json: <T>() => JSON.parse(body.toString('utf8')) as T };
}

interface Pending {
  readonly start: ExchangeStart;
  readonly request: Buffer[];
  readonly response: Buffer[];
  responseHead?: { status: number; headers: readonly string[] };
}

/**
 * Collects every exchange an agent (or a replay) reports, bodies whole in memory (for tests: the bodies of the
 * exchanges a test makes), and tells `onExchange` of each finished one. Returns a function that detaches it.
 */
export function collectExchanges(events: EventEmitter<AgentEventMap>, onExchange: (e: TestExchange) => void): () => void {
  const pending = new Map<string, Pending>();
  const listeners: { [K in keyof AgentEventMap]?: (...args: AgentEventMap[K]) => void } = {
    'exchange-start': (e) => void pending.set(e.id, { start: e, request: [], response: [] }),
    'request-body': (id, chunk) => void pending.get(id)?.request.push(chunk),
    'exchange-response': (e) => {
      const p = pending.get(e.id);
      if (p) p.responseHead = { status: e.status, headers: e.headers };
    },
    'response-body': (id, chunk) => void pending.get(id)?.response.push(chunk),
    request: (e) => {
      const p = pending.get(e.id);
      if (!p) return;
      pending.delete(e.id);
      const headers = p.start.headers;
      const body = Buffer.concat(p.request);
      const provider = providerOf(headers, e.signature);
      const event = eventOf(provider, headers, body);
      onExchange({
        id: e.id, time: p.start.time, method: e.method, path: e.path, status: e.status, request: message(headers, body),
        ...(p.responseHead ? { response: { ...message(p.responseHead.headers, Buffer.concat(p.response)), status: p.responseHead.status } } : {}),
        ...(e.signature ? { signature: e.signature } : {}), ...(provider ? { provider } : {}), ...(event ? { event } : {}),
        ...(e.error ? { error: e.error } : {}), ...(e.message ? { message: e.message } : {}), ...(e.replayOf ? { replayOf: e.replayOf } : {}),
      });
    },
  };
  const plain = events as unknown as EventEmitter;
  const entries = Object.entries(listeners) as Array<[string, (...args: unknown[]) => void]>;
  for (const [name, listener] of entries) plain.on(name, listener);
  return () => {
    for (const [name, listener] of entries) plain.off(name, listener);
  };
}
