import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it, onTestFinished } from 'vitest';
import { searchBodies } from '../../src/capture/search.js';
import { CaptureStore } from '../../src/capture/store.js';
import { copyToClipboard } from '../../src/commands/clipboard.js';
import { runEditor } from '../../src/commands/editor.js';
import { jsonLines } from '../../src/ui/json-lines.js';
import { bodyLines, inflateCapped } from '../../src/ui/inspector/body-lines.js';
import { displayWidth, fit, wrapLine, type StyledLine } from '../../src/ui/text.js';

const plain = (lines: readonly StyledLine[]): string => lines.map((l) => l.map((s) => s.text).join('')).join('\n');

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hooktunnel-ui-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('fitting text to the terminal', () => {
  it('cuts by columns, never inside a wide character, and marks the cut', () => {
    expect(fit('hello', 10)).toBe('hello');
    expect(fit('hello world', 8)).toBe('hello w…');
    expect(fit('漢字漢字漢字', 7)).toBe('漢字漢…');
    expect(displayWidth(fit('漢字漢字漢字', 7))).toBeLessThanOrEqual(7);
    expect(fit('😀😀😀', 4)).toBe('😀…');
    expect(fit('x'.repeat(1_000_000), 20)).toHaveLength(20);
  });

  it('wraps a styled line hard at the width, keeps styles, and cuts an endless line with a note', () => {
    const wrapped = wrapLine([{ text: 'ab', color: 'cyan' }, { text: 'cdefgh' }], 3, 10);
    expect(wrapped.map((l) => l.map((s) => s.text).join(''))).toEqual(['abc', 'def', 'gh']);
    expect(wrapped[0]![0]).toMatchObject({ text: 'ab', color: 'cyan' });
    const long = wrapLine([{ text: 'y'.repeat(100_000) }], 40, 5);
    expect(long).toHaveLength(5);
    expect(plain(long.slice(4))).toMatch(/… 99\d{3} more characters$/);
    for (const l of long) expect(displayWidth(l.map((s) => s.text).join(''))).toBeLessThanOrEqual(40);
    const wide = wrapLine([{ text: 'a漢字漢字' }], 4, 10);
    expect(wide.map((l) => l.map((s) => s.text).join(''))).toEqual(['a漢', '字漢', '字']);
  });
});

describe('pretty-printing JSON', () => {
  it('prints what JSON.stringify(v, null, 2) prints, coloured by token', () => {
    const value = { a: [1, -2.5e3, { b: null, c: [], d: {} }], e: 'x"y\\u00e9', f: [[true, [false]]], '': 0 };
    const lines = jsonLines(JSON.stringify(value), 1000)!;
    expect(plain(lines)).toBe(JSON.stringify(value, null, 2));
    expect(lines[1]!.find((s) => s.text === '"a"')).toMatchObject({ color: 'cyan' });
  });

  it('refuses what is not JSON (the body is shown as text instead)', () => {
    for (const bad of ['{"a":1,}', '[1 2]', '{"a" 1}', '', '{', '[1]]', '{1:2}', '"\u0001"', 'nul']) expect(jsonLines(bad, 100), bad).toBeUndefined();
  });

  it('prints 100,000 levels of nesting without recursion: indentation and lines capped', () => {
    const started = Date.now();
    const lines = jsonLines(`${'{"k":'.repeat(100_000)}1${'}'.repeat(100_000)}`, 3000)!;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(lines.length).toBeLessThanOrEqual(3002);
    expect(plain(lines.slice(-1))).toMatch(/more characters of JSON not shown/);
    expect(Math.max(...lines.map((l) => plain([l]).length))).toBeLessThan(80);
  });

  it('shows a cut preview of a large document as far as it goes', () => {
    expect(plain(jsonLines('{"a": [1, 2', 100, false)!)).toBe('{\n  "a": [\n    1,\n    2');
  });
});

