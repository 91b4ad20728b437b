import { describe, expect, it } from 'vitest';
import { hasHeader, headerCount, headerPairs, headerValue, lastHeaderValue, removeHeader, setHeader } from '../../src/protocol/headers.js';

// Flat lists as Node's rawHeaders give them: any case, repeats kept.
const RAW = ['Host', 'a.example', 'X-Dup', '1', 'content-TYPE', 'application/json', 'x-dup', '2'];

describe('header helpers over flat [name, value, …] lists', () => {
  it('find by name in any case, whatever case the name is asked in', () => {
    expect(headerValue(RAW, 'CONTENT-type')).toBe('application/json');
    expect(headerValue(RAW, 'x-dup')).toBe('1');
    expect(lastHeaderValue(RAW, 'X-DUP')).toBe('2');
    expect(headerValue(RAW, 'missing')).toBeUndefined();
    expect(hasHeader(RAW, 'HOST')).toBe(true);
    expect(hasHeader(RAW, 'accept')).toBe(false);
    expect(headerCount(RAW, 'x-dup')).toBe(2);
    expect(headerCount(RAW, 'accept')).toBe(0);
  });

  it('set keeps the first one’s spelling and place and drops its repeats; a new one goes last, or first when asked', () => {
    expect(setHeader(RAW, 'X-DUP', '9')).toEqual(['Host', 'a.example', 'X-Dup', '9', 'content-TYPE', 'application/json']);
    expect(setHeader(RAW, 'Accept', '*/*')).toEqual([...RAW, 'Accept', '*/*']);
    expect(setHeader(['A', 'b'], 'Host', 'h', 'first')).toEqual(['Host', 'h', 'A', 'b']);
    expect(setHeader(RAW, 'host', 'b.example', 'first').slice(0, 2)).toEqual(['Host', 'b.example']);
  });

  it('remove takes every one of that name; pairs keep the order', () => {
    expect(removeHeader(RAW, 'X-Dup')).toEqual(['Host', 'a.example', 'content-TYPE', 'application/json']);
    expect(removeHeader(RAW, 'nothing')).toEqual(RAW);
    expect(headerPairs(RAW)).toEqual([['Host', 'a.example'], ['X-Dup', '1'], ['content-TYPE', 'application/json'], ['x-dup', '2']]);
  });
});
