import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { shellQuote, toCurl } from '../../src/capture/curl.js';
import { toHar, type CaptureWithBodies } from '../../src/capture/har.js';
import type { Capture } from '../../src/capture/queries.js';
import { applyHeaderOverrides } from '../../src/commands/replay.js';

/** har-validator (the HAR 1.2 JSON schema of har-schema) has no types; `har()` rejects with the schema errors. */
const harValidator = createRequire(import.meta.url)('har-validator') as { har(data: unknown): Promise<unknown> };

const capture = (extra: Partial<Capture> = {}): Capture => ({
  id: 'abc', time: Date.UTC(2026, 0, 2, 3, 4, 5, 6), tunnel: 't', target: 'http://localhost:3000/base', method: 'POST', path: '/hook?a=1&b=%20',
  requestHeaders: ['Host', 'localhost:3000', 'Content-Type', 'application/json'], status: 200, responseHeaders: ['Content-Type', 'text/plain'],
  durationMs: 3.25, requestBytes: 7, responseBytes: 2, requestTruncated: false, responseTruncated: false, missed: false, complete: true, ...extra,
});

/** What bash makes of a word: the bytes `printf %s` writes for it. */
const viaBash = (word: string): Buffer => execFileSync('bash', ['-c', `printf %s ${word}`]);

describe('shellQuote', () => {
  it('gives bash back exactly the bytes of printable, quote-laden, control and latin1 strings', () => {
    for (const s of ['plain', '', "it's", `"$(x)" \`y\` $HOME \\ !`, 'tab\there', 'nl\nend\r', '\x1b[31m', 'caf\xe9', "\x7f'\\"]) {
      // (No NUL: bash strings cannot hold one, and no HTTP header or URL does.)
      const expected = Buffer.from(s, 'latin1');
      expect(viaBash(shellQuote(s)).equals(expected), JSON.stringify(s)).toBe(true);
    }
  });
});

describe('toCurl', () => {
  it('sends the body through base64 into --data-binary, keeps headers in order and clears curl defaults', () => {
    const item: CaptureWithBodies = { capture: capture(), requestBody: Buffer.from([0, 0x0a, 0xff]), responseBody: Buffer.alloc(0) };
    const cmd = toCurl(item);
    expect(cmd).toMatch(/^printf %s 'AAr\/' \| base64 -d \| curl /);
    expect(cmd).toContain("-X 'POST' -H 'Content-Type: application/json' -H 'Host: localhost:3000' -H 'User-Agent:' -H 'Accept:' -H 'Expect:'");
    expect(cmd).toMatch(/--data-binary @- 'http:\/\/localhost:3000\/base\/hook\?a=1&b=%20'$/);
  });

  it('sends no body when there was none, uses --head for HEAD, and keeps empty headers', () => {
    const cmd = toCurl({ capture: capture({ method: 'HEAD', requestHeaders: ['X-Empty', ''] }), requestBody: Buffer.alloc(0), responseBody: Buffer.alloc(0) });
    expect(cmd).toMatch(/^curl --silent --show-error --path-as-is --head -H 'X-Empty;'/);
    expect(cmd).not.toContain('data-binary');
  });
});

describe('toHar', () => {
  it('passes the HAR 1.2 schema with text, binary, truncated, failed and replayed entries', async () => {
    const items: CaptureWithBodies[] = [
      { capture: capture(), requestBody: Buffer.from('{"a":1}'), responseBody: Buffer.from('ok') },
      { capture: capture({ id: 'bin', replayOf: 'abc', requestHeaders: [] }), requestBody: Buffer.from([0, 1, 0xff]), responseBody: Buffer.from([0xfe, 0]) },
      { capture: capture({ id: 'cut', requestBytes: 5000, requestTruncated: true }), requestBody: Buffer.alloc(100, 'a'), responseBody: Buffer.alloc(0) },
      { capture: capture({ id: 'err', status: 502, responseHeaders: undefined, error: 'upstream_unreachable', responseBytes: 0 }), requestBody: Buffer.alloc(0), responseBody: Buffer.alloc(0) },
    ];
    const har = JSON.parse(JSON.stringify(toHar(items, '1.2.3'))) as { log: { entries: Array<Record<string, any>> } };

    await harValidator.har(har);
    const [text, bin, cut, err] = har.log.entries;
    expect(text!.startedDateTime).toBe('2026-01-02T03:04:05.006Z');
    expect(text!.request.url).toBe('http://localhost:3000/base/hook?a=1&b=%20');
    expect(text!.request.queryString).toEqual([{ name: 'a', value: '1' }, { name: 'b', value: ' ' }]);
    expect(text!.request.postData).toEqual({ mimeType: 'application/json', text: '{"a":1}' });
    expect(bin!.request.postData).toEqual({ mimeType: 'application/octet-stream', text: 'AAH/', _encoding: 'base64' });
    expect(bin!.response.content).toMatchObject({ encoding: 'base64', text: '/gA=' });
    expect(bin!._replayOf).toBe('abc');
    expect(cut!.request.postData.comment).toBe('truncated at the capture limit: 100 of 5000 bytes stored');
    expect(err!.response).toMatchObject({ status: 0, headersSize: -1, bodySize: -1 });
    expect(err!._error).toBe('upstream_unreachable');
  });
});

describe('applyHeaderOverrides', () => {
  it('replaces the first header of a name in place, drops its repeats, adds new ones, removes with "Name:"', () => {
    const headers = ['Host', 'h', 'X-A', '1', 'Accept', '*/*', 'x-a', '2', 'X-Drop', 'd'];
    expect(applyHeaderOverrides(headers, ['x-A: new', 'X-New: v', 'X-Drop:'])).toEqual(['Host', 'h', 'X-A', 'new', 'Accept', '*/*', 'X-New', 'v']);
    expect(applyHeaderOverrides(headers, [])).toEqual(headers);
  });
});
