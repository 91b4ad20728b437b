import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import chalk from 'chalk';
import { replayCapture, replayEvents } from '../agent/replay.js';
import { parseTarget, type Target } from '../agent/target.js';
import { findCapture, partialRequestBody, readBody, type Capture } from '../capture/queries.js';
import { Deliveries, storeDeliveries } from '../capture/deliveries.js';
import { attachRecorder } from '../capture/recorder.js';
import { REQUEST } from '../capture/schema.js';
import { DB_FILE, type CaptureStore } from '../capture/store.js';
import { resolveDataDir } from '../paths.js';
import { removeHeader, setHeader } from '../protocol/headers.js';
import { describePartialBody } from '../ui/format.js';
import { formatRequestLine } from '../ui/printers.js';
import { describeResign, withSecretFor, type Resigned } from '../webhooks/resign.js';
import { EXIT_FAILURE, EXIT_USAGE, fail } from './shared.js';
import { commandSecrets } from './secrets.js';
import { openStore, withCapture, type StoreFlags } from './store-access.js';

/** Options of `hooktunnel replay`. */
export interface ReplayFlags extends StoreFlags {
  readonly to?: Target;
  readonly header?: string[];
  readonly body?: string;
  readonly json?: boolean;
  readonly verify?: string[];
  /** The secret of whatever provider signed the captured request. */
  readonly secret?: string;
  /** False with `--no-resign`: the captured headers are sent untouched. */
  readonly resign?: boolean;
}

/**
 * Applies `Name: value` overrides in order: the first header of that name (any case) takes the new value in its
 * place and later ones go; a header not there yet is added at the end; `Name:` with nothing after it removes it.
 */
export function applyHeaderOverrides(headers: readonly string[], overrides: readonly string[]): string[] {
  let out = [...headers];
  for (const o of overrides) {
    const colon = o.indexOf(':');
    const name = o.slice(0, colon).trim();
    const value = o.slice(colon + 1).trim();
    out = value === '' ? removeHeader(out, name) : setHeader(out, name, value);
  }
  return out;
}

/** The replay's store: writable so that the replay is captured; read-only with a warning when it cannot be. */
function replayStore(flags: StoreFlags): { store: CaptureStore; writable: boolean } {
  // No store yet: say so (read-only open) rather than create an empty one.
  if (!existsSync(join(resolveDataDir(flags.dataDir), DB_FILE))) return { store: openStore(flags, true), writable: false };
  try {
    return { store: openStore(flags, false, true), writable: true };
  } catch (err) {
    const store = openStore(flags, true);
    process.stderr.write(`${chalk.yellow('warning')} the replay will not be captured: ${(err as Error).message}\n`);
    return { store, writable: false };
  }
}

/** The captured body; refused (exit 1) when not stored whole (truncated, or cut off by a crash) unless `--body` replaces it. */
function capturedBody(flags: ReplayFlags, store: CaptureStore, c: Capture): Buffer {
  const body = readBody(store, c.id, REQUEST);
  const partial = flags.body === undefined ? partialRequestBody(c, body) : undefined;
  if (partial) fail(`capture ${c.id}: ${describePartialBody(partial)}; pass --body FILE to replay it`);
  return body;
}

/** The `--body` file (or standard input), undefined without the flag. */
function bodyFile(flags: ReplayFlags): Buffer | undefined {
  if (flags.body === undefined) return undefined;
  try {
    return readFileSync(flags.body === '-' ? 0 : flags.body);
  } catch (err) {
    fail(`cannot read --body ${flags.body}: ${(err as Error).message}`, EXIT_USAGE);
  }
}

/** Says on stderr what re-signing did (and which secret signed), or that a recognised signature goes as captured. */
function reportResign(r: Resigned | undefined): void {
  const text = r && describeResign(r);
  if (!text) return;
  if (r.resigned) process.stderr.write(`${chalk.gray(`${text} (--no-resign sends the captured signature)`)}\n`);
  else process.stderr.write(`${chalk.yellow('warning')} ${text} (pass --secret, --verify ${r.provider}=…, or set HOOKTUNNEL_VERIFY)\n`);
}

/** The replay's `--json` line: its request event, with `resign` (provider, which secret of how many, verified) when re-signed. */
function replayJson(event: object, r: Resigned | undefined): string {
  const resign = r?.resigned && r.secret ? { resign: { provider: r.provider, secret: r.secret.index, of: r.secret.of, verified: r.secret.verified } } : {};
  return `${JSON.stringify({ ...event, ...resign })}\n`;
}

/** A fixture file or folder rather than a capture id: it exists, ends in `.json` or names a folder (ids are [a-z0-9]). */
export function isFixturePath(arg: string): boolean {
  return existsSync(arg) || arg.endsWith('.json') || /[\\/]/.test(arg);
}

/**
 * `hooktunnel replay <id>`: sends the captured request again through the agent's forwarding code (replayCapture),
 * records the replay (with `replayOf`), prints it like a live request. Exit 0 when the target answered, 1 when it did not.
 */
export async function runReplay(id: string, flags: ReplayFlags): Promise<void> {
  if (isFixturePath(id)) return (await import('./replay-fixtures.js')).runFixtureReplay(id, flags);
  // Bad secrets are bad input (exit 2), found before anything is opened.
  const configured = commandSecrets(flags);
  const { store, writable } = replayStore(flags);
  const c = withCapture(() => findCapture(store, id));
  const captured = capturedBody(flags, store, c);
  const body = bodyFile(flags);
  let target: Target;
  try {
    target = flags.to ?? parseTarget(c.target);
  } catch (err) {
    fail(`capture ${c.id} has no target to replay to (${(err as Error).message}); pass --to`);
  }
  const secrets = withSecretFor(c.requestHeaders, configured, flags.secret);
  if (flags.secret !== undefined && secrets.length === configured.length) {
    process.stderr.write(`${chalk.yellow('warning')} --secret is not used: capture ${c.id} carries no signature hooktunnel recognises\n`);
  }
  const events = replayEvents();
  if (writable) attachRecorder(events, store, (err) => process.stderr.write(`${chalk.yellow('warning')} the replay was not captured: ${err.message}\n`));
  // A Host given with --header is sent as given; otherwise the target's, as the agent does.
  const preserveHost = (flags.header ?? []).some((h) => /^host\s*:\s*\S/i.test(h));
  const outcome = await replayCapture(events, c, {
    target, capturedBody: captured, body, secrets, resign: flags.resign !== false, preserveHost,
    // Explicit --header values come last, so a signature header given by hand wins over the re-signed one.
    editHeaders: (headers) => applyHeaderOverrides(headers, flags.header ?? []),
    // A store too old to hold delivery marks (read-only, not migrated) still marks the replay as one of the capture.
    deliveries: store.format >= 7 ? storeDeliveries(store) : new Deliveries(),
  });
  store.close();
  reportResign(outcome.resign);
  process.stdout.write(flags.json ? replayJson(outcome.event, outcome.resign) : `${formatRequestLine(outcome.event)}\n`);
  if (!outcome.answered) {
    process.stderr.write(`${chalk.red('error')} ${outcome.event.message ?? `${target.display} did not answer`}\n`);
    process.exitCode = EXIT_FAILURE;
  }
}
