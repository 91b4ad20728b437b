import type { CaptureStore } from './store.js';

/** Bytes of each body that a body search looks at: the same as a preview shows. */
export const SEARCH_BYTES = 64 * 1024;

/**
 * The ids among `ids` whose request or response body contains `needle` (ASCII letters in any case) within its
 * first SEARCH_BYTES bytes as stored. SQLite scans the blobs itself: bodies are never loaded into JavaScript, and
 * the work is bounded by the number of ids, whatever the bodies' sizes.
 */
export function searchBodies(store: CaptureStore, needle: string, ids: readonly string[]): Set<string> {
  if (needle === '' || ids.length === 0) return new Set();
  const head = (column: string): string => `instr(lower(CAST(substr(${column}, 1, ${SEARCH_BYTES}) AS TEXT)), @needle) > 0`;
  const rows = store.database
    .prepare(
      `SELECT c.id FROM captures c WHERE c.id IN (SELECT value FROM json_each(@ids)) AND (
        ${head('c.req_body')} OR ${head('c.res_body')}
        OR EXISTS (SELECT 1 FROM bodies b WHERE b.capture_seq = c.seq AND b.part = 0 AND ${head('b.data')}))`,
    )
    .all({ ids: JSON.stringify(ids), needle: needle.toLowerCase() }) as Array<{ id: string }>;
  return new Set(rows.map((r) => r.id));
}
