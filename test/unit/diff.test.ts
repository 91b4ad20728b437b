import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { diffBodies, diffExchanges, diffHeaders, MAX_STRUCTURED_BYTES } from '../../src/capture/diff.js';
import { diffJson } from '../../src/capture/diff-json.js';
import { diffLines } from '../../src/capture/diff-text.js';
import type { Capture } from '../../src/capture/queries.js';
import { diffLines as renderDiff } from '../../src/ui/diff-lines.js';

const JSON_H = ['Content-Type', 'application/json'];
const b = (s: string | Buffer): Buffer => Buffer.from(s);

function capture(fields: Partial<Capture>): Capture {
  return {
    id: 'aaaa', time: 0, tunnel: 't', target: 'http://localhost:3000', method: 'POST', path: '/hooks', requestHeaders: JSON_H, status: 200,
    responseHeaders: ['Content-Type', 'text/plain'], durationMs: 1, requestBytes: 0, responseBytes: 0, requestTruncated: false, responseTruncated: false,
    missed: false, complete: true, ...fields,
  };
}

describe('diffJson', () => {
  it('reports changed, added and removed paths, arrays by index, in document order', () => {
    const a = { data: { object: { amount: 1000, currency: 'usd', 'odd key': 1 } }, items: [1, 2, 3] };
    const y = { data: { object: { amount: 1200, 'odd key': 1, refunded: false } }, items: [1, 5] };
    expect(diffJson(a, y)).toEqual({
      cut: false,
      changes: [
        { path: '$.data.object.amount', op: 'changed', a: 1000, b: 1200 },
        { path: '$.data.object.currency', op: 'removed', a: 'usd' },
        { path: '$.data.object.refunded', op: 'added', b: false },
        { path: '$.items[1]', op: 'changed', a: 2, b: 5 },
        { path: '$.items[2]', op: 'removed', a: 3 },
      ],
    });
    expect(diffJson({ 'a b': 1 }, { 'a b': 2 }).changes[0]!.path).toBe('$["a b"]');
  });

  it('a type change is one change; equal values none; deep nesting does not overflow; many changes are cut', () => {
    expect(diffJson({ a: [1] }, { a: { 0: 1 } }).changes).toEqual([{ path: '$.a', op: 'changed', a: [1], b: { 0: 1 } }]);
    expect(diffJson({ a: [1, { b: null }] }, { a: [1, { b: null }] }).changes).toEqual([]);
    let deepA: unknown = 1;
    let deepB: unknown = 2;
    for (let i = 0; i < 50_000; i++) {
      deepA = [deepA];
      deepB = [deepB];
    }
    const deep = diffJson(deepA, deepB);
    expect(deep.changes).toHaveLength(1);
    expect(deep.changes[0]!.path.endsWith('[0][0][0]')).toBe(true);
    const many = diffJson(Array.from({ length: 5000 }, (_, i) => i), Array.from({ length: 5000 }, (_, i) => -i - 1));
    expect(many.cut).toBe(true);
    expect(many.changes).toHaveLength(1000);
  });
});

