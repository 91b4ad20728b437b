import { existsSync, renameSync } from 'node:fs';
import { TokenUsage, type RelayLimits } from '../limits.js';
import type { OfflineLimits } from '../offline.js';
import { RegistryFile } from '../state-file.js';
import { MemoryDirectory } from './memory-directory.js';
import { MemoryInbox } from './memory-inbox.js';
import { openSqliteStore, type SqliteRelayStore } from './sqlite.js';
import type { RelayStore } from './types.js';

/** Where the relay's state goes, and what it needs to know to keep it. */
export interface OpenStoreOptions {
  /** The relay's data directory (SQLite); without it the state is in memory. */
  readonly dataDir?: string;
  /** The old `--state-file`: kept working in memory, imported into the data directory's store otherwise. */
  readonly stateFile?: string;
  readonly reservationMs: number;
  readonly offline: OfflineLimits;
  readonly limits: Pick<RelayLimits, 'tunnelsPerToken' | 'requestsPerMinute'>;
  /** A line for the operator (the state file was imported). */
  readonly onNotice: (line: string) => void;
  /** The state file could not be written (memory store only; the relay carries on). */
  readonly onStateError: (err: Error) => void;
}

/** The relay's state in memory: gone with the process, except tunnel ids when a state file is given. */
export function memoryStore(options: Omit<OpenStoreOptions, 'dataDir'>): RelayStore {
  const directory = new MemoryDirectory(options.reservationMs, options.stateFile ? new RegistryFile(options.stateFile, options.onStateError) : undefined);
  return {
    directory,
    inbox: new MemoryInbox(options.offline),
    usage: new TokenUsage(options.limits),
    durable: false,
    location: options.stateFile ? `memory, tunnel ids in ${options.stateFile}` : 'memory',
    async close() {
      directory.flush();
    },
  };
}

/**
 * Opens the store the options name: SQLite in `dataDir`, else memory. A state file given with a data directory is
 * imported once (its ids, reservations and owners' digests), renamed to `<file>.migrated`, and the operator told.
 * Throws `invalid_argument` for a store or state file that cannot be used.
 */
export function openRelayStore(options: OpenStoreOptions): RelayStore {
  if (options.dataDir === undefined) return memoryStore(options);
  const store = openSqliteStore(options.dataDir, options);
  if (options.stateFile !== undefined) {
    try {
      migrateStateFile(store, options.stateFile, options.onNotice);
    } catch (err) {
      void store.close();
      throw err;
    }
  }
  return store;
}

function migrateStateFile(store: SqliteRelayStore, file: string, notice: (line: string) => void): void {
  if (!existsSync(file)) {
    return notice(`--state-file ${file} is not needed any more: tunnel ids are kept in ${store.location} (--data-dir); there was nothing to import`);
  }
  const added = store.directory.importSaved(new RegistryFile(file, () => {}).load());
  renameSync(file, `${file}.migrated`);
  notice(`imported ${added} tunnel id(s) from the state file ${file} into ${store.location}; the file is now ${file}.migrated, and --state-file is not needed any more`);
}
