/**
 * Header helpers over flat `[name, value, …]` lists, the form headers have everywhere in hooktunnel (as Node's
 * `rawHeaders`, on the wire, in captures). Names match in any case, whatever case `name` is given in; order, case
 * and repeats of the others are kept. The one place these are written: relay, agent, capture, webhooks and ui use it.
 */

/** The first value of header `name` (any case), or undefined. */
export function headerValue(headers: readonly string[], name: string): string | undefined {
  const lower = name.toLowerCase();
  for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() === lower) return headers[i + 1];
  return undefined;
}

/** The last value of header `name` (any case): for headers a proxy appends, such as the relay's X-Forwarded-Host. */
export function lastHeaderValue(headers: readonly string[], name: string): string | undefined {
  const lower = name.toLowerCase();
  for (let i = headers.length - 2; i >= 0; i -= 2) if (headers[i]!.toLowerCase() === lower) return headers[i + 1];
  return undefined;
}

/** True when header `name` is present. */
export function hasHeader(headers: readonly string[], name: string): boolean {
  return headerValue(headers, name) !== undefined;
}

/** How many times header `name` is present (a request with two Host headers is refused). */
export function headerCount(headers: readonly string[], name: string): number {
  const lower = name.toLowerCase();
  let n = 0;
  for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() === lower) n++;
  return n;
}

/**
 * Sets header `name`: the first one of that name (any case) takes `value` in its place, keeping its spelling and
 * position, and later repeats go; a header not there yet is appended as `name`, or put first with `first`.
 */
export function setHeader(headers: readonly string[], name: string, value: string, where: 'last' | 'first' = 'last'): string[] {
  const lower = name.toLowerCase();
  const out: string[] = [];
  let placed = false;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i]!.toLowerCase() !== lower) out.push(headers[i]!, headers[i + 1]!);
    else if (!placed) {
      out.push(headers[i]!, value);
      placed = true;
    }
  }
  if (!placed) {
    if (where === 'first') out.unshift(name, value);
    else out.push(name, value);
  }
  return out;
}

/** The headers without any named `name` (any case). */
export function removeHeader(headers: readonly string[], name: string): string[] {
  const lower = name.toLowerCase();
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() !== lower) out.push(headers[i]!, headers[i + 1]!);
  return out;
}

/** The headers as `[name, value]` pairs, in order (a name without a value, in a list cut short, gets ''). */
export function headerPairs(headers: readonly string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < headers.length; i += 2) out.push([headers[i]!, headers[i + 1] ?? '']);
  return out;
}
