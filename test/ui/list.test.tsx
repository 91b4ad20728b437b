import { describe, expect, it } from 'vitest';
import { rowLine } from '../../src/ui/inspector/ExchangeList.js';
import { capture, inspector, normalised } from './harness.js';

describe('inspector list', () => {
  it('shows the header (URL, target, relay, state, counters) and waits for requests', async () => {
    const ui = inspector();

    const frame = await ui.see('waiting for requests');

    const [first, second] = frame.split('\n');
    expect(first).toBe('● online  http://127.0.0.1:7071/t/abc123');
    expect(second).toContain('→ http://localhost:3000  ·  0 requests');
    expect(second).toContain('embedded relay: local only');
    expect(frame.split('\n')).toHaveLength(23);
  });

  it('lists exchanges newest at the bottom with time, method, path, status, duration, sizes; the selection follows', async () => {
    const ui = inspector();
    ui.exchange({ method: 'POST', path: '/hooks/github', status: 200, durationMs: 3.1 }, { request: 'x'.repeat(7373), response: 'ok' });
    ui.exchange({ method: 'GET', path: '/missing', status: 404, durationMs: 35 });

    const frame = normalised(await ui.see('/missing'));

    const rows = frame.split('\n').slice(3, 5);
    expect(rows[0]).toMatch(/^ {2}HH:MM:SS POST {4}\/hooks\/github +200 +N ms +7\.2K\/2B/);
    expect(rows[1]).toMatch(/^> HH:MM:SS GET {5}\/missing +404 +N ms +0B\/0B/);
    expect(frame).toContain('2 requests');
    expect(frame).not.toContain('error');
  });

  it('makes relay errors stand out, counts failures, marks replays, missed requests and signatures', async () => {
    const ui = inspector();
    ui.exchange({ path: '/down', status: 502, error: 'upstream_unreachable', message: 'connection refused' });
    ui.exchange({ path: '/slow', status: 504, error: 'upstream_timeout' });
    const original = ui.exchange({ path: '/again' });
    ui.exchange({ path: '/again', replayOf: original.id });
    ui.exchange({ path: '/signed' }, { signature: { status: 'valid', provider: 'github' } });
    ui.exchange({ path: '/forged' }, { signature: { status: 'invalid', provider: 'stripe', reason: 'mismatch' } });
    ui.events.emit('missed', { type: 'missed', id: 'm1', time: Date.now(), tunnel: 't', target: 'x', method: 'POST', path: '/while-away', headers: [], body: Buffer.from('abc'), status: 503 });

    const frame = await ui.see('/while-away');

    const row = (path: string): string => frame.split('\n').find((l) => l.includes(path))!;
    expect(row('/down')).toMatch(/\/down {2}upstream_unreachable +502/);
    expect(row('/slow')).toMatch(/upstream_timeout +504/);
    expect(row('/again')).not.toContain('↻');
    expect(frame.split('\n').filter((l) => l.includes('/again'))[1]).toMatch(/↻/);
    expect(row('/signed')).toMatch(/✓\s*$/);
    expect(row('/forged')).toMatch(/✗\s*$/);
    expect(row('/while-away')).toMatch(/503 .*⏸/);
    expect(frame).toContain('7 requests · 3 errors');
    // Colours (frames in tests may be without them): a relay error's status is red and reversed, a 5xx red.
    const status = (path: string, status: string) => rowLine(ui.controller.getState().rows.find((r) => r.path === path)!, 80, false).find((s) => s.text.trim() === status);
    expect(status('/down', '502')).toMatchObject({ color: 'red', inverse: true, bold: true });
    expect(status('/again', '200')).toMatchObject({ color: 'green' });
  });

  it('shows in-flight exchanges and completes them in place', async () => {
    const ui = inspector();
    ui.events.emit('exchange-start', { id: 'slow1', time: Date.now(), tunnel: 't', target: 'x', method: 'GET', path: '/slow', headers: [] });

    await ui.see(/\/slow +···/);
    ui.events.emit('request', { type: 'request', id: 'slow1', method: 'GET', path: '/slow', status: 201, durationMs: 2500, requestBytes: 0, responseBytes: 5 });

    const frame = await ui.see(/\/slow +201 +2\.5 s/);
    expect(frame.match(/\/slow/g)).toHaveLength(1);
  });

  it('shows earlier captures from the store first, and counts them apart', async () => {
    const ui = inspector();
    ui.controller.seed([capture({ path: '/yesterday-1' }), capture({ path: '/yesterday-2' })]);
    ui.exchange({ path: '/today' });

    const frame = await ui.see('/today');

    const lines = frame.split('\n');
    expect(lines.findIndex((l) => l.includes('/yesterday-1'))).toBeLessThan(lines.findIndex((l) => l.includes('/today')));
    expect(frame).toContain('1 request · embedded relay: local only · 2 earlier');
  });

  it('at 80 columns the header keeps the URL whole while reconnecting, and the relay whole with errors and earlier rows', async () => {
    const ui = inspector({ info: { url: 'https://k3v9x0c2m1qa.relay.example.com', relay: 'wss://relay.example.com', embedded: false } });
    ui.controller.seed([capture({ path: '/yesterday' })]);
    ui.exchange({ path: '/down', status: 502, error: 'upstream_unreachable' });

    const [, online] = (await ui.see('1 error')).split('\n');
    expect(online).toBe('→ http://localhost:3000 · 1 request · 1 error · relay wss://relay.example.com ·…');

    ui.events.emit('state', { type: 'state', state: 'reconnecting', attempt: 3, delayMs: 1700, reason: 'cannot reach relay wss://relay.example.com: connect ECONNREFUSED' });
    const [first, second] = (await ui.see('reconnecting')).split('\n');
    expect(first).toBe('◌ reconnecting  https://k3v9x0c2m1qa.relay.example.com');
    expect(second).toBe('→ http://localhost:3000 · next try in 1.7 s (attempt 3): cannot reach relay wss…');

    ui.events.emit('state', { type: 'state', state: 'offline', reason: 'the relay refused the token' });
    const [gone, why] = (await ui.see('offline')).split('\n');
    expect(gone).toBe('○ offline  https://k3v9x0c2m1qa.relay.example.com');
    expect(why).toBe('→ http://localhost:3000 · the relay refused the token · 1 request · 1 error · 1…');
    expect(ui.widest()).toBeLessThanOrEqual(80);
  });

  it('says that the embedded relay is reachable from this machine only, also with errors and earlier rows at 80 columns', async () => {
    const ui = inspector();
    ui.controller.seed([capture({ path: '/yesterday' })]);
    ui.exchange({ path: '/down', status: 502, error: 'upstream_unreachable' });

    const [, second] = (await ui.see('1 error')).split('\n');
    expect(second).toBe('→ http://localhost:3000 · 1 request · 1 error · embedded relay: local only · 1 …');
  });

  it('keeps a long path and a wide list on one line each, at the terminal width', async () => {
    const ui = inspector();
    ui.exchange({ path: `/${'a'.repeat(20_000)}` });
    ui.exchange({ path: `/${'漢字'.repeat(100)}`, method: 'PROPFIND-VERY-LONG-METHOD' });

    await ui.see('漢字');

    expect(ui.widest()).toBeLessThanOrEqual(80);
    expect(ui.text().split('\n')).toHaveLength(23);
  });

  it('scrolls: with more rows than fit, the newest are on screen and the selection stays visible', async () => {
    const ui = inspector();
    for (let i = 0; i < 60; i++) ui.exchange({ path: `/n${i}` });

    let frame = await ui.see('/n59');
    expect(frame).not.toContain('/n30 ');
    expect(frame.split('\n')).toHaveLength(23);
    ui.press('g');
    frame = await ui.see('> ');
    await ui.see(/> .*\/n0 /);
    expect(ui.text()).not.toContain('/n59');
  });

  it('follows a resize: the controller lays the list out again at the new size', async () => {
    const ui = inspector();
    ui.exchange({ path: '/resize/me' });
    await ui.see('/resize/me');

    ui.controller.setSize({ columns: 100, rows: 40 });

    await ui.see(/^(.*\n){38}.*$/);
    const path = ui.text().split('\n').find((l) => l.includes('/resize/me'))!;
    expect(path.length).toBeGreaterThan(80);
    expect(ui.widest()).toBeLessThanOrEqual(100);
    ui.controller.setSize({ columns: 30, rows: 8 });
    await ui.see('too small: 30×8, needs 40×10');
  });
});
