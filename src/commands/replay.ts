import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import chalk from 'chalk';
import { replayEvents, replayRequest } from '../agent/replay.js';
import { parseTarget, type Target } from '../agent/target.js';
import { findCapture, partialRequestBody, readBody, type Capture } from '../capture/queries.js';
import { attachRecorder } from '../capture/recorder.js';
import { REQUEST } from '../capture/schema.js';
import { DB_FILE, type CaptureStore } from '../capture/store.js';
import { resolveDataDir } from '../paths.js';
import { describePartialBody } from '../ui/format.js';
import { formatRequestLine, jsonLine } from '../ui/printers.js';
import { resignCaptured, withSecretFor } from '../webhooks/resign.js';
import { capturedPublicUrl } from '../webhooks/url.js';
import type { WebhookSecret } from '../webhooks/types.js';
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
    const next: string[] = [];
    let placed = value === '';
    for (let i = 0; i < out.length; i += 2) {
      if (out[i]!.toLowerCase() !== name.toLowerCase()) next.push(out[i]!, out[i + 1]!);
      else if (!placed) {
        next.push(out[i]!, value);
        placed = true;
      }
    }
    if (!placed) next.push(name, value);
    out = next;
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

/** `--body`, else the captured body; a body not stored whole (truncated, or cut off by a crash) is refused, exit 1. */
function replayBody(flags: ReplayFlags, store: CaptureStore, c: Capture): Buffer {
  if (flags.body !== undefined) {
    try {
      return readFileSync(flags.body === '-' ? 0 : flags.body);
    } catch (err) {
      fail(`cannot read --body ${flags.body}: ${(err as Error).message}`, EXIT_USAGE);
    }
  }
  const body = readBody(store, c.id, REQUEST);
  const partial = partialRequestBody(c, body);
  if (partial) fail(`capture ${c.id}: ${describePartialBody(partial)}; pass --body FILE to replay it`);
  return body;
}

/** Re-signs the captured request when its provider and a secret are known, and says what it did on stderr. */
function resign(c: Capture, body: Buffer, secrets: readonly WebhookSecret[]): { path: string; headers: string[] } {
  const r = resignCaptured(c, body, secrets);
  const timestamped = r.provider === 'stripe' || r.provider === 'slack' || r.provider === 'standard';
  if (r.resigned) process.stderr.write(`${chalk.gray(`re-signed for ${r.provider}${timestamped ? ' with a fresh timestamp' : ''} (--no-resign sends the captured signature)`)}\n`);
  else if (r.provider) process.stderr.write(`${chalk.yellow('warning')} the ${r.provider} signature is sent as captured: no secret for it (pass --secret, --verify ${r.provider}=…, or set HOOKTUNNEL_VERIFY)\n`);
  return r;
}

/**
 * `hooktunnel replay <id>`: sends the captured request again through the agent's forwarding code, records the
 * replay (with `replayOf`), prints it like a live request. Exit 0 when the target answered, 1 when it did not.
 */
export async function runReplay(id: string, flags: ReplayFlags): Promise<void> {
  // Bad secrets are bad input (exit 2), found before anything is opened.
  const configured = commandSecrets(flags);
  const { store, writable } = replayStore(flags);
  const c = withCapture(() => findCapture(store, id));
  const body = replayBody(flags, store, c);
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
  const signed = flags.resign === false ? { path: c.path, headers: [...c.requestHeaders] } : resign(c, body, secrets);
  // Explicit --header values come last, so a signature header given by hand wins over the re-signed one.
  const headers = applyHeaderOverrides(signed.headers, flags.header ?? []);
  const events = replayEvents();
  let answered = false;
  events.on('exchange-response', () => (answered = true));
  if (writable) attachRecorder(events, store, (err) => process.stderr.write(`${chalk.yellow('warning')} the replay was not captured: ${err.message}\n`));
  // A Host given with --header is sent as given; otherwise the target's, as the agent does.
  const preserveHost = (flags.header ?? []).some((h) => /^host\s*:\s*\S/i.test(h));
  const event = await replayRequest(events, target, { method: c.method, path: signed.path, headers, body }, {
    replayOf: c.id, tunnel: c.tunnel, preserveHost,
    verify: secrets.length > 0 ? { secrets } : undefined, publicUrl: capturedPublicUrl(c.requestHeaders, c.tunnel),
  });
  store.close();
  process.stdout.write(flags.json ? jsonLine(event) : `${formatRequestLine(event)}\n`);
  if (!answered) {
    process.stderr.write(`${chalk.red('error')} ${event.message ?? `${target.display} did not answer`}\n`);
    process.exitCode = EXIT_FAILURE;
  }
}
