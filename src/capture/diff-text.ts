/**
 * A line diff (Myers' O(ND) algorithm, "An O(ND) Difference Algorithm and Its Variations", 1986), bounded: at most
 * MAX_DIFF_LINES lines a side are compared and at most MAX_EDITS edits are searched for, so a huge or wholly
 * different pair of bodies costs a bounded amount of time and memory and is reported as such.
 */

/** Lines of each side compared at most; the rest is counted, not compared. */
export const MAX_DIFF_LINES = 20_000;
/** Edits (inserted plus deleted lines) searched for at most, after the common head and tail are set aside. */
export const MAX_EDITS = 2_000;
/** Unchanged lines shown around a change. */
const CONTEXT = 2;

/** One line of a text diff: kept (` `), removed from a (`-`), added in b (`+`), or a run of kept lines not shown. */
export type TextDiffLine =
  | { readonly op: ' ' | '-' | '+'; readonly text: string }
  | { readonly op: 'skip'; readonly count: number };

/** The result of diffLines. */
export interface TextDiff {
  readonly lines: readonly TextDiffLine[];
  readonly added: number;
  readonly removed: number;
  /** The texts differ by more than MAX_EDITS lines (or past MAX_DIFF_LINES): `lines` is empty, only counts are known. */
  readonly tooLarge: boolean;
}

type Edit = { op: ' ' | '-' | '+'; text: string };

/** The shortest edit script from `a` to `b`, or undefined when it needs more than `maxEdits` edits. */
function myers(a: readonly string[], b: readonly string[], maxEdits: number): Edit[] | undefined {
  const n = a.length;
  const m = b.length;
  const max = Math.min(n + m, maxEdits);
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= max; d++) {
    trace.push(v.slice());
    // In place: the diagonals of this round's parity read only those of the other parity, from the round before.
    for (let k = -d; k <= d; k += 2) {
      const down = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!);
      let x = down ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) return backtrack(a, b, trace, d, offset);
    }
  }
  return undefined;
}

/** Walks the saved frontiers back from the end to the start: the edit script, in order. */
function backtrack(a: readonly string[], b: readonly string[], trace: readonly Int32Array[], dEnd: number, offset: number): Edit[] {
  const out: Edit[] = [];
  let x = a.length;
  let y = b.length;
  for (let d = dEnd; d >= 0; d--) {
    const v = trace[d]!;
    const k = x - y;
    const down = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!);
    const prevK = down ? k + 1 : k - 1;
    const prevX = d === 0 ? 0 : v[offset + prevK]!;
    const prevY = d === 0 ? 0 : prevX - prevK;
    while (x > prevX && y > prevY) {
      out.push({ op: ' ', text: a[--x]! });
      y--;
    }
    if (d === 0) break;
    if (down) out.push({ op: '+', text: b[--y]! });
    else out.push({ op: '-', text: a[--x]! });
  }
  return out.reverse();
}

/** Keeps the changed lines and CONTEXT kept lines around each; longer runs of kept lines become one `skip`. */
function withContext(edits: readonly Edit[]): TextDiffLine[] {
  const out: TextDiffLine[] = [];
  const near = edits.map(() => false);
  edits.forEach((e, i) => {
    if (e.op === ' ') return;
    for (let j = Math.max(0, i - CONTEXT); j <= Math.min(edits.length - 1, i + CONTEXT); j++) near[j] = true;
  });
  let skipped = 0;
  edits.forEach((e, i) => {
    if (e.op === ' ' && !near[i]) return void skipped++;
    if (skipped > 0) out.push({ op: 'skip', count: skipped });
    skipped = 0;
    out.push(e);
  });
  if (skipped > 0) out.push({ op: 'skip', count: skipped });
  return out;
}

/** A line diff of two texts, with a little context around each change. */
export function diffLines(textA: string, textB: string): TextDiff {
  const a = textA.split('\n');
  const b = textB.split('\n');
  if (a.length > MAX_DIFF_LINES || b.length > MAX_DIFF_LINES) return { lines: [], added: b.length, removed: a.length, tooLarge: true };
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const middle = myers(a.slice(head, a.length - tail), b.slice(head, b.length - tail), MAX_EDITS);
  if (!middle) return { lines: [], added: b.length - head - tail, removed: a.length - head - tail, tooLarge: true };
  const kept = (lines: readonly string[]): Edit[] => lines.map((text) => ({ op: ' ', text }));
  const edits = [...kept(a.slice(0, head)), ...middle, ...kept(a.slice(a.length - tail))];
  return {
    lines: withContext(edits),
    added: middle.filter((e) => e.op === '+').length,
    removed: middle.filter((e) => e.op === '-').length,
    tooLarge: false,
  };
}