describe('diffLines (text)', () => {
  it('finds the shortest edit with context and skipped runs', () => {
    const a = ['one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight'].join('\n');
    const y = ['one', 'two', 'THREE', 'four', 'five', 'six', 'seven', 'eight', 'nine'].join('\n');
    const d = diffLines(a, y);
    expect(d).toMatchObject({ added: 2, removed: 1, tooLarge: false });
    expect(d.lines).toEqual([
      { op: ' ', text: 'one' }, { op: ' ', text: 'two' }, { op: '-', text: 'three' }, { op: '+', text: 'THREE' }, { op: ' ', text: 'four' }, { op: ' ', text: 'five' },
      { op: 'skip', count: 1 }, { op: ' ', text: 'seven' }, { op: ' ', text: 'eight' }, { op: '+', text: 'nine' },
    ]);
  });

  it('interleaved edits come out minimal; wholly different large texts are bounded and say so', () => {
    const d = diffLines('a\nb\nc\na\nb\nb\na', 'c\nb\na\nb\na\nc');
    // Myers' paper's example: edit distance 5.
    expect(d.added + d.removed).toBe(5);
    const big = (p: string): string => Array.from({ length: 15_000 }, (_, i) => `${p}${i}`).join('\n');
    const started = Date.now();
    const far = diffLines(big('x'), big('y'));
    expect(far).toMatchObject({ tooLarge: true, lines: [] });
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('diffHeaders', () => {
  it('added, removed, changed by name in any case; repeats compared as lists', () => {
    const d = diffHeaders(['Host', 'x', 'X-Old', '1', 'Stripe-Signature', 't=1', 'X-Dup', 'a', 'X-Dup', 'b'], ['host', 'x', 'Stripe-Signature', 't=2', 'X-New', 'v', 'X-Dup', 'a']);
    expect(d.added).toEqual([{ name: 'X-New', values: ['v'] }]);
    expect(d.removed).toEqual([{ name: 'X-Old', values: ['1'] }]);
    expect(d.changed).toEqual([{ name: 'Stripe-Signature', a: ['t=1'], b: ['t=2'] }, { name: 'X-Dup', a: ['a', 'b'], b: ['a'] }]);
    expect(d.reordered).toBeNull();
  });

  it('an order-only change is reported apart, with no add, remove or change', () => {
    const d = diffHeaders(['A', '1', 'B', '2', 'C', '3'], ['B', '2', 'A', '1', 'C', '3']);
    expect(d).toEqual({ added: [], removed: [], changed: [], reordered: { a: ['a', 'b', 'c'], b: ['b', 'a', 'c'] } });
  });
});

describe('diffBodies', () => {
  it('JSON by path when both parse (also gzip), text by lines, binary by size and sha256', () => {
    expect(diffBodies(b('{"x":1}'), JSON_H, b('{"x":2}'), JSON_H)).toEqual({ kind: 'json', cut: false, changes: [{ path: '$.x', op: 'changed', a: 1, b: 2 }] });
    const gz = ['Content-Encoding', 'gzip'];
    expect(diffBodies(gzipSync('{"x":1}'), gz, b('{ "x": 1 }'), [])).toEqual({ kind: 'json', cut: false, changes: [] });
    expect(diffBodies(b('hello\nworld'), [], b('hello\nthere'), [])).toMatchObject({ kind: 'text', added: 1, removed: 1 });
    const bin = diffBodies(Buffer.from([0, 1, 2, 0xff]), [], Buffer.from([0, 1]), []);
    expect(bin).toEqual({
      kind: 'binary',
      a: { bytes: 4, sha256: createHash('sha256').update(Buffer.from([0, 1, 2, 0xff])).digest('hex') },
      b: { bytes: 2, sha256: createHash('sha256').update(Buffer.from([0, 1])).digest('hex') },
    });
    expect(diffBodies(b('same'), [], b('same'), [])).toEqual({ kind: 'same', bytes: 4 });
    const huge = Buffer.alloc(MAX_STRUCTURED_BYTES + 1, 'a');
    expect(diffBodies(huge, [], Buffer.alloc(MAX_STRUCTURED_BYTES + 1, 'b'), []).kind).toBe('binary');
  });
});

describe('diffExchanges', () => {
  it('the request line, status and signatures side by side; the rendering shows the amount change', () => {
    const a = { capture: capture({ id: 'aaaa', signature: { status: 'valid', provider: 'stripe' } }), requestBody: b('{"data":{"object":{"amount":1000}}}'), responseBody: b('ok') };
    const y = { capture: capture({ id: 'bbbb', path: '/other', status: 500, signature: { status: 'invalid', provider: 'stripe', reason: 'mismatch' } }), requestBody: b('{"data":{"object":{"amount":1200}}}'), responseBody: b('ok') };
    const d = diffExchanges(a, y);
    expect(d.same).toBe(false);
    expect(d.request.path).toEqual({ a: '/hooks', b: '/other' });
    expect(d.request.method).toBeNull();
    expect(d.response.status).toEqual({ a: 200, b: 500 });
    expect(d.signature.same).toBe(false);
    const text = renderDiff(d).map((l) => l.map((s) => s.text).join('')).join('\n');
    expect(text).toContain('$.data.object.amount: 1000 → 1200');
    expect(text).toContain('a: valid stripe   b: invalid stripe: mismatch');
    expect(diffExchanges(a, { ...a, capture: { ...a.capture, id: 'cccc' } }).same).toBe(true);
  });
});
