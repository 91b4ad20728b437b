import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import chalk from 'chalk';
import { replayEvents } from '../agent/replay.js';
import { replayFixture } from '../agent/replay-fixture.js';
import type { Target } from '../agent/target.js';
import { parseFixture, type Fixture } from '../capture/fixture.js';
import { attachRecorder } from '../capture/recorder.js';
import type { CaptureStore } from '../capture/store.js';
import { isHooktunnelError } from '../errors.js';
import { formatDuration } from '../ui/format.js';
import { describeResign } from '../webhooks/resign.js';
import { applyHeaderOverrides, type ReplayFlags } from './replay.js';
import { commandSecrets } from './secrets.js';
import { EXIT_FAILURE, EXIT_USAGE, fail } from './shared.js';
import { openStore } from './store-access.js';

/** One fixture file, read and checked. */
interface Loaded {
  readonly file: string;
  readonly name: string;
  readonly fixture: Fixture;
}

/** The fixture files `path` names: itself, or a folder's `*.json` files in name order (code-unit order). */
function fixtureFiles(path: string): string[] {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (err) {
    fail(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : (err as Error).message}`, EXIT_USAGE);
  }
  if (!isDir) return [path];
  const files = readdirSync(path).filter((f) => f.endsWith('.json')).sort().map((f) => join(path, f));
  if (files.length === 0) fail(`${path} holds no *.json fixture files`, EXIT_USAGE);
  return files;
}

/** Reads and checks every file before anything is sent: one invalid file exits 2 with every problem found. */
function loadAll(files: readonly string[]): Loaded[] {
  const problems: string[] = [];
  const loaded: Loaded[] = [];
  for (const file of files) {
    try {
      loaded.push({ file, name: basename(file), fixture: parseFixture(readFileSync(file, 'utf8'), file) });
    } catch (err) {
      problems.push(isHooktunnelError(err) ? err.message : `${file}: cannot read it (${(err as Error).message})`);
    }
  }
  if (problems.length > 0) fail(`invalid fixture${problems.length > 1 ? 's' : ''}, nothing was sent:\n  ${problems.join('\n  ')}`, EXIT_USAGE);
  return loaded;
}

/** The store the replays are recorded in, created if need be; none (with a warning) when it cannot be opened. */
function writableStore(flags: ReplayFlags): CaptureStore | undefined {
  try {
    return openStore(flags, false, true);
  } catch (err) {
    process.stderr.write(`${chalk.yellow('warning')} the replays will not be captured: ${(err as Error).message}\n`);
    return undefined;
  }
}

/**
 * `hooktunnel replay <file|folder> --to <target>`: sends fixture files (replayFixture: signed for their provider
 * with a fresh timestamp, recorded as replays with `replayOf` the file name), a folder's in name order, then a
 * summary. Exit 0 when every one got a 2xx answer, 1 when any did not (or could not be sent), 2 for an invalid file.
 */
export async function runFixtureReplay(path: string, flags: ReplayFlags): Promise<void> {
  const configured = commandSecrets(flags);
  if (!flags.to) fail(`--to is needed to replay a fixture file (a fixture has no target): hooktunnel replay ${path} --to 3000`, EXIT_USAGE);
  if (flags.body !== undefined) fail('--body is for captures; edit the fixture file instead', EXIT_USAGE);
  const target: Target = flags.to;
  const fixtures = loadAll(fixtureFiles(path));
  const store = writableStore(flags);
  const events = replayEvents();
  if (store) attachRecorder(events, store, (err) => process.stderr.write(`${chalk.yellow('warning')} a replay was not captured: ${err.message}\n`));
  const preserveHost = (flags.header ?? []).some((h) => /^host\s*:\s*\S/i.test(h));
  let failed = 0;
  for (const { name, fixture } of fixtures) {
    const secrets = configured;
    if (fixture.provider && flags.resign !== false && !secrets.some((s) => s.provider === fixture.provider)) {
      process.stderr.write(`${chalk.yellow('warning')} ${name}: no secret for ${fixture.provider}, sent as written (pass --verify ${fixture.provider}=… or set HOOKTUNNEL_VERIFY)\n`);
    }
    const outcome = await replayFixture(events, fixture, name, {
      target, secrets, resign: flags.resign !== false, preserveHost, editHeaders: (h) => applyHeaderOverrides(h, flags.header ?? []),
    });
    const { event } = outcome;
    const ok = outcome.answered && event.status >= 200 && event.status < 300;
    if (!ok) failed++;
    if (flags.json) {
      process.stdout.write(`${JSON.stringify({ ...event, fixture: name, ok })}\n`);
      continue;
    }
    const status = outcome.answered ? String(event.status) : '---';
    const resign = outcome.resign ? describeResign(outcome.resign, true) : undefined;
    const why = outcome.answered ? '' : `  ${event.message ?? event.error ?? 'no answer'}`;
    const line = `${(ok ? chalk.green : chalk.red)(status.padEnd(4))} ${name}  ${fixture.method} ${fixture.path}  ${formatDuration(event.durationMs)}${resign ? chalk.gray(`  ${resign}`) : ''}${why}`;
    process.stdout.write(`${line}\n`);
  }
  store?.close();
  const summary = `${fixtures.length} fixture${fixtures.length === 1 ? '' : 's'}: ${fixtures.length - failed} passed, ${failed} failed`;
  process.stderr.write(`${failed ? chalk.red(summary) : chalk.green(summary)}\n`);
  if (failed) process.exitCode = EXIT_FAILURE;
}
