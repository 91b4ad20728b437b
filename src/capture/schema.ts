import { join } from 'node:path';
import type { ExchangeOpening, ExchangeOutcome } from '../model/exchange.js';

/**
 * Format of the store, kept in `PRAGMA user_version`. A store written in a newer format is refused with a clear
 * message rather than read wrongly; an older one is migrated when opened for writing (MIGRATIONS) and read as it
 * is when opened read-only. 1: the first format. 2: `signature` (issue 7). 3: `files`, bodies past their first
 * chunk in files beside the database. 4: `req_complete`, the request body arrived whole. 5: `tunnel_name`, `route`, `mode`, `ack_attempt`,
 * `ack_attempts`: a project run's tunnel name and route, the route's mode, and an ack delivery's attempt number. 6: `upgrade`, an
 * upgraded connection's summary. 7: `delivery_id`, `redelivery_of`, `attempt` (redeliveries) and the index on `delivery_id`.
 */
export const SCHEMA_VERSION = 7;

/** The index that keeps the lookup of earlier deliveries by delivery id O(log n) (capture/deliveries.ts). */
const DELIVERY_INDEX = 'CREATE INDEX IF NOT EXISTS captures_delivery ON captures (delivery_id) WHERE delivery_id IS NOT NULL;';

/** The statements that take a store from format `n - 1` to `n`, by `n`. Each only adds, so older readers' data stays. */
export const MIGRATIONS: Readonly<Record<number, string>> = {
  2: 'ALTER TABLE captures ADD COLUMN signature TEXT;',
  3: 'ALTER TABLE captures ADD COLUMN files INTEGER NOT NULL DEFAULT 0;',
  4: 'ALTER TABLE captures ADD COLUMN req_complete INTEGER NOT NULL DEFAULT 0;',
  5: `ALTER TABLE captures ADD COLUMN tunnel_name TEXT;
ALTER TABLE captures ADD COLUMN route TEXT;
ALTER TABLE captures ADD COLUMN mode TEXT;
ALTER TABLE captures ADD COLUMN ack_attempt INTEGER;
ALTER TABLE captures ADD COLUMN ack_attempts INTEGER;`,
  6: 'ALTER TABLE captures ADD COLUMN upgrade TEXT;',
  7: `ALTER TABLE captures ADD COLUMN delivery_id TEXT;
ALTER TABLE captures ADD COLUMN redelivery_of TEXT;
ALTER TABLE captures ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;
${DELIVERY_INDEX}`,
};

/**
 * The store's tables. One row per exchange; a small exchange's bodies sit inline in its row, so recording it is
 * one INSERT and one commit. A larger body is streamed as it arrives: its first chunk is a row of `bodies` (where
 * a body search looks), the rest is appended to the file `bodies/<seq>.req` or `.res` beside the database
 * (BODY_FILES_DIR): a file append costs a tenth of the CPU of the same bytes through SQLite's WAL and checkpoint.
 * `files` says which of the two files exist (bit 1 << direction). Headers are JSON flat lists `[name, value, …]` in
 * wire order. `seq` is the recording order: retention removes the lowest. `signature` is the JSON of a
 * SignatureCheck (`{"status":"valid","provider":"stripe"}`), NULL when verification was off. `req_complete` is set
 * once the whole request body is stored, before the exchange ends: an exchange cut off by the agent's death after
 * its (chunked) request arrived can still be replayed. `tunnel_name`, `route`, `mode` are NULL outside project runs;
 * `ack_attempt` / `ack_attempts` (1-based, and the most) are set on an ack route's background deliveries only.
 * `upgrade` is the JSON of an UpgradeSummary
 * (`{"protocol":"websocket","messagesIn":3,…}`) for an exchange the target answered with 101, NULL otherwise; the
 * upgraded connection's bytes are counted there, never stored as bodies.
 * `delivery_id` is the provider's delivery id (`github:…`),
 * `redelivery_of` the first capture with it, `attempt` which delivery this is (0: no delivery id); see Exchange.
 */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS captures (
  seq           INTEGER PRIMARY KEY,
  id            TEXT NOT NULL UNIQUE,
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
  stored_bytes  INTEGER NOT NULL DEFAULT 0,
  replay_of     TEXT,
  missed        INTEGER NOT NULL DEFAULT 0,
  complete      INTEGER NOT NULL DEFAULT 0,
  req_body      BLOB,
  res_body      BLOB,
  signature     TEXT,
  files         INTEGER NOT NULL DEFAULT 0,
  req_complete  INTEGER NOT NULL DEFAULT 0,
  tunnel_name   TEXT,
  route         TEXT,
  mode          TEXT,
  ack_attempt   INTEGER,
  ack_attempts  INTEGER,
  upgrade       TEXT,
  delivery_id   TEXT,
  redelivery_of TEXT,
  attempt       INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS bodies (
  capture_seq INTEGER NOT NULL,
  direction   INTEGER NOT NULL,
  part        INTEGER NOT NULL,
  data        BLOB NOT NULL,
  PRIMARY KEY (capture_seq, direction, part)
) WITHOUT ROWID;
${DELIVERY_INDEX}
`;

/** Directory, inside the data directory, of the body files (see SCHEMA). */
export const BODY_FILES_DIR = 'bodies';

/** The file, in the directory of body files, that holds a streamed body past its first chunk. */
export function bodyFilePath(filesDir: string, seq: number, direction: Direction): string {
  return join(filesDir, `${seq}.${direction === REQUEST ? 'req' : 'res'}`);
}

/** The bit of the `files` column that says a body file exists for this direction. */
export function bodyFileBit(direction: Direction): number {
  return 1 << direction;
}

/** Direction of a body: the request's. */
export const REQUEST = 0;
/** Direction of a body: the response's. */
export const RESPONSE = 1;
/** A body direction. */
export type Direction = typeof REQUEST | typeof RESPONSE;

/** What is known of an exchange when it starts (the agent's ExchangeStart, or a missed request). */
export interface CaptureHead extends ExchangeOpening {
  /** True for a request that arrived while the agent was away (kept by the relay). */
  readonly missed?: boolean;
}

/** What is known of an exchange when it ends (the signature check is stored as JSON). */
export type CaptureEnd = ExchangeOutcome;
