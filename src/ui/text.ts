import stringWidth from 'string-width';

/** Printable ASCII only: one column per character, no need to measure. */
const PLAIN = /^[\x20-\x7e]*$/;

/** Input longer than this is cut before it is measured: no line on screen is wider, and measuring costs. */
const MEASURE_LIMIT = 4096;

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** Columns `text` takes in a terminal (wide CJK and emoji count 2, combining marks 0). */
export function displayWidth(text: string): number {
  return PLAIN.test(text) ? text.length : stringWidth(text);
}

/** Splits `text` into pieces of at most `width` columns, never inside a grapheme. At most `maxPieces` pieces. */
function pieces(text: string, width: number, maxPieces: number): { parts: string[]; rest: number } {
  const parts: string[] = [];
  if (PLAIN.test(text)) {
    for (let i = 0; i < text.length && parts.length < maxPieces; i += width) parts.push(text.slice(i, i + width));
    return { parts, rest: Math.max(0, text.length - parts.length * width) };
  }
  let current = '';
  let used = 0;
  let consumed = 0;
  for (const { segment } of graphemes.segment(text)) {
    const w = stringWidth(segment);
    if (used + w > width && current !== '') {
      parts.push(current);
      if (parts.length >= maxPieces) return { parts, rest: text.length - consumed };
      current = '';
      used = 0;
    }
    current += segment;
    used += w;
    consumed += segment.length;
  }
  if (current !== '' || parts.length === 0) parts.push(current);
  return { parts, rest: 0 };
}

/**
 * `text` cut to `width` columns, with `…` as the last column when something was cut. Measures graphemes, so a wide
 * character is never split and the result never exceeds `width`.
 */
export function fit(text: string, width: number): string {
  if (width <= 0) return '';
  const head = text.length > MEASURE_LIMIT ? text.slice(0, MEASURE_LIMIT) : text;
  if (head.length === text.length && displayWidth(head) <= width) return text;
  if (width === 1) return '…';
  return `${pieces(head, width - 1, 1).parts[0] ?? ''}…`;
}

/** `text` fitted to `width` columns and padded with spaces to exactly `width` (or `align: 'right'`). */
export function pad(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  const cut = fit(text, width);
  const fill = ' '.repeat(Math.max(0, width - displayWidth(cut)));
  return align === 'left' ? cut + fill : fill + cut;
}

/** Style of a piece of text in the inspector; colour names are ink's (chalk's). */
export interface SpanStyle {
  readonly color?: string;
  readonly bold?: boolean;
  readonly dim?: boolean;
  readonly inverse?: boolean;
}

/** A piece of one line with one style. */
export interface Span extends SpanStyle {
  readonly text: string;
}

/** One line of styled text. */
export type StyledLine = readonly Span[];

/** A styled line holding one span. */
export function line(text: string, style: SpanStyle = {}): StyledLine {
  return [{ text, ...style }];
}

/**
 * Wraps a styled line into lines of at most `width` columns, hard (at any grapheme: paths, tokens and base64 have
 * no spaces to break at). A line that would need more than `maxLines` rows is cut, the last row saying how much
 * was left out: one huge header or minified body cannot push everything else off the screen.
 */
export function wrapLine(spans: StyledLine, width: number, maxLines: number): StyledLine[] {
  const w = Math.max(1, width);
  const out: Span[][] = [[]];
  let used = 0;
  let total = 0;
  for (const span of spans) total += span.text.length;
  let consumed = 0;
  for (const span of spans) {
    let text = span.text;
    while (text !== '') {
      if (used >= w) {
        if (out.length >= maxLines) return cutWrapped(out, w, total - consumed);
        out.push([]);
        used = 0;
      }
      const { parts } = pieces(text.length > MEASURE_LIMIT ? text.slice(0, MEASURE_LIMIT) : text, w - used, 1);
      let piece = parts[0] ?? '';
      // A wide grapheme that does not fit in what is left of this row goes to the next row.
      if (displayWidth(piece) > w - used) piece = '';
      if (piece === '') {
        // Wider than a whole row (only at absurd widths): shown anyway, the row overflows by a column.
        if (used === 0) piece = firstGrapheme(text);
        else {
          used = w;
          continue;
        }
      }
      out[out.length - 1]!.push({ ...span, text: piece });
      used += displayWidth(piece);
      text = text.slice(piece.length);
      consumed += piece.length;
    }
  }
  return out;
}

function firstGrapheme(text: string): string {
  for (const { segment } of graphemes.segment(text.slice(0, 64))) return segment;
  return text.slice(0, 1);
}

/** Ends a wrapped line that was cut with a note of how many characters were not shown. */
function cutWrapped(out: Span[][], width: number, left: number): StyledLine[] {
  const note = ` … ${left} more characters`;
  const last = out[out.length - 1]!;
  let kept = width - displayWidth(note);
  const trimmed: Span[] = [];
  for (const span of last) {
    if (kept <= 0) break;
    const text = fit(span.text, kept + 1).replace(/…$/, '');
    trimmed.push({ ...span, text });
    kept -= displayWidth(text);
  }
  out[out.length - 1] = [...trimmed, { text: fit(note, width), dim: true }];
  return out;
}
