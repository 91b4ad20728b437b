import { EventEmitter } from 'node:events';
import { render } from 'ink-testing-library';
import { onTestFinished } from 'vitest';
import type { AgentEventMap, RequestEvent, SignatureCheck } from '../../src/agent/events.js';
import type { Capture } from '../../src/capture/queries.js';
import { InspectorApp } from '../../src/ui/inspector/App.js';
import { InspectorController, type CopyResult, type InspectorActions, type TunnelInfo } from '../../src/ui/inspector/controller.js';
import { detailLines } from '../../src/ui/inspector/detail-lines.js';
import { displayWidth } from '../../src/ui/text.js';
import { diffExchanges } from '../../src/capture/diff.js';
import { diffLines } from '../../src/ui/diff-lines.js';

/** SGR colour sequences (the only escapes the inspector itself writes) removed. */
export function withoutColours(frame: string): string {
  return frame.replace(/\u001b\[[0-9;]*m/g, '');
}

/** Resolves with `check()`'s first truthy result, polling; fails with `describe()` after `timeoutMs`. */
export async function waitFor<T>(check: () => T | undefined | null | false, describe: () => string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out: ${describe()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Times replaced by `HH:MM:SS` and durations by `N ms`, so that frames compare across runs. */
export function normalised(frame: string): string {
  return frame.replace(/\d\d:\d\d:\d\d/g, 'HH:MM:SS').replace(/\d+(\.\d)? (ms|s)\b/g, 'N ms');
}

/** A stored exchange: the capture and its bodies, as a fake store holds them. */
export interface StoredExchange {
  readonly capture: Capture;
  readonly requestBody: Buffer;
  readonly responseBody: Buffer;
}

let counter = 0;

/** A capture with sensible defaults. */
export function capture(fields: Partial<Capture> = {}): Capture {
  counter++;
  return {
    id: `ex${String(counter).padStart(10, '0')}`, time: Date.UTC(2025, 0, 1, 12, 0, counter % 60), tunnel: 'tun', target: 'http://localhost:3000',
    method: 'POST', path: '/hooks', requestHeaders: ['Content-Type', 'application/json'], status: 200, responseHeaders: ['Content-Type', 'text/plain'],
    durationMs: 3.2, requestBytes: 0, responseBytes: 0, requestTruncated: false, responseTruncated: false, missed: false, complete: true, ...fields,
  };
}

/** Fake actions over an in-memory store; every call is recorded. */
export function fakeActions(store: Map<string, StoredExchange>, overrides: Partial<InspectorActions> = {}) {
  const calls: Array<[string, ...unknown[]]> = [];
  const actions: InspectorActions = {
    async loadDetail(id) {
      calls.push(['loadDetail', id]);
      const s = store.get(id);
      if (!s) throw new Error(`no capture with an id starting with "${id}"`);
      return detailLines(s.capture, s.requestBody, s.responseBody);
    },
    async replay(id) {
      calls.push(['replay', id]);
      return `replayed ${id}`;
    },
    async editAndReplay(id) {
      calls.push(['edit', id]);
      return `edited ${id}`;
    },
    async curlCommand(id) {
      calls.push(['curl', id]);
      return `curl -X 'POST' -H 'A: b' 'http://localhost:3000/${id}'`;
    },
    async copy(text): Promise<CopyResult> {
      calls.push(['copy', text]);
      return { copied: true, via: 'fakeclip' };
    },
    async loadDiff(a, b) {
      calls.push(['diff', a, b]);
      const [x, y] = [store.get(a), store.get(b)];
      if (!x || !y) throw new Error(`no capture with an id starting with "${x ? b : a}"`);
      return diffLines(diffExchanges(x, y));
    },
    async searchBodies(needle, ids) {
      calls.push(['search', needle, ids.length]);
      return new Set(ids.filter((id) => store.get(id)?.requestBody.toString().toLowerCase().includes(needle.toLowerCase())));
    },
    quit() {
      calls.push(['quit']);
    },
    ...overrides,
  };
  return { actions, calls };
}

/** The inspector on ink-testing-library at a given size, with an agent event emitter and a fake store. */
export function inspector(options: { size?: { columns: number; rows: number }; overrides?: Partial<InspectorActions>; maxRows?: number; info?: Partial<TunnelInfo> } = {}) {
  const store = new Map<string, StoredExchange>();
  const { actions, calls } = fakeActions(store, options.overrides);
  const events = new EventEmitter<AgentEventMap>();
  const size = options.size ?? { columns: 80, rows: 24 };
  const controller = new InspectorController({ url: 'http://127.0.0.1:7071/t/abc123', target: 'http://localhost:3000', relay: 'http://127.0.0.1:7071', embedded: true, ...options.info }, actions, {
    flushMs: 5, size, maxRows: options.maxRows,
  });
  controller.attach(events);
  const ui = render(<InspectorApp controller={controller} />);
  onTestFinished(() => {
    ui.unmount();
    controller.dispose();
  });
  const frame = (): string => ui.lastFrame() ?? '';
  const text = (): string => withoutColours(frame());

  /** An exchange as the agent reports it (start, then request), stored in the fake store too. */
  const exchange = (c: Partial<Capture> = {}, bodies: { request?: Buffer | string; response?: Buffer | string; signature?: SignatureCheck } = {}): Capture => {
    const requestBody = Buffer.from(bodies.request ?? '');
    const responseBody = Buffer.from(bodies.response ?? '');
    const full = capture({ requestBytes: requestBody.length, responseBytes: responseBody.length, signature: bodies.signature, ...c });
    store.set(full.id, { capture: full, requestBody, responseBody });
    events.emit('exchange-start', { id: full.id, time: full.time, tunnel: full.tunnel, target: full.target, method: full.method, path: full.path, headers: full.requestHeaders, replayOf: full.replayOf,
      tunnelName: full.tunnelName, route: full.route, mode: full.mode, ackAttempt: full.ackAttempt });
    const e: RequestEvent = {
      type: 'request', id: full.id, method: full.method, path: full.path, status: full.status, durationMs: full.durationMs,
      requestBytes: full.requestBytes, responseBytes: full.responseBytes, error: full.error, message: full.message, replayOf: full.replayOf, signature: full.signature,
      route: full.route, mode: full.mode, ackAttempt: full.ackAttempt,
      ...(full.upgrade ? { upgrade: full.upgrade } : {}),
      deliveryId: full.deliveryId, redeliveryOf: full.redeliveryOf, attempt: full.attempt,
    };
    events.emit('request', e);
    return full;
  };

  return {
    controller, events, store, calls, frame, text, exchange, size,
    /** Types keys as a person would, one write per key. */
    press(...keys: string[]): void {
      for (const k of keys) ui.stdin.write(k);
    },
    /** Waits until the frame (colours removed) contains `needle` or matches it. */
    async see(needle: string | RegExp, timeoutMs?: number): Promise<string> {
      return waitFor(() => {
        const t = text();
        return (typeof needle === 'string' ? t.includes(needle) : needle.test(t)) && t;
      }, () => `frame with ${String(needle)}; last frame:\n${text()}`, timeoutMs);
    },
    /** Waits until the frame no longer contains `needle`. */
    async gone(needle: string): Promise<void> {
      await waitFor(() => !text().includes(needle), () => `frame without ${needle}; last frame:\n${text()}`);
    },
    /** Every line of the frame fits the terminal width. */
    widest(): number {
      return Math.max(...text().split('\n').map(displayWidth));
    },
  };
}

/** Keys as a terminal sends them. */
export const KEY = {
  up: '\u001b[A', down: '\u001b[B', enter: '\r', escape: '\u001b', ctrlC: '\u0003', pageDown: '\u001b[6~', backspace: '\u007f',
} as const;
