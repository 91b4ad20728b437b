import type { EventEmitter } from 'node:events';
import type { AgentEventMap, ExchangeResponse, ExchangeStart, MissedEvent, RequestEvent } from '../agent/events.js';
import { missedOutcome } from '../model/exchange.js';
import { REQUEST, RESPONSE, type CaptureEnd, type CaptureHead, type Direction } from './schema.js';
import type { CaptureStore } from './store.js';

/** Bodies up to this size stay in memory until the exchange ends (one INSERT); beyond it they are streamed. */
export const BUFFER_BYTES = 64 * 1024;

/** One body on its way into the store: what is buffered, what was written, what was seen. */
class BodyBuffer {
  private parts: Buffer[] = [];
  buffered = 0;
  /** Bytes handed to the store so far. */
  stored = 0;
  /** Bytes that passed, stored or not. */
  seen = 0;
  /** Number of the next chunk row. */
  part = 0;
  truncated = false;

  constructor(private readonly max: number) {}

  /** Keeps `chunk` up to the cap; beyond it only counts. */
  add(chunk: Buffer): void {
    this.seen += chunk.length;
    const room = this.max - this.stored - this.buffered;
    if (chunk.length > room) this.truncated = true;
    if (room <= 0) return;
    this.parts.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
    this.buffered += Math.min(chunk.length, room);
  }

  /**
   * Takes the buffered bytes: the first part as one buffer (a row), later ones as the chunks that arrived, which
   * the store writes to the body file with one writev instead of copying them together first.
   */
  next(): Buffer | Buffer[] {
    return this.part === 0 ? this.take() : this.drain();
  }

  /** Takes the buffered bytes as one buffer. */
  take(): Buffer {
    const bytes = this.buffered;
    const parts = this.drain();
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, bytes);
  }

  /** Takes the buffered chunks as they arrived, counting them as stored. */
  private drain(): Buffer[] {
    const out = this.parts;
    this.stored += this.buffered;
    this.parts = [];
    this.buffered = 0;
    return out;
  }
}

interface Pending {
  readonly head: CaptureHead;
  readonly request: BodyBuffer;
  readonly response: BodyBuffer;
  responseHeaders?: readonly string[];
  /** The request body has arrived whole. */
  requestEnded: boolean;
  /** The row number once the exchange is streamed to the store. */
  seq?: number;
}

/** The recorder's state: exchanges in flight, keyed by id. Each method handles one agent event. */
class Recorder {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly store: CaptureStore,
    private readonly onError: (err: Error) => void,
  ) {}

  start(e: ExchangeStart): void {
    const max = this.store.options.maxBodyBytes;
    this.pending.set(e.id, { head: e, request: new BodyBuffer(max), response: new BodyBuffer(max), requestEnded: false });
  }

  body(id: string, chunk: Buffer, direction: Direction): void {
    const p = this.pending.get(id);
    if (!p) return;
    const body = direction === REQUEST ? p.request : p.response;
    body.add(chunk);
    if (body.buffered < BUFFER_BYTES) return;
    // An id recorded before (a redelivered missed request): nothing more to write for it.
    if (!this.begun(p)) return void this.pending.delete(id);
    this.append(p, direction);
  }

  /**
   * The request body is whole. A streamed exchange gets the rest of it and the mark now, so that a replay after the
   * agent's death knows the body is whole (a chunked one has no Content-Length to tell); a small one is written
   * whole when it ends.
   */
  requestEnd(id: string): void {
    const p = this.pending.get(id);
    if (!p) return;
    p.requestEnded = true;
    if (p.seq !== undefined) this.markRequestComplete(p);
  }

  /** Starts streaming `p` to the store unless it was already; false when its id was recorded before. */
  private begun(p: Pending): boolean {
    if (p.seq !== undefined) return true;
    p.seq = this.store.begin(p.head);
    if (p.seq === undefined) return false;
    // A large response after a small request that has ended: the request is stored (and marked) first.
    if (p.requestEnded) this.markRequestComplete(p);
    return true;
  }

  private append(p: Pending, direction: Direction): void {
    const body = direction === REQUEST ? p.request : p.response;
    this.store.appendChunk(p.seq!, direction, body.part, body.next());
    body.part++;
  }

  private markRequestComplete(p: Pending): void {
    if (p.request.buffered > 0) this.append(p, REQUEST);
    this.store.requestComplete(p.seq!);
  }

  response(e: ExchangeResponse): void {
    const p = this.pending.get(e.id);
    if (p) p.responseHeaders = e.headers;
  }

  /** Commits an exchange that just ended: one INSERT for a small one, the last chunks and the summary for a streamed one. */
  end(e: RequestEvent): void {
    const p = this.pending.get(e.id);
    if (!p) return;
    this.pending.delete(e.id);
    const end = endOf(p, e);
    if (p.seq === undefined) {
      const request = p.request.take();
      const response = p.response.take();
      return this.store.soon(() => void this.store.writeWhole(p.head, end, request, response), this.onError);
    }
    const tail: Array<[Direction, number, Buffer | Buffer[]]> = [];
    if (p.request.buffered > 0) tail.push([REQUEST, p.request.part, p.request.next()]);
    if (p.response.buffered > 0) tail.push([RESPONSE, p.response.part, p.response.next()]);
    this.store.finish(p.seq, end, p.request.stored + p.response.stored, tail);
  }

  missed(e: MissedEvent): void {
    const body = new BodyBuffer(this.store.options.maxBodyBytes);
    body.add(e.body);
    const head: CaptureHead = { id: e.id, time: e.time, tunnel: e.tunnel, target: e.target, method: e.method, path: e.path, headers: e.headers, missed: true };
    // The relay kept the whole request: its body is complete.
    const end: CaptureEnd = {
      ...missedOutcome(e.status, e.body.length), requestTruncated: body.truncated, responseTruncated: false, requestComplete: true, signature: e.signature,
      deliveryId: e.deliveryId, redeliveryOf: e.redeliveryOf, attempt: e.attempt,
    };
    const request = body.take();
    this.store.soon(() => void this.store.writeWhole(head, end, request, Buffer.alloc(0)), this.onError);
  }

  /** Drops an exchange whose recording failed. */
  forget(id: string): void {
    this.pending.delete(id);
  }
}

