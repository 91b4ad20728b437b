import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import type { RequestEvent } from '../../src/agent/events.js';
import { formatRequestLine } from '../../src/ui/printers.js';

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
