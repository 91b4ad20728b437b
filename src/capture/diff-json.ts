/**
 * A structural diff of two JSON values by path: `$.data.object.amount` changed, `$.items[2]` added. Objects are
 * compared key by key (in a's key order, then b's new keys), arrays index by index. Iterative (an explicit stack),
 * so nesting depth cannot overflow the call stack, and bounded to MAX_JSON_CHANGES changes.
 */

/** Changes reported at most; `cut` says there were more. */
export const MAX_JSON_CHANGES = 1000;

/** One difference at a path. `a` / `b` are the values on each side (absent for an added / removed path). */
export interface JsonChange {
  readonly path: string;
  readonly op: 'changed' | 'added' | 'removed';
  readonly a?: unknown;
  readonly b?: unknown;
}

/** The result of diffJson. */
export interface JsonDiff {
  readonly changes: readonly JsonChange[];
  /** More than MAX_JSON_CHANGES changes: the rest are not listed. */
  readonly cut: boolean;
}

/** Markers of a side that has no value at a path. */
const ADDED = Symbol('added');
const REMOVED = Symbol('removed');

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `$.a`, `$["a b"]`, `$[3]`. */
function child(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function kind(v: unknown): 'object' | 'array' | 'scalar' {
  if (Array.isArray(v)) return 'array';
  return v !== null && typeof v === 'object' ? 'object' : 'scalar';
}

/** The differences between two parsed JSON values, by path from `$`. */
export function diffJson(a: unknown, b: unknown): JsonDiff {
  const changes: JsonChange[] = [];
  const stack: Array<[path: string, a: unknown, b: unknown]> = [['$', a, b]];
  const add = (c: JsonChange): boolean => {
    if (changes.length >= MAX_JSON_CHANGES) return false;
    changes.push(c);
    return true;
  };
  while (stack.length > 0) {
    const [path, x, y] = stack.pop()!;
    if (x === ADDED || y === REMOVED) {
      if (!add(x === ADDED ? { path, op: 'added', b: y } : { path, op: 'removed', a: x })) return { changes, cut: true };
      continue;
    }
    const kx = kind(x);
    if (kx !== kind(y) || kx === 'scalar') {
      if (!Object.is(x, y) && !add({ path, op: 'changed', a: x, b: y })) return { changes, cut: true };
      continue;
    }
    const entries: Array<[string, unknown, unknown]> = [];
    if (kx === 'array') {
      const xs = x as unknown[];
      const ys = y as unknown[];
      for (let i = 0; i < Math.max(xs.length, ys.length); i++) entries.push([child(path, i), i < xs.length ? xs[i] : ADDED, i < ys.length ? ys[i] : REMOVED]);
    } else {
      const xo = x as Record<string, unknown>;
      const yo = y as Record<string, unknown>;
      for (const key of Object.keys(xo)) entries.push([child(path, key), xo[key], Object.hasOwn(yo, key) ? yo[key] : REMOVED]);
      for (const key of Object.keys(yo)) if (!Object.hasOwn(xo, key)) entries.push([child(path, key), ADDED, yo[key]]);
    }
    // Pushed in reverse, so that changes come out in document order.
    for (let i = entries.length - 1; i >= 0; i--) stack.push(entries[i]!);
  }
  return { changes, cut: false };
}
