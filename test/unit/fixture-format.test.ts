import { describe, expect, it } from 'vitest';
import { captureToFixture, fixtureBytes, fixtureFileName, fixtureText, parseFixture, parseHar, type Capture } from '../../src/index.js';

const capture = (headers: string[], extra: Partial<Capture> = {}): Capture => ({
  id: 'abc123', time: Date.parse('2026-01-02T03:04:05.000Z'), tunnel: 'tun', target: 'http://localhost:3000', method: 'POST', path: '/hooks?x=1',
  requestHeaders: headers, status: 204, responseHeaders: [], durationMs: 1, requestBytes: 0, responseBytes: 0, requestTruncated: false,
  responseTruncated: false, missed: false, complete: true, ...extra,
});

describe('fixture files', () => {
  it('round-trip: every byte of a binary or text body, headers in order with repeats, through the file text', () => {
    for (const body of [Buffer.from([0, 0xff, 0xc3, 0x28, 10]), Buffer.from('{"a": "é"}\n')]) {
      const headers = ['X-A', '1', 'x-a', '2', 'Content-Type', 'application/json'];
      const f = parseFixture(fixtureText(captureToFixture(capture(headers), body)), 'f.json');
      expect(fixtureBytes(f).equals(body)).toBe(true);
      expect(f.headers).toEqual([['X-A', '1'], ['x-a', '2'], ['Content-Type', 'application/json']]);
      expect(f).toMatchObject({ format: 1, method: 'POST', path: '/hooks?x=1', capturedAt: '2026-01-02T03:04:05.000Z', response: { status: 204 } });
    }
  });

  it('lays the file out as the README shows it: one header pair per line, small values on their field\'s line, a JSON body indented', () => {
    const headers = ['Host', 'localhost:3000', 'Content-Type', 'application/json', 'Stripe-Signature', 't=1,v1=00'];
    const text = fixtureText(captureToFixture(capture(headers, { responseHeaders: ['a', 'b'] }), Buffer.from('{"type":"invoice.paid"}')));
    expect(text).toContain('  "headers": [\n    ["Host", "localhost:3000"],\n    ["Content-Type", "application/json"]\n  ],\n');
    expect(text).toContain('\n  "response": { "status": 204 },\n');
    expect(text).toContain('\n  "secretsRemoved": ["Stripe-Signature"]\n}\n');
    expect(text.startsWith('{\n  "format": 1,\n  "method": "POST",\n')).toBe(true);
    const reserialized = fixtureText(captureToFixture(capture(headers), Buffer.from('{"a":{"b":[1,2]}}'), { reserialize: true }));
    expect(reserialized).toContain('\n  "body": {\n    "a": {\n      "b": [\n        1,\n        2\n      ]\n    }\n  },\n');
    for (const t of [text, reserialized]) expect(parseFixture(t, 'f.json').headers).toEqual([['Host', 'localhost:3000'], ['Content-Type', 'application/json']]);
    expect(fixtureText(captureToFixture(capture([]), Buffer.alloc(0)))).toContain('\n  "headers": [],\n');
  });

  it('names the file by provider and event, else by method and path', () => {
    const stripe = captureToFixture(capture(['Stripe-Signature', 't=1,v1=00']), Buffer.from('{"type":"invoice.paid"}'));
    expect(fixtureFileName(stripe)).toBe('stripe-invoice-paid.json');
    expect(fixtureFileName(captureToFixture(capture([]), Buffer.alloc(0)))).toBe('post-hooks.json');
  });

  it('refuses a file with a wrong field, naming it', () => {
    const good = { format: 1, method: 'POST', path: '/', headers: [], body: '', bodyEncoding: 'utf8' };
    const cases: Array<[object, RegExp]> = [
      [{ ...good, format: 2 }, /^x\.json: format: 2 is not a format/],
      [{ ...good, method: 'PO ST' }, /^x\.json: method:/],
      [{ ...good, path: 'hooks' }, /^x\.json: path:/],
      [{ ...good, body: { a: 1 } }, /^x\.json: body: must be a string/],
      [{ ...good, bodyEncoding: 'base64', body: '***' }, /^x\.json: body: is not base64/],
      [{ ...good, provider: 'paypal' }, /^x\.json: provider: must be one of/],
      [{ ...good, reserialize: 'yes' }, /^x\.json: reserialize:/],
    ];
    for (const [data, message] of cases) expect(() => parseFixture(JSON.stringify(data), 'x.json')).toThrow(message);
  });
});

describe('HAR import', () => {
  it('encodes a postData given only as params as a form, and keeps the query in the path', () => {
    const har = { log: { entries: [{ request: { method: 'POST', url: 'http://a.example:8080/f?q=1', headers: [], postData: { mimeType: 'application/x-www-form-urlencoded', params: [{ name: 'a b', value: 'c&d' }] } }, response: { status: 200, headers: [], content: { size: 2, text: 'ok' } } }] } };
    const [e] = parseHar(JSON.stringify(har), 'h.har');
    expect(e!.request.toString()).toBe('a+b=c%26d');
    expect(e!.head).toMatchObject({ path: '/f?q=1', target: 'http://a.example:8080', tunnel: 'imported' });
    expect(e!.response.toString()).toBe('ok');
    expect(() => parseHar('{"log":{"entries":[{"request":{"method":"GET","url":"/relative"}}]}}', 'h.har')).toThrow(/h\.har: log\.entries\[0\]\.request\.url: "\/relative" is not an absolute URL/);
  });
});
