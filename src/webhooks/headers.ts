/** Header helpers over flat `[name, value, …]` lists, the form headers have everywhere in hooktunnel. */

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

/**
 * Sets header `name`: the first one of that name (any case) takes `value` in its place, keeping its spelling and
 * position, and later repeats go; a header not there yet is appended as `name`.
 */
export function setHeader(headers: readonly string[], name: string, value: string): string[] {
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
  if (!placed) out.push(name, value);
  return out;
}
