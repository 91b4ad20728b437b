/** Hop-by-hop headers (RFC 9110 section 7.6.1) that a proxy never forwards, plus Expect, which Node answers itself. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
]);

/**
 * Returns the raw header list `[name, value, …]` without hop-by-hop headers, `Proxy-*` headers and headers named
 * in `Connection`. Order, case and repeats of everything else are kept.
 */
export function stripHopByHop(raw: readonly string[]): string[] {
  let named: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === 'connection') {
      for (const token of raw[i + 1]!.split(',')) {
        const t = token.trim().toLowerCase();
        if (t) (named ??= new Set()).add(t);
      }
    }
  }
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(lower) || lower.startsWith('proxy-') || named?.has(lower)) continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}
