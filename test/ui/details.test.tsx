import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { inspector, KEY } from './harness.js';

describe('inspector details', () => {
  it('Enter opens the selected exchange: request line, query, headers, JSON body pretty-printed; response status, headers, body', async () => {
    const ui = inspector({ size: { columns: 80, rows: 60 } });
    ui.exchange(
      { method: 'POST', path: '/hooks/github?ref=main&n=2', requestHeaders: ['Content-Type', 'application/json', 'X-GitHub-Event', 'push'], responseHeaders: ['Content-Type', 'text/plain', 'X-Served-By', 'dev'], status: 201 },
      { request: '{"action":"opened","pr":{"number":7,"draft":false,"labels":[]}}', response: 'created' },
    );
    await ui.see('/hooks/github');

    ui.press(KEY.enter);
    const frame = await ui.see('Response body');

    expect(frame).toContain('POST /hooks/github?ref=main&n=2');
    expect(frame).toContain('ref = main');
    expect(frame).toContain('── Request headers (2) ──');
    expect(frame).toContain('X-GitHub-Event: push');
    expect(frame).toContain(['{', '  "action": "opened",', '  "pr": {', '    "number": 7,', '    "draft": false,', '    "labels": []', '  }', '}'].join('\n'));
    expect(frame).toMatch(/── Response 201 Created · 7 B · 3\.2 ms ──/);
    expect(frame).toContain('X-Served-By: dev');
    expect(frame).toMatch(/Response body ──\ncreated/);
    expect(ui.calls.filter(([c]) => c === 'loadDetail')).toHaveLength(1);

    ui.press(KEY.enter);
    await ui.see('1 request');
    expect(ui.text()).not.toContain('Response body');
  });

  it('decodes forms, shows binary as hex, notes a body cut at the capture limit', async () => {
    const ui = inspector({ size: { columns: 80, rows: 50 } });
    ui.exchange(
      { requestHeaders: ['Content-Type', 'application/x-www-form-urlencoded'], responseHeaders: ['Content-Type', 'application/octet-stream'], responseTruncated: true },
      { request: 'token=abc&text=hello+world&emoji=%F0%9F%98%80', response: Buffer.from([0, 1, 2, 0xff, 0x41, 0x42]) },
    );
    ui.controller.flush();
    ui.press(KEY.enter);

    const frame = await ui.see('Response body');

    expect(frame).toContain('token = abc');
    expect(frame).toContain('text = hello world');
    expect(frame).toContain('emoji = 😀');
    expect(frame).toContain('00000000  00 01 02 ff 41 42');
    expect(frame).toContain('cut at the capture limit');
  });

  it('long bodies scroll with j/k, arrows, pages, g/G; the position is shown', async () => {
    const ui = inspector();
    const body = JSON.stringify(Array.from({ length: 200 }, (_, i) => ({ item: i })));
    ui.exchange({}, { request: body });
    ui.controller.flush();
    ui.press(KEY.enter);
    await ui.see('"item": 0');

    expect(ui.text()).toMatch(/ 1-19\/\d+$/m);
    ui.press('G');
    await ui.see('"item": 199');
    ui.press('g');
    await ui.see('"item": 0');
    ui.press('j', 'j', KEY.down);
    await ui.see(/ 4-22\/\d+$/m);
    ui.press('k', KEY.up);
    await ui.see(/ 2-20\/\d+$/m);
    ui.press(' ');
    await ui.see(/ 21-39\/\d+$/m);
    ui.press(KEY.escape);
    await ui.see('1 request');
  });

  it('in a terminal narrower than the keys line, the scroll position comes first so that it is not cut off', async () => {
    const ui = inspector({ size: { columns: 50, rows: 24 } });
    ui.exchange({}, { request: JSON.stringify(Array.from({ length: 200 }, (_, i) => ({ item: i }))) });
    ui.controller.flush();
    ui.press(KEY.enter);
    await ui.see('"item": 0');
    expect(ui.text()).toMatch(/^1-19\/\d+  ↑↓ scroll/m);
  });

  it('a very long header cannot break the layout: it wraps into a few rows and says how much was left out', async () => {
    const ui = inspector({ size: { columns: 80, rows: 40 } });
    ui.exchange({ requestHeaders: ['Authorization', `Bearer ${'x'.repeat(100_000)}`, 'After', 'still here'] }, { request: 'ok' });
    ui.controller.flush();
    ui.press(KEY.enter);

    const frame = await ui.see('After: still here');

    expect(frame).toMatch(/… \d+ more characters/);
    expect(frame.split('\n').filter((l) => l.includes('xxxxxxxx')).length).toBeLessThanOrEqual(12);
    expect(ui.widest()).toBeLessThanOrEqual(80);
    expect(frame.split('\n')).toHaveLength(39);
  });

  it('a JSON body nested 100,000 deep is shown (indentation capped, lines capped), not a crash', async () => {
    const ui = inspector();
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    ui.exchange({ requestHeaders: ['Content-Type', 'application/json'] }, { request: deep });
    ui.controller.flush();
    ui.press(KEY.enter);

    await ui.see('Request body');
    ui.press('G');
    const frame = await ui.see('more characters of JSON not shown');

    expect(ui.widest()).toBeLessThanOrEqual(80);
    expect(frame).toMatch(/^ {64}\[$/m);
  });

  it('a gzip bomb is previewed decompressed only up to the cap', async () => {
    const ui = inspector();
    const bomb = gzipSync(Buffer.alloc(20 * 1024 * 1024, 'a'));
    ui.exchange({ requestHeaders: ['Content-Encoding', 'gzip', 'Content-Type', 'text/plain'] }, { request: bomb });
    ui.controller.flush();
    ui.press(KEY.enter);

    const frame = await ui.see('decompressed to');

    expect(frame).toMatch(/\(gzip: [\d.]+ KB decompressed to 1\.0 MB, preview cut at 1\.0 MB\)/);
    expect(frame).toContain('aaaaaaaa');
  });

  it('shows the signature check when there is one, and nothing about it when there is none', async () => {
    const ui = inspector();
    ui.exchange({ path: '/plain' });
    ui.exchange({ path: '/signed', signature: { status: 'invalid', provider: 'stripe', reason: 'timestamp' } });
    ui.controller.flush();
    ui.press(KEY.enter);

    let frame = await ui.see('POST /signed');
    expect(frame).toContain('✗ invalid signature (stripe): timestamp');
    ui.press(KEY.enter, 'k', KEY.enter);
    frame = await ui.see('POST /plain');
    expect(frame).not.toMatch(/signature|unsigned|✓|✗/);
  });

  it('an upgraded connection (WebSocket) is marked in the list with its sizes each way, and its detail counts messages', async () => {
    const ui = inspector();
    const upgrade = { protocol: 'websocket', messagesIn: 3, messagesOut: 2, bytesIn: 2048, bytesOut: 1024 };
    ui.exchange({ method: 'GET', path: '/socket', status: 101, upgrade });
    ui.exchange({ method: 'GET', path: '/plain' });
    ui.controller.flush();

    let frame = await ui.see('/plain');
    const row = frame.split('\n').find((l) => l.includes('/socket'))!;
    expect(row).toMatch(/101 .* 2\.0K\/1\.0K ⇅/);
    expect(frame.split('\n').find((l) => l.includes('/plain'))).not.toContain('⇅');
    ui.press('k', KEY.enter);
    frame = await ui.see('GET /socket');
    expect(frame).toContain('⇅ websocket · 3 messages in, 2 out · 2.0 KB in, 1.0 KB out');
  });

  it('an exchange the store does not have shows what the list knows and why', async () => {
    const ui = inspector();
    ui.events.emit('request', { type: 'request', id: 'gone1', method: 'DELETE', path: '/x', status: 204, durationMs: 1, requestBytes: 0, responseBytes: 0 });
    await ui.see('/x');
    ui.press(KEY.enter);

    const frame = await ui.see('no capture with an id');
    expect(frame).toContain('DELETE /x');
    expect(frame).toContain('204 No Content');
  });
});
