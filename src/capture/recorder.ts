import type { EventEmitter } from 'node:events';
import type { AgentEventMap, ExchangeStart, MissedEvent, RequestEvent } from '../agent/events.js';
import { REQUEST, RESPONSE, type CaptureStore, type NewCapture } from './store.js';

/** Bodies up to this size stay in memory until the exchange ends (one transaction); larger ones are streamed. */
const BUFFER_BYTES = 64 * 1024;

/** One body on its way into the store: what is buffered, what was written, what was seen. */
class BodyBuffer {
  parts: Buffer[] = [];
  buffered = 0;
  stored = 0;
  seen = 0;
  seq = 0;
  truncated = false;

  constructor(private readonly max: number) {}

  /** Keeps `chunk` up to the cap; beyond it only counts. */
  add(chunk: Buffer): void {
    this.seen += chunk.length;
    const room = this.max - this.stored - this.buffered;
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (kept.length < chunk.length) this.truncated = true;
    this.parts.push(kept);
    this.buffered += kept.length;
  }

  /** Takes the buffered bytes as one chunk. */
  take(): Buffer[] {
    if (this.buffered === 0) return [];
    const chunk = Buffer.concat(this.parts, this.buffered);
    this.stored += this.buffered;
    this.parts = [];
    this.buffered = 0;
    return [chunk];
  }
}

interface Pending {
  row: NewCapture;
  request: BodyBuffer;
  response: BodyBuffer;
  begun: boolean;
}

/**
 * Records every exchange an agent reports into the store: small exchanges in one transaction when they complete,
 * large bodies streamed as chunk rows while they pass (never held whole in memory). A store failure never stops
 * forwarding: `onError` is told once and recording stops.
 */
export function attachRecorder(events: EventEmitter<AgentEventMap>, store: CaptureStore, onError: (err: Error) => void): () => void {
  const pending = new Map<string, Pending>();
  const max = store.options.maxBodyBytes;
  let broken = false;
  const guard = <A extends unknown[]>(fn: (...args: A) => void) => (...args: A): void => {
    if (broken) return;
    try {
      fn(...args);
    } catch (err) {
      broken = true;
      pending.clear();
      onError(err as Error);
    }
  };
  const flushIfLarge = (p: Pending, body: BodyBuffer, direction: number): void => {
    if (body.buffered < BUFFER_BYTES) return;
    if (!p.begun) {
      store.begin(p.row);
      p.begun = true;
    }
    const seq = body.seq;
    const chunks = body.take();
    body.seq += chunks.length;
    store.appendChunks(p.row.id, direction, seq, chunks);
  };

  const onStart = guard((e: ExchangeStart) => {
    pending.set(e.id, { row: startRow(e), request: new BodyBuffer(max), response: new BodyBuffer(max), begun: false });
  });
  const onRequestBody = guard((id: string, chunk: Buffer) => {
    const p = pending.get(id);
    if (!p) return;
    p.request.add(chunk);
    flushIfLarge(p, p.request, REQUEST);
  });
  const onResponse = guard((e: { id: string; status: number; headers: readonly string[] }) => {
    const p = pending.get(e.id);
    if (p) p.row = { ...p.row, status: e.status, res_headers: JSON.stringify(e.headers) };
  });
  const onResponseBody = guard((id: string, chunk: Buffer) => {
    const p = pending.get(id);
    if (!p) return;
    p.response.add(chunk);
    flushIfLarge(p, p.response, RESPONSE);
  });
  const onEnd = guard((e: RequestEvent) => {
    const p = pending.get(e.id);
    if (!p) return;
    pending.delete(e.id);
    const end = {
      status: e.status, res_headers: p.row.res_headers, error: e.error ?? null, message: e.message ?? null, duration_ms: e.durationMs,
      req_bytes: p.request.seen, res_bytes: p.response.seen, req_truncated: Number(p.request.truncated), res_truncated: Number(p.response.truncated),
    };
    if (!p.begun) return store.writeWhole({ ...p.row, ...end }, p.request.take(), p.response.take());
    store.appendChunks(e.id, REQUEST, p.request.seq, p.request.take());
    store.appendChunks(e.id, RESPONSE, p.response.seq, p.response.take());
    store.finish({ id: e.id, ...end });
  });
  const onMissed = guard((e: MissedEvent) => {
    const body = new BodyBuffer(max);
    body.add(e.body);
    store.writeWhole(
      {
        ...startRow({ id: e.id, time: e.time, tunnel: e.tunnel, target: e.target, method: e.method, path: e.path, headers: e.headers }),
        status: e.status, missed: 1, req_bytes: e.body.length, req_truncated: Number(body.truncated),
        error: 'agent_offline', message: 'arrived while the agent was offline; the relay answered and kept it',
      },
      body.take(),
      [],
    );
  });

  events.on('exchange-start', onStart);
  events.on('request-body', onRequestBody);
  events.on('exchange-response', onResponse);
  events.on('response-body', onResponseBody);
  events.on('request', onEnd);
  events.on('missed', onMissed);
  return () => {
    events.off('exchange-start', onStart);
    events.off('request-body', onRequestBody);
    events.off('exchange-response', onResponse);
    events.off('response-body', onResponseBody);
    events.off('request', onEnd);
    events.off('missed', onMissed);
  };
}

function startRow(e: Omit<ExchangeStart, 'replayOf'> & { replayOf?: string }): NewCapture {
  return {
    id: e.id, time: e.time, tunnel: e.tunnel, target: e.target, method: e.method, path: e.path, req_headers: JSON.stringify(e.headers),
    status: 0, res_headers: null, error: null, message: null, duration_ms: 0, req_bytes: 0, res_bytes: 0, req_truncated: 0, res_truncated: 0,
    replay_of: e.replayOf ?? null, missed: 0,
  };
}
