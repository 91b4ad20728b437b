import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';

/**
 * Decodes a body sent with `Content-Encoding` gzip, deflate or br, producing at most `maxBytes` (a zip bomb stays
 * small). Undefined when the encoding is none of those, or the body does not decode within the bound.
 */
export function decodeContent(body: Buffer, encoding: string | undefined, maxBytes: number): Buffer | undefined {
  const e = encoding?.trim().toLowerCase();
  const opts = { maxOutputLength: maxBytes };
  try {
    if (e === 'gzip' || e === 'x-gzip') return gunzipSync(body, opts);
    if (e === 'deflate') return inflateSync(body, opts);
    if (e === 'br') return brotliDecompressSync(body, opts);
  } catch {
    // Broken, or larger than the bound.
  }
  return undefined;
}
