import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import chalk from 'chalk';
import { captureToFixture, fixtureFileName, fixtureText } from '../capture/fixture.js';
import { findCapture, partialRequestBody, readBody } from '../capture/queries.js';
import { REQUEST } from '../capture/schema.js';
import { isHooktunnelError } from '../errors.js';
import { describePartialBody } from '../ui/format.js';
import { commandSecrets } from './secrets.js';
import { EXIT_FAILURE, EXIT_USAGE, fail } from './shared.js';
import { openStore, withCapture, type StoreFlags } from './store-access.js';

/** Options of `hooktunnel save`. */
export interface SaveFlags extends StoreFlags {
  readonly keepSecrets?: boolean;
  readonly force?: boolean;
  readonly reserialize?: boolean;
  readonly verify?: string[];
}

/** The folder `save` writes into when no file is named. */
export const FIXTURES_DIR = 'fixtures';

/**
 * `hooktunnel save <id> [file]`: writes one capture's request as a fixture file (capture/fixture.ts), by default
 * `fixtures/<provider>-<event>.json` (or `<method>-<path>.json`). Secrets are left out unless `--keep-secrets`; an
 * existing file is kept unless `--force` (exit 1). A body not stored whole is refused (exit 1): a fixture that
 * silently sends less than was captured would be lost data.
 */
export function runSave(id: string, file: string | undefined, flags: SaveFlags): void {
  const secrets = commandSecrets(flags);
  const store = openStore(flags, true);
  const c = withCapture(() => findCapture(store, id));
  const body = readBody(store, c.id, REQUEST);
  store.close();
  const partial = partialRequestBody(c, body);
  if (partial) fail(`capture ${c.id}: ${describePartialBody(partial)}; it cannot be saved as a fixture`);
  let fixture;
  try {
    fixture = captureToFixture(c, body, { keepSecrets: flags.keepSecrets, reserialize: flags.reserialize, secrets });
  } catch (err) {
    fail(isHooktunnelError(err) ? `capture ${c.id}: ${err.message}` : String(err), EXIT_USAGE);
  }
  const path = file ?? join(FIXTURES_DIR, fixtureFileName(fixture));
  if (existsSync(path) && !flags.force) fail(`${path} exists; pass --force to overwrite it, or name another file`);
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, fixtureText(fixture));
  } catch (err) {
    fail(`cannot write ${path}: ${(err as Error).message}`, EXIT_FAILURE);
  }
  const removed = fixture.secretsRemoved?.length ? chalk.gray(` (left out: ${fixture.secretsRemoved.join(', ')}; --keep-secrets keeps them)`) : '';
  process.stdout.write(`${path}\n`);
  process.stderr.write(`saved capture ${c.id}${fixture.provider ? ` (${fixture.provider}${fixture.event ? ` ${fixture.event}` : ''})` : ''} to ${path}${removed}\n`);
}
