import { EventEmitter } from 'node:events';
import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import type { AgentEventMap, RequestEvent } from '../../src/agent/events.js';
import { attachReporter } from '../../src/ui/reporter.js';
import { LINE_PACE_MS, batchedLines, formatRequestLine } from '../../src/ui/printers.js';

const base: RequestEvent = { type: 'request', id: 'x1', method: 'POST', path: '/hooks?x=1', status: 200, durationMs: 3.1, requestBytes: 1200, responseBytes: 17 };
const colours = new Chalk({ level: 1 });
const plain = new Chalk({ level: 0 });
const clock = (line: string): string => line.replace(/\d\d:\d\d:\d\d/, 'HH:MM:SS');

describe('the line printer', () => {
  it('prints one readable line per exchange: time, method, path, status, duration, sizes', () => {
    expect(clock(formatRequestLine(base, plain))).toBe('HH:MM:SS  POST   /hooks?x=1  200  3.1 ms  1.2 KB -> 17 B');
  });

  it('colours the status by class and an error in red, and writes no colour codes where none are wanted', () => {
    const ok = formatRequestLine(base, colours);
    const notFound = formatRequestLine({ ...base, status: 404 }, colours);
    const failed = formatRequestLine({ ...base, status: 502, error: 'upstream_unreachable', message: 'connection refused' }, colours);

    expect(ok).toContain(`${colours.green('200')}`);
    expect(notFound).toContain(`${colours.yellow('404')}`);
    expect(failed).toContain(`${colours.red('502')}`);
    expect(failed).toContain(`${colours.red('upstream_unreachable')}`);
    expect(formatRequestLine({ ...base, status: 502, error: 'upstream_unreachable' }, plain)).not.toMatch(/\u001b\[/);
  });
});

describe('batched lines', () => {
  const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  it('writes a line after a quiet spell at the end of the turn, then gathers lines until LINE_PACE_MS after that write', async () => {
    const writes: Array<{ text: string; at: number }> = [];
    const out = batchedLines({ write: (text) => writes.push({ text, at: performance.now() }) });
    out.write('a\n');
    out.write('b\n');
    expect(writes).toEqual([]);
    await turn();
    expect(writes.map((w) => w.text)).toEqual(['a\nb\n']);
    // Right after a write: nothing goes out on the next turn, the next lines wait for the pace and leave together.
    out.write('c\n');
    await turn();
    out.write('d\n');
    await turn();
    expect(writes).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, LINE_PACE_MS + 20));
    expect(writes.map((w) => w.text)).toEqual(['a\nb\n', 'c\nd\n']);
    expect(writes[1]!.at - writes[0]!.at).toBeGreaterThanOrEqual(LINE_PACE_MS - 1);
  });

  it('flush() writes what is pending at once and nothing is written twice', async () => {
    const writes: string[] = [];
    const out = batchedLines({ write: (text) => writes.push(text) });
    out.write('a\n');
    await turn();
    out.write('b\n');
    out.flush();
    expect(writes).toEqual(['a\n', 'b\n']);
    await new Promise((resolve) => setTimeout(resolve, LINE_PACE_MS + 20));
    expect(writes).toEqual(['a\n', 'b\n']);
  });
});

describe('reporter: routes and modes', () => {
  it('prints a MODE line when a route is switched, and the route, mode and delivery on request lines', () => {
    const events = new EventEmitter<AgentEventMap>();
    const out: string[] = [];
    const ready = { type: 'ready' as const, url: 'http://127.0.0.1:1/t/a', tunnel: 'a', target: 'http://localhost:3000', relay: 'http://127.0.0.1:1' };
    attachReporter(events, ready, { json: false, embedded: false }, { out: { write: (t) => void out.push(t) }, err: { write: () => {} } });

    events.emit('mode', { type: 'mode', route: 'main', mode: 'mock', previous: 'passthrough' });
    events.emit('request', { type: 'request', id: 'x', method: 'POST', path: '/job', status: 500, durationMs: 1, requestBytes: 1, responseBytes: 0, route: 'queue', mode: 'ack', ackAttempt: { n: 3, of: 3 }, delivery: 'failed', replayOf: 'y' });

    const text = out.slice(1).join('').replace(/\u001b\[[0-9;]*m/g, '');
    expect(text).toMatch(/\d\d:\d\d:\d\d {2}MODE {3}route main: passthrough -> mock\n/);
    expect(text).toContain('route queue (ack)  attempt 3/3, failed, replayable');
  });
});
