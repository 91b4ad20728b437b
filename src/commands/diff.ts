import { existsSync } from 'node:fs';
import { join } from 'node:path';
import chalk from 'chalk';
import { diffExchanges, type DiffSide } from '../capture/diff.js';
import { DB_FILE } from '../capture/defaults.js';
import { findCapture, readBody } from '../capture/queries.js';
import { REQUEST, RESPONSE } from '../capture/schema.js';
import { CaptureStore } from '../capture/store.js';
import { isHooktunnelError } from '../errors.js';
import { resolveDataDir } from '../paths.js';
import { ansiText, diffLines } from '../ui/diff-lines.js';
import { EXIT_FAILURE, EXIT_USAGE, fail } from './shared.js';
import type { StoreFlags } from './store-access.js';

/** Exit codes of `hooktunnel diff`, as diff(1)'s: 0 no differences, 1 differences, 2 trouble (bad id, no store). */
export const DIFF_SAME = 0;
export const DIFF_DIFFERENT = EXIT_FAILURE;

function side(store: CaptureStore, id: string): DiffSide {
  const capture = findCapture(store, id);
  return { capture, requestBody: readBody(store, capture.id, REQUEST), responseBody: readBody(store, capture.id, RESPONSE) };
}

/** `hooktunnel diff <a> <b>`: what differs between two captured exchanges; `--json` for tools. */
export function runDiff(a: string, b: string, opts: StoreFlags & { json?: boolean }): void {
  const dir = resolveDataDir(opts.dataDir);
  if (!existsSync(join(dir, DB_FILE))) fail(`no captures yet in ${dir}`, EXIT_USAGE);
  let store: CaptureStore;
  try {
    store = CaptureStore.open(dir, { readonly: true });
  } catch (err) {
    fail(isHooktunnelError(err) ? err.message : `cannot open the capture store: ${(err as Error).message}`, EXIT_USAGE);
  }
  let sides: [DiffSide, DiffSide];
  try {
    sides = [side(store, a), side(store, b)];
  } catch (err) {
    store.close();
    if (isHooktunnelError(err)) fail(err.message, EXIT_USAGE);
    throw err;
  }
  store.close();
  const d = diffExchanges(...sides);
  process.stdout.write(opts.json ? `${JSON.stringify(d)}\n` : ansiText(diffLines(d), chalk));
  process.exitCode = d.same ? DIFF_SAME : DIFF_DIFFERENT;
}
