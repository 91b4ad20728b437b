import { sanitize } from './format.js';
import type { Span, StyledLine } from './text.js';

/** Indentation stops growing at this depth: a body nested 100,000 deep still fits on the screen. */
const MAX_INDENT_DEPTH = 32;

const KEY = { color: 'cyan' } as const;
const STRING = { color: 'green' } as const;
const NUMBER = { color: 'yellow' } as const;
const LITERAL = { color: 'magenta' } as const;
const PUNCT = { dim: true } as const;

type Token =
  | { readonly kind: 'open' | 'close'; readonly text: '{' | '}' | '[' | ']' }
  | { readonly kind: 'colon' | 'comma' }
  | { readonly kind: 'string' | 'number' | 'literal'; readonly text: string };

/** Reads JSON tokens one at a time; `undefined` at the end, `null` on anything that is not JSON. */
class Lexer {
  pos = 0;
  /** `partial`: the text may stop anywhere (a preview), so a string cut by its end is still a token. */
  constructor(
    private readonly s: string,
    private readonly partial: boolean,
  ) {}

  next(): Token | null | undefined {
    const s = this.s;
    while (this.pos < s.length && (s[this.pos] === ' ' || s[this.pos] === '\n' || s[this.pos] === '\r' || s[this.pos] === '\t')) this.pos++;
    if (this.pos >= s.length) return undefined;
    const c = s[this.pos]!;
    if (c === '{' || c === '}' || c === '[' || c === ']') {
      this.pos++;
      return { kind: c === '{' || c === '[' ? 'open' : 'close', text: c };
    }
    if (c === ':' || c === ',') {
      this.pos++;
      return { kind: c === ':' ? 'colon' : 'comma' };
    }
    if (c === '"') return this.string();
    const word = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(s.slice(this.pos, this.pos + 400));
    if (!word) return null;
    this.pos += word[0].length;
    return { kind: /^[tfn]/.test(word[0]) ? 'literal' : 'number', text: word[0] };
  }

  /** A string token as written (escapes kept as they are: `\u001b` shows as those six characters). */
  private string(): Token | null {
    const s = this.s;
    const start = this.pos;
    let i = start + 1;
    while (i < s.length) {
      const code = s.charCodeAt(i);
      if (code === 0x22) return this.took(start, i + 1);
      if (code < 0x20) return null;
      i += code === 0x5c ? 2 : 1;
    }
    return this.partial ? this.took(start, s.length) : null;
  }

  private took(start: number, end: number): Token {
    this.pos = end;
    return { kind: 'string', text: this.s.slice(start, end) };
  }
}

/** Builds indented lines, one open line at a time. */
class LineBuilder {
  readonly lines: StyledLine[] = [];
  private current: Span[] = [];

  constructor(private readonly maxLines: number) {}

  get full(): boolean {
    return this.lines.length >= this.maxLines;
  }

  add(text: string, style: Omit<Span, 'text'>): void {
    this.current.push({ text: sanitize(text), ...style });
  }

  newLine(depth: number): void {
    this.lines.push(this.current);
    this.current = [{ text: '  '.repeat(Math.min(depth, MAX_INDENT_DEPTH)) }];
  }

  end(): StyledLine[] {
    if (this.current.length > 0) this.lines.push(this.current);
    return this.lines;
  }
}

/**
 * Pretty-prints JSON text as coloured, indented lines (two spaces a level, like `JSON.stringify(v, null, 2)`), in one
 * pass with an explicit stack: no recursion and no parse tree, so any nesting depth is safe, and at most
 * `maxLines` lines are produced (then a note). Returns undefined when the text is not JSON, which is found out
 * only within the part that was printed. `complete: false` means the input was cut short (a preview of a larger
 * body): then an unfinished document is fine.
 */
export function jsonLines(text: string, maxLines: number, complete = true): StyledLine[] | undefined {
  const lexer = new Lexer(text, !complete);
  const out = new LineBuilder(maxLines);
  /** Open containers: '{' or '['. */
  const stack: string[] = [];
  /** What may come next: a value, an object key, a colon, a comma or the container's end, or nothing. */
  let expect: 'value' | 'key-or-close' | 'value-or-close' | 'key' | 'colon' | 'comma-or-close' | 'end' = 'value';
  for (;;) {
    if (out.full) {
      out.newLine(0);
      out.add(`… (${text.length - lexer.pos} more characters of JSON not shown)`, { dim: true });
      return out.end();
    }
    const t = lexer.next();
    if (t === null) return undefined;
    if (t === undefined) return (expect === 'end' || !complete) && !(stack.length === 0 && expect === 'value') ? out.end() : undefined;
    const depth = stack.length;
    switch (t.kind) {
      case 'open':
        if (expect !== 'value' && expect !== 'value-or-close') return undefined;
        if (expect === 'value-or-close') out.newLine(depth);
        out.add(t.text, PUNCT);
        stack.push(t.text);
        expect = t.text === '{' ? 'key-or-close' : 'value-or-close';
        break;
      case 'close': {
        const top = stack[stack.length - 1];
        const matches = (t.text === '}' && top === '{') || (t.text === ']' && top === '[');
        const empty = expect === 'key-or-close' || expect === 'value-or-close';
        if (!matches || !(empty || expect === 'comma-or-close')) return undefined;
        stack.pop();
        if (!empty) out.newLine(depth - 1);
        out.add(t.text, PUNCT);
        expect = stack.length === 0 ? 'end' : 'comma-or-close';
        break;
      }
      case 'colon':
        if (expect !== 'colon') return undefined;
        out.add(': ', PUNCT);
        expect = 'value';
        break;
      case 'comma':
        if (expect !== 'comma-or-close') return undefined;
        out.add(',', PUNCT);
        out.newLine(depth);
        expect = stack[stack.length - 1] === '{' ? 'key' : 'value';
        break;
      default: {
        const isKey: boolean = expect === 'key' || expect === 'key-or-close';
        if (isKey && t.kind !== 'string') return undefined;
        if (!isKey && expect !== 'value' && expect !== 'value-or-close') return undefined;
        if (expect === 'key-or-close' || expect === 'value-or-close') out.newLine(depth);
        out.add(t.text, isKey ? KEY : t.kind === 'string' ? STRING : t.kind === 'number' ? NUMBER : LITERAL);
        expect = isKey ? 'colon' : stack.length === 0 ? 'end' : 'comma-or-close';
      }
    }
  }
}
