import { readFileSync } from 'node:fs';
import { parseHar, type ImportedEntry } from '../capture/har-import.js';
import { isHooktunnelError } from '../errors.js';
import { EXIT_USAGE, fail } from './shared.js';
import { openStore, type StoreFlags } from './store-access.js';

/**
 * `hooktunnel import <file.har>`: every entry of the HAR file becomes a capture (tunnel `imported`), all in one
 * transaction: an invalid file (exit 2) or a failed write (exit 1) imports nothing. Prints the new ids.
 */
export function runImport(file: string, flags: StoreFlags): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    fail(`cannot read ${file}: ${(err as Error).message}`, EXIT_USAGE);
  }
  let entries: ImportedEntry[];
  try {
    entries = parseHar(text, file);
  } catch (err) {
    fail(isHooktunnelError(err) ? err.message : String(err), EXIT_USAGE);
  }
  const store = openStore(flags, false);
  try {
    store.database.transaction(() => {
      for (const e of entries) store.writeWhole(e.head, e.end, e.request, e.response);
    })();
  } catch (err) {
    store.close();
    fail(`cannot import into the capture store: ${(err as Error).message}`);
  }
  store.close();
  process.stdout.write(entries.map((e) => `${e.head.id}\n`).join(''));
  process.stderr.write(`imported ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'} from ${file}\n`);
}
