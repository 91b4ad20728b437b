/** Formats a byte count for people: `512 B`, `1.2 KB`, `3.4 MB`. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GB`;
}

/** Formats a duration: `0.8 ms`, `35 ms`, `2.1 s`. */
export function formatDuration(ms: number): string {
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

/** `HH:MM:SS` in local time. */
export function formatClock(time: number): string {
  const d = new Date(time);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((v) => String(v).padStart(2, '0')).join(':');
}

/**
 * Code points that must never reach a terminal raw: C0 controls, DEL and the C1 range (0x9B is a one-byte CSI),
 * the soft hyphen and Arabic letter mark, zero-width and bidi marks, line/paragraph separators, bidi embeddings,
 * overrides and isolates (U+202A-202E, U+2066-2069), invisible operators and deprecated format characters, the BOM,
 * interlinear annotations, Unicode tag characters (invisible "ASCII smuggling"), and unpaired surrogates.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb\u{e0000}-\u{e007f}\ud800-\udfff]/gu;

/**
 * Makes text from strangers safe to print: control characters (C0, DEL, C1), bidi overrides and other invisible
 * format characters become visible escapes (`\x1b`, `\u{202e}`), so a path or header can never move the cursor,
 * clear the screen, set the title, write the clipboard or reorder what is shown. Printable text is unchanged, and
 * escaping is idempotent: the escapes themselves are printable ASCII.
 */
export function sanitize(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.codePointAt(0)!;
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}

/** A signature check in a few words: `valid stripe`, `invalid github: mismatch`, `unsigned`. */
export function describeSignature(check: { status: string; provider?: string; reason?: string }): string {
  return [check.status, check.provider].filter(Boolean).join(' ') + (check.reason ? `: ${check.reason}` : '');
}

/** Why a stored body is not the whole one, in words: `only 1.0 MB of its 11.0 MB body was kept (the capture limit)`. */
export function describePartialBody(p: { reason: 'truncated' | 'incomplete'; stored: number; total?: number }): string {
  const of = p.total !== undefined ? ` of its ${formatBytes(p.total)}` : '';
  return p.reason === 'truncated'
    ? `only ${formatBytes(p.stored)}${of} body was kept (the capture limit)`
    : `it was in flight when the agent stopped: only ${formatBytes(p.stored)}${of} body had arrived`;
}