/**
 * Records every exchange an agent reports into the store: a small exchange in one INSERT when it completes
 * (committed with the others that complete in the same event-loop turn, see `CaptureStore.soon`),
 * larger bodies streamed while they pass (the first chunk a row, the rest a body file; never held whole in memory).
 * A store failure never touches forwarding: the exchange it hit is dropped, `onError` is told of the first failure, recording goes on.
 * Returns a function that detaches the recorder.
 */
export function attachRecorder(events: EventEmitter<AgentEventMap>, store: CaptureStore, onError: (err: Error) => void): () => void {
  let warned = false;
  const report = (err: Error): void => {
    if (!warned) onError(err);
    warned = true;
  };
  const recorder = new Recorder(store, report);
  const guard = <A extends unknown[]>(fn: (...args: A) => void) => (...args: A): void => {
    try {
      fn(...args);
    } catch (err) {
      recorder.forget(idOf(args[0]));
      report(err as Error);
    }
  };
  const listeners: { [K in keyof AgentEventMap]?: (...args: AgentEventMap[K]) => void } = {
    'exchange-start': guard((e) => recorder.start(e)),
    'request-body': guard((id, chunk) => recorder.body(id, chunk, REQUEST)),
    'request-end': guard((id) => recorder.requestEnd(id)),
    'exchange-response': guard((e) => recorder.response(e)),
    'response-body': guard((id, chunk) => recorder.body(id, chunk, RESPONSE)),
    request: guard((e) => recorder.end(e)),
    missed: guard((e) => recorder.missed(e)),
  };
  // The map above is checked against AgentEventMap; subscribing goes through the untyped view.
  const plain = events as unknown as EventEmitter;
  const entries = Object.entries(listeners) as Array<[string, (...args: unknown[]) => void]>;
  for (const [name, listener] of entries) plain.on(name, listener);
  return () => {
    for (const [name, listener] of entries) plain.off(name, listener);
    store.flush();
  };
}

/** The exchange id an event is about: the first argument, or its `id`. */
function idOf(arg: unknown): string {
  return typeof arg === 'string' ? arg : String((arg as { id?: unknown }).id);
}

function endOf(p: Pending, e: RequestEvent): CaptureEnd {
  return {
    status: e.status, responseHeaders: p.responseHeaders, error: e.error, message: e.message, durationMs: e.durationMs,
    requestBytes: p.request.seen, responseBytes: p.response.seen, requestTruncated: p.request.truncated, responseTruncated: p.response.truncated,
    requestComplete: p.requestEnded, signature: e.signature, upgrade: e.upgrade, deliveryId: e.deliveryId, redeliveryOf: e.redeliveryOf, attempt: e.attempt,
  };
}
