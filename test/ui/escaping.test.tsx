import { describe, expect, it } from 'vitest';
import { sanitize } from '../../src/ui/format.js';
import { inspector, KEY, withoutColours } from './harness.js';

/** Sequences a stranger might send to take over a terminal. */
const HOSTILE = {
  clear: '\u001b[2J\u001b[H',
  title: '\u001b]0;pwned\u0007',
  clipboard: '\u001b]52;c;cm0gLXJmIH4=\u0007',
  hyperlink: '\u001b]8;;http://evil.example\u001b\\click\u001b]8;;\u001b\\',
  c1csi: '\u009b31m',
  bidi: 'abc\u202edcba',
  isolate: '\u2066x\u2069',
  bell: 'ding\u0007',
  backspace: 'abc\b\b\bXYZ',
  cr: 'visible\rhidden',
  nul: 'a\u0000b',
  del: 'a\u007fb',
  tag: 'a\u{e0041}b',
};
const ALL = Object.values(HOSTILE).join(' ');

/** A frame holds no control character and no bidi/invisible format character once the inspector's own SGR is removed. */
function assertInert(frame: string): void {
  const text = withoutColours(frame);
  expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u{e0000}-\u{e007f}]/u);
}

describe('escaping what strangers send', () => {
  it('sanitize makes every control and format character a visible escape, and is idempotent', () => {
    expect(sanitize(HOSTILE.clear)).toBe('\\x1b[2J\\x1b[H');
    expect(sanitize(HOSTILE.c1csi)).toBe('\\x9b31m');
    expect(sanitize(HOSTILE.bidi)).toBe('abc\\u{202e}dcba');
    expect(sanitize(HOSTILE.tag)).toBe('a\\u{e0041}b');
    expect(sanitize('\ud800x')).toBe('\\u{d800}x');
    expect(sanitize('\u2028\u2029\u200b\ufeff\u00ad')).toBe('\\u{2028}\\u{2029}\\u{200b}\\u{feff}\\xad');
    expect(sanitize('héllo 漢字 😀')).toBe('héllo 漢字 😀');
    expect(sanitize(sanitize(ALL))).toBe(sanitize(ALL));
  });

  it('in the list: a hostile path and method are shown escaped, on one line', async () => {
    const ui = inspector();
    ui.exchange({ method: `GET${HOSTILE.clear}`, path: `/x${ALL}` });

    const frame = await ui.see('/x\\x1b[2J');

    assertInert(ui.frame());
    expect(frame).toContain('GET\\x1…');
    expect(ui.widest()).toBeLessThanOrEqual(80);
    // The columns still line up: the status is where it is on a plain row.
    ui.exchange({ path: '/plain' });
    const lines = (await ui.see('/plain')).split('\n');
    const at = (needle: string) => lines.find((l) => l.includes(needle))!.indexOf('200');
    expect(at('/x\\x1b')).toBe(at('/plain'));
  });

  it('in the details: path, percent-decoded query, headers, text/JSON/form bodies and the error are escaped', async () => {
    const ui = inspector({ size: { columns: 80, rows: 80 } });
    ui.exchange(
      {
        path: '/hook?q=%1b%5d0%3Btitle%07&rtl=%E2%80%AE&c1=%C2%9B',
        requestHeaders: ['X-Title', HOSTILE.title, 'X-Bidi', HOSTILE.bidi, 'X-Latin1-C1', '\u00c2\u009b31m', 'Content-Type', 'text/plain'],
        responseHeaders: ['Content-Type', 'application/json', 'X-Link', HOSTILE.hyperlink],
        error: `bad${HOSTILE.bell}`,
        message: `failed${HOSTILE.cr}`,
        status: 502,
      },
      { request: `line one \u001b]52;c;cm0gLXJmIH4=\u001b\\\nline two ${HOSTILE.clear} ${HOSTILE.c1csi} ${HOSTILE.bidi}`, response: JSON.stringify({ k: 'v\u202e', [HOSTILE.clear]: 1 }) },
    );
    ui.controller.flush();
    ui.press(KEY.enter);

    const frame = await ui.see('── Error ──');

    assertInert(ui.frame());
    expect(frame).toContain('q = \\x1b]0;title\\x07');
    expect(frame).toContain('rtl = \\u{202e}');
    expect(frame).toContain('c1 = \\x9b');
    expect(frame).toContain('X-Title: \\x1b]0;pwned\\x07');
    expect(frame).toContain('X-Bidi: abc\\u{202e}dcba');
    // A header's latin1 bytes that are UTF-8 for U+009B are shown as that character, escaped.
    expect(frame).toContain('X-Latin1-C1: \\x9b31m');
    expect(frame).toContain('X-Link: \\x1b]8;;http://evil.example\\x1b\\click');
    expect(frame).toContain('line one \\x1b]52;c;cm0gLXJmIH4=\\x1b\\');
    expect(frame).toContain('line two \\x1b[2J\\x1b[H \\x9b31m abc\\u{202e}dcba');
    expect(frame).toContain('"k": "v\\u{202e}"');
    expect(frame).toContain('"\\u001b[2J\\u001b[H": 1');
    expect(frame).toContain('badding\\x07');
    expect(frame).toContain('failedvisible\\x0dhidden');
  });

  it('a body with bells and backspaces is binary: a hex summary with dots for every control byte', async () => {
    const ui = inspector();
    ui.exchange({ requestHeaders: ['Content-Type', 'text/plain'] }, { request: `${HOSTILE.bell} ${HOSTILE.backspace} ${HOSTILE.title}` });
    ui.controller.flush();
    ui.press(KEY.enter);

    const frame = await ui.see('binary,');

    assertInert(ui.frame());
    expect(frame).toContain('00000000  64 69 6e 67 07 20 61 62 63 08 08 08 58 59 5a 20  ding. abc...XYZ');
  });

  it('a form body is decoded, then escaped: %1b never reaches the terminal as ESC', async () => {
    const ui = inspector();
    ui.exchange({ requestHeaders: ['Content-Type', 'application/x-www-form-urlencoded'] }, { request: 'cmd=%1b%5b2J&name=%E2%80%AEevil' });
    ui.controller.flush();
    ui.press(KEY.enter);

    const frame = await ui.see('cmd =');

    assertInert(ui.frame());
    expect(frame).toContain('cmd = \\x1b[2J');
    expect(frame).toContain('name = \\u{202e}evil');
  });

  it('the filter shows what was pasted escaped; the header shows a hostile URL from a relay escaped', async () => {
    const ui = inspector();
    ui.controller.notify(`relay says ${HOSTILE.title}`, 'error');
    ui.press('/');
    await ui.see('filter: █');
    ui.press(`a${HOSTILE.bidi}`);

    await ui.see('filter: aabc');
    assertInert(ui.frame());
    ui.events.emit('state', { type: 'state', state: 'online', url: `http://relay/${HOSTILE.clear}` });
    await ui.see('http://relay/\\x1b[2J');
    assertInert(ui.frame());
  });
});