describe('body previews', () => {
  it('decompresses gzip, deflate and br; a bomb only up to the cap', async () => {
    const text = Buffer.from('hello hooks');
    for (const [encoding, packed] of [['gzip', gzipSync(text)], ['deflate', deflateSync(text)], ['br', brotliCompressSync(text)]] as const) {
      expect((await inflateCapped(packed, encoding))?.data.toString(), encoding).toBe('hello hooks');
    }
    // 512 gzip members of 1 MiB of zeros each: 512 MiB once decompressed, about half a MiB on the wire.
    const member = gzipSync(Buffer.alloc(1024 * 1024));
    const bomb = Buffer.concat(Array.from({ length: 512 }, () => member));
    const before = process.memoryUsage().rss;
    const inflated = await inflateCapped(bomb, 'gzip', 1024 * 1024);
    expect(inflated?.data.length).toBe(1024 * 1024);
    expect(inflated?.cut).toBe(true);
    expect(process.memoryUsage().rss - before).toBeLessThan(128 * 1024 * 1024);
  });

  it('a gzip body cut at the capture limit is shown as far as it decodes; a broken one is shown as stored', async () => {
    const packed = gzipSync(Buffer.from(`{"event":"push","data":"${randomBytes(4000).toString('hex')}"}`));
    const cut = await bodyLines({ body: packed.subarray(0, 2000), headers: ['Content-Encoding', 'gzip'], totalBytes: packed.length, truncated: true });
    expect(plain(cut)).toContain('cut at the capture limit');
    expect(plain(cut)).toContain('"event": "push"');
    const broken = await bodyLines({ body: Buffer.from('not gzip at all'), headers: ['Content-Encoding', 'gzip'], totalBytes: 15, truncated: false });
    expect(plain(broken)).toContain('not decoded, shown as stored');
    expect(plain(broken)).toContain('not gzip at all');
  });

  it('a text body cut in the middle of a UTF-8 character is still text', async () => {
    const body = Buffer.from(`${'é'.repeat(40_000)}`);
    const lines = await bodyLines({ body, headers: ['Content-Type', 'text/plain'], totalBytes: body.length, truncated: false });
    expect(plain(lines)).toMatch(/^é+/);
    expect(plain(lines)).toContain('more not shown');
  });
});

describe('body search in the store', () => {
  it('finds inline and streamed bodies, any ASCII case, only among the ids asked, without loading bodies', () => {
    const store = CaptureStore.open(join(tempDir(), 'data'));
    onTestFinished(() => store.close());
    const head = (id: string) => ({ id, time: 1, tunnel: 't', target: 'x', method: 'POST', path: '/', headers: [] });
    const end = { status: 200, durationMs: 1, requestBytes: 0, responseBytes: 0, requestTruncated: false, responseTruncated: false };
    store.writeWhole(head('small'), end, Buffer.from('{"type":"Charge.Succeeded"}'), Buffer.alloc(0));
    store.writeWhole(head('other'), end, Buffer.from('nothing here'), Buffer.from('but CHARGE in the response'));
    const seq = store.begin(head('large'))!;
    store.appendChunk(seq, 0, 0, Buffer.concat([Buffer.alloc(1000, 'a'), Buffer.from('charge'), Buffer.alloc(100_000, 'b')]));
    store.finish(seq, end, 101_006);
    store.writeWhole(head('binary'), end, Buffer.from([0, 0, 0x63, 0x68, 0x61, 0x72, 0x67, 0x65]), Buffer.alloc(0));

    expect([...searchBodies(store, 'charge', ['small', 'other', 'large', 'binary'])].sort()).toEqual(['binary', 'large', 'other', 'small']);
    expect([...searchBodies(store, 'Charge', ['small', 'large'])].sort()).toEqual(['large', 'small']);
    expect(searchBodies(store, 'absent', ['small', 'other', 'large'])).toEqual(new Set());
    expect(searchBodies(store, 'charge', [])).toEqual(new Set());
  });
});

describe('clipboard and editor', () => {
  it('copies with the first usable tool on PATH; with none, says so', async () => {
    const bin = tempDir();
    const out = join(bin, 'copied');
    writeFileSync(join(bin, 'xclip'), `#!/bin/sh\n[ "$1 $2" = "-selection clipboard" ] || exit 3\ncat > '${out}'\n`);
    chmodSync(join(bin, 'xclip'), 0o755);

    expect(await copyToClipboard('curl x', { PATH: bin, DISPLAY: ':0' }, 'linux')).toEqual({ copied: true, via: 'xclip' });
    expect(readFileSync(out, 'utf8')).toBe('curl x');
    expect(await copyToClipboard('curl x', { PATH: bin }, 'linux')).toEqual({ copied: false, reason: 'no clipboard tool found' });
    writeFileSync(join(bin, 'xclip'), '#!/bin/sh\nexit 1\n');
    expect(await copyToClipboard('curl x', { PATH: bin, DISPLAY: ':0' }, 'linux')).toEqual({ copied: false, reason: 'xclip failed' });
  });

  it('runs $VISUAL/$EDITOR with arguments through the shell, the file as one argument; a missing editor is 127', async () => {
    const dir = tempDir();
    const file = join(dir, "body with 'quotes' $HOME.json");
    writeFileSync(file, '{"event":"push"}');

    expect(await runEditor(file, { ...process.env, VISUAL: '', EDITOR: 'sed -i s/push/pull/' })).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe('{"event":"pull"}');
    expect(await runEditor(file, { ...process.env, VISUAL: 'sed -i s/pull/ping/', EDITOR: 'false' })).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe('{"event":"ping"}');
    expect(await runEditor(file, { ...process.env, VISUAL: '', EDITOR: 'no-such-editor-here' })).toBe(127);
  });
});
