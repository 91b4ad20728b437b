import { describe, expect, it } from 'vitest';
import { inspector } from './harness.js';

const TUNNELS = [
  { name: 'hooks', url: 'http://127.0.0.1:7071/t/hooks1', routes: [{ name: 'invoices', mode: 'passthrough' as const }, { name: 'slack', mode: 'mock' as const }] },
  { name: 'admin', url: 'http://127.0.0.1:7071/t/admin1', routes: [{ name: '#1', mode: 'passthrough' as const }] },
];

describe('inspector of a project run', () => {
  it('lists every tunnel with its URL, the routes with their modes, and a tunnel column', async () => {
    const ui = inspector({ info: { tunnels: TUNNELS } });
    ui.exchange({ path: '/stripe', tunnelName: 'hooks', route: 'invoices', mode: 'passthrough' });
    ui.exchange({ path: '/admin/x', tunnelName: 'admin', route: '#1', mode: 'passthrough' });

    const frame = await ui.see('/admin/x');

    const lines = frame.split('\n');
    expect(lines[0]).toBe('● online  hooks  http://127.0.0.1:7071/t/hooks1');
    expect(lines[1]).toBe('          admin  http://127.0.0.1:7071/t/admin1');
    expect(lines[2]).toContain('2 tunnels  ·  2 requests');
    expect(lines[3]).toBe('routes hooks: invoices passthrough, slack mock · admin: #1 passthrough');
    expect(lines[4]).toMatch(/^ {2}time {5}tunnel method +path/);
    expect(lines.find((l) => l.includes('/stripe'))).toMatch(/^ {2}\d\d:\d\d:\d\d hooks  POST +\/stripe +200/);
    expect(lines.find((l) => l.includes('/admin/x'))).toMatch(/^> \d\d:\d\d:\d\d admin  POST +\/admin\/x +200/);
    // Four header lines instead of two: the frame still fits the terminal.
    expect(lines).toHaveLength(23);
    expect(ui.widest()).toBeLessThanOrEqual(80);
  });

  it('one tunnel: no tunnel column', async () => {
    const ui = inspector({ info: { tunnels: [TUNNELS[0]!] } });
    ui.exchange({ path: '/stripe', tunnelName: 'hooks', route: 'invoices' });

    const frame = await ui.see('/stripe');

    expect(frame.split('\n')[0]).toBe('● online  hooks  http://127.0.0.1:7071/t/hooks1');
    expect(frame).not.toMatch(/time +tunnel/);
    expect(frame.split('\n').find((l) => l.includes('/stripe'))).toMatch(/^> \d\d:\d\d:\d\d POST +\/stripe/);
  });

  it('t cycles the tunnel filter; tunnel: and route: words filter, with text', async () => {
    const ui = inspector({ info: { tunnels: TUNNELS } });
    ui.exchange({ path: '/stripe', tunnelName: 'hooks', route: 'invoices' });
    ui.exchange({ path: '/slack', tunnelName: 'hooks', route: 'slack', mode: 'mock' });
    ui.exchange({ path: '/admin/x', tunnelName: 'admin', route: '#1' });
    await ui.see('/admin/x');

    ui.press('t');
    let frame = await ui.see('filter "tunnel:hooks": 2 of 3');
    expect(frame).toContain('/stripe');
    expect(frame).not.toContain('/admin/x');
    ui.press('t');
    frame = await ui.see('filter "tunnel:admin": 1 of 3');
    expect(frame).not.toContain('/stripe');
    ui.press('t');
    await ui.see(/\/stripe[\s\S]*\/admin\/x/);
    expect(ui.controller.getState().filter).toBe('');

    ui.press('/', 'route:slack', '\r');
    frame = await ui.see('filter "route:slack": 1 of 3');
    expect(frame).toContain('/slack');
    expect(frame).not.toContain('/stripe');
    ui.controller.setFilter('tunnel:HOOKS stripe');
    frame = await ui.see('filter "tunnel:HOOKS stripe": 1 of 3');
    expect(frame).not.toContain('/slack');
  });

  it('M switches the selected exchange\'s route and the header follows the mode events; a row without a route says so', async () => {
    const ui = inspector({
      info: { tunnels: TUNNELS },
      overrides: {
        async cycleMode(tunnel, route) {
          ui.calls.push(['cycleMode', tunnel, route]);
          ui.controller.modeChanged(tunnel, route, 'ack');
          return `route ${route} of ${tunnel}: passthrough -> ack`;
        },
      },
    });
    ui.exchange({ path: '/stripe', tunnelName: 'hooks', route: 'invoices', mode: 'passthrough' });
    await ui.see('/stripe');

    ui.press('M');

    const frame = await ui.see('passthrough -> ack');
    expect(ui.calls).toContainEqual(['cycleMode', 'hooks', 'invoices']);
    expect(frame.split('\n')[3]).toBe('routes hooks: invoices ack, slack mock · admin: #1 passthrough');

    ui.exchange({ path: '/plain' });
    await ui.see('/plain');
    ui.press('M');
    await ui.see('this exchange took no route');
  });

  it('the details show tunnel, route, mode and an ack delivery\'s attempt', async () => {
    const ui = inspector({ info: { tunnels: TUNNELS } });
    ui.exchange({ path: '/stripe', tunnelName: 'hooks', route: 'invoices', mode: 'ack', ackAttempt: { n: 3, of: 3 }, status: 503, target: 'http://localhost:4000' });
    const row = await ui.see('/stripe');
    expect(row).toMatch(/\/stripe {2}try 3\/3 failed +503/);

    ui.press('\r');

    const frame = await ui.see('mode ack');
    expect(frame).toContain('tunnel hooks · route invoices · mode ack · → http://localhost:4000 · attempt 3/3');
    expect(frame).toContain(', failed, replayable');
  });

  it('more than four tunnels: three listed and how many more; names line up while reconnecting', async () => {
    const tunnels = ['a', 'b', 'c', 'd', 'e'].map((name) => ({ name, url: `http://127.0.0.1:7071/t/${name}1`, routes: [{ name: '#1', mode: 'passthrough' as const }] }));
    const ui = inspector({ info: { tunnels } });
    ui.events.emit('state', { type: 'state', state: 'reconnecting', attempt: 2, delayMs: 1000, reason: 'connection lost' });

    const frame = await ui.see(/reconnecting[\s\S]*\+2 more/);

    const lines = frame.split('\n');
    expect(lines[0]).toBe('◌ reconnecting  a  http://127.0.0.1:7071/t/a1');
    expect(lines[1]).toBe('                b  http://127.0.0.1:7071/t/b1');
    expect(lines[3]).toBe('                +2 more: d, e');
    expect(lines[4]).toContain('5 tunnels');
    expect(lines[5]).toMatch(/^routes a: #1 passthrough · b: #1 passthrough/);
    expect(lines).toHaveLength(23);
  });
});
