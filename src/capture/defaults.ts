// Constants of the capture store that the CLI needs before it opens one (help text, "no captures yet"): kept apart
// from store.ts so that reading them does not load better-sqlite3.

/** Defaults of the store's options. */
export const STORE_DEFAULTS = { retain: 1000, retainBytes: 512 * 1024 * 1024, maxBodyBytes: 10 * 1024 * 1024 };

/** File name of the database inside the data directory. */
export const DB_FILE = 'captures.db';
