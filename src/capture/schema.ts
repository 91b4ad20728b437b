/** The store's tables. Headers are JSON flat lists `[name, value, …]` in wire order; bodies are ordered chunks. */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS captures (
  id            TEXT PRIMARY KEY,
  time          INTEGER NOT NULL,
  tunnel        TEXT NOT NULL,
  target        TEXT NOT NULL,
  method        TEXT NOT NULL,
  path          TEXT NOT NULL,
  req_headers   TEXT NOT NULL,
  status        INTEGER NOT NULL DEFAULT 0,
  res_headers   TEXT,
  error         TEXT,
  message       TEXT,
  duration_ms   REAL NOT NULL DEFAULT 0,
  req_bytes     INTEGER NOT NULL DEFAULT 0,
  res_bytes     INTEGER NOT NULL DEFAULT 0,
  req_truncated INTEGER NOT NULL DEFAULT 0,
  res_truncated INTEGER NOT NULL DEFAULT 0,
  replay_of     TEXT,
  missed        INTEGER NOT NULL DEFAULT 0,
  complete      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS captures_time ON captures (time);
CREATE TABLE IF NOT EXISTS bodies (
  capture_id TEXT NOT NULL,
  direction  INTEGER NOT NULL,
  seq        INTEGER NOT NULL,
  data       BLOB NOT NULL,
  PRIMARY KEY (capture_id, direction, seq)
) WITHOUT ROWID;
`;

/** One row of `captures`, as stored. */
export interface CaptureRow {
  /** The exchange id (the agent's `--json` id; for missed requests, the relay's id). */
  id: string;
  /** Milliseconds since the epoch when the request arrived. */
  time: number;
  tunnel: string;
  target: string;
  method: string;
  path: string;
  /** JSON of the flat header list forwarded to the target. */
  req_headers: string;
  /** The status the sender got (the target's, or the relay's error status); 0 when none. */
  status: number;
  /** JSON of the target's response headers, null when there was no response. */
  res_headers: string | null;
  error: string | null;
  message: string | null;
  duration_ms: number;
  /** Body bytes seen (the stored body may be shorter when truncated). */
  req_bytes: number;
  res_bytes: number;
  req_truncated: number;
  res_truncated: number;
  replay_of: string | null;
  /** 1 for a request that arrived while the agent was away (kept by the relay). */
  missed: number;
  /** 0 while the exchange is in flight (or was when the agent died). */
  complete: number;
}
