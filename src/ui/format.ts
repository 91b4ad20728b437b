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
 * Makes text from strangers safe to print: control characters (C0, DEL, C1), bidi overrides and other invisible
 * format characters become visible escapes, so a path or header can never move the cursor, clear the screen,
 * set the title or write the clipboard.
 */
export function sanitize(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}

/** A signature check in a few words: `valid stripe`, `invalid github: mismatch`, `unsigned`. */
export function describeSignature(check: { status: string; provider?: string; reason?: string }): string {
  return [check.status, check.provider].filter(Boolean).join(' ') + (check.reason ? `: ${check.reason}` : '');
}
