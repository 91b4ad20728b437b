import { EventEmitter } from 'node:events';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { AgentEventMap } from '../../src/agent/events.js';
import { InspectorController, type InspectorActions } from '../../src/ui/inspector/controller.js';
import { commandLines } from '../../src/ui/inspector/curl-lines.js';
import { handleKey } from '../../src/ui/inspector/keys.js';
import { matchesFilter, type ExchangeRow } from '../../src/ui/inspector/rows.js';
import { wantsInspector } from '../../src/ui/inspector/choose.js';
import { execFileSync } from 'node:child_process';
import { toCurl } from '../../src/capture/curl.js';
import type { Capture } from '../../src/capture/queries.js';

function controller(options: { flushMs?: number; maxRows?: number } = {}) {
  const calls: string[] = [];
  const actions: InspectorActions = {
    loadDetail: async (id) => (calls.push(`detail ${id}`), []),
    replay: async () => 'ok',
    editAndReplay: async () => 'ok',
    curlCommand: async () => 'curl',
    copy: async () => ({ copied: false, reason: 'none' }),
    searchBodies: async () => new Set(),
    loadDiff: async () => [],
    quit: () => calls.push('quit'),
  };
  const c = new InspectorController({ url: 'u', target: 't', relay: 'r', embedded: false }, actions, { flushMs: options.flushMs ?? 50, maxRows: options.maxRows });
  const events = new EventEmitter<AgentEventMap>();
  c.attach(events);
  onTestFinished(() => c.dispose());
  let renders = 0;
  c.subscribe(() => renders++);
  return { c, events, calls, renders: () => renders };
}

const request = (i: number, extra: object = {}) => ({
  type: 'request' as const, id: `id${i}`, method: 'POST', path: `/p${i}`, status: i % 10 === 0 ? 502 : 200, durationMs: 1, requestBytes: 1, responseBytes: 1,
  ...(i % 10 === 0 ? { error: 'upstream_unreachable' } : {}), ...extra,
});

describe('inspector controller', () => {
  it('applies thousands of events per second in a few batches, keeps the newest maxRows rows, counts them all', async () => {
    const { c, events, renders, calls } = controller({ flushMs: 50, maxRows: 1000 });
    for (let i = 0; i < 5000; i++) {
      events.emit('exchange-start', { id: `id${i}`, time: i, tunnel: 't', target: 'x', method: 'POST', path: `/p${i}`, headers: [] });
      events.emit('request', request(i));
    }
    expect(c.getState().rows).toHaveLength(0);
    expect(renders()).toBe(0);

    await new Promise((r) => setTimeout(r, 120));

    const state = c.getState();
    expect(renders()).toBe(1);
    expect(state.rows).toHaveLength(1000);
    expect(state.rows[0]!.id).toBe('id4000');
    expect(state.rows.at(-1)!.id).toBe('id4999');
    expect(state.counts).toMatchObject({ requests: 5000, errors: 500 });
    expect(state.selected).toBe(999);
    // Bodies are read only for a detail someone opened.
    expect(calls).toEqual([]);
  });

  it('keeps the selection on its row while rows arrive and old ones are dropped', () => {
    const { c, events } = controller({ maxRows: 5 });
    for (let i = 0; i < 5; i++) events.emit('request', request(i + 1));
    c.flush();
    handleKey(c, 'k', {});
    handleKey(c, 'k', {});
    expect(c.getState().visible[c.getState().selected]!.id).toBe('id3');
    for (let i = 5; i < 7; i++) events.emit('request', request(i + 1));
    c.flush();
    expect(c.getState().visible[c.getState().selected]!.id).toBe('id3');
    expect(c.getState().follow).toBe(false);
    for (let i = 7; i < 12; i++) events.emit('request', request(i + 1));
    c.flush();
    // Its row is gone from memory: the selection stays in place rather than jump.
    expect(c.getState().selected).toBeGreaterThanOrEqual(0);
  });

  it('matches filters on method, path, status and status class', () => {
    const row = { id: 'a', time: 0, method: 'POST', path: '/Hooks/GitHub?x=1', status: 404, durationMs: 0, requestBytes: 0, responseBytes: 0 } as ExchangeRow;
    expect(matchesFilter(row, 'post', false)).toBe(true);
    expect(matchesFilter(row, 'github', false)).toBe(true);
    expect(matchesFilter(row, 'post /hooks', false)).toBe(true);
    expect(matchesFilter(row, '404', false)).toBe(true);
    expect(matchesFilter(row, '4xx', false)).toBe(true);
    expect(matchesFilter(row, '5xx', false)).toBe(false);
    expect(matchesFilter(row, 'stripe', false)).toBe(false);
    expect(matchesFilter(row, 'stripe', true)).toBe(true);
  });
});

describe('choosing the inspector', () => {
  const tty = { stdout: { isTTY: true }, stdin: { isTTY: true } } as never;
  const pipe = { stdout: { isTTY: false }, stdin: { isTTY: true } } as never;
  it('only for a terminal on both ends, without --json or --no-ui, not on a dumb terminal, not under CI', () => {
    expect(wantsInspector({}, tty, { TERM: 'xterm' })).toBe(true);
    expect(wantsInspector({ ui: false }, tty, {})).toBe(false);
    expect(wantsInspector({ json: true }, tty, {})).toBe(false);
    expect(wantsInspector({}, pipe, {})).toBe(false);
    expect(wantsInspector({}, { stdout: { isTTY: true }, stdin: { isTTY: false } } as never, {})).toBe(false);
    expect(wantsInspector({}, tty, { TERM: 'dumb' })).toBe(false);
    expect(wantsInspector({}, tty, { CI: 'true' })).toBe(false);
    expect(wantsInspector({}, tty, { CI: 'false' })).toBe(true);
    expect(wantsInspector({}, tty, { CI_JOB_ID: '1' })).toBe(false);
  });
});

describe('the curl panel', () => {
  it('splits a curl command into lines that bash runs as the same command', () => {
    const capture = {
      id: 'x', time: 0, tunnel: 't', target: 'http://localhost:3000', method: 'POST', path: "/a b?q='1'",
      requestHeaders: ['X-Quote', "it's", 'X-Bytes', '\u00e9\u001b', 'Content-Type', 'application/json'], status: 200, durationMs: 0,
      requestBytes: 3, responseBytes: 0, requestTruncated: false, responseTruncated: false, missed: false, complete: true,
    } satisfies Capture;
    const command = toCurl({ capture, requestBody: Buffer.from([0, 0x0a, 0xff]), responseBody: Buffer.alloc(0) });
    const lines = commandLines(command);
    expect(lines.length).toBeGreaterThan(5);
    expect(lines[0]).toMatch(/^printf %s '[^']+' \|$/);
    // A stand-in curl prints its arguments and what it read: both commands must give the same bytes.
    const run = (script: string): Buffer => execFileSync('bash', ['-c', `curl() { printf '%s\\0' "$@"; cat; }\n${script}`]);
    expect(run(lines.join('\n')).equals(run(command))).toBe(true);
    expect(run(command).includes(Buffer.from([0, 0x0a, 0xff]))).toBe(true);
  });
});
