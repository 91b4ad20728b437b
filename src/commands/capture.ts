import { readFileSync } from 'node:fs';
import chalk from 'chalk';
import { Command, InvalidArgumentError, Option } from 'commander';
import { replayEvents, replayRequest } from '../agent/replay.js';
import { parseTarget, type Target } from '../agent/target.js';
import { toCurl } from '../capture/curl.js';
import { toHar, type CaptureWithBodies } from '../capture/har.js';
import { findCapture, listCaptures, readBody, selectCaptures, type Capture } from '../capture/queries.js';
import { attachRecorder } from '../capture/recorder.js';
import { CaptureStore, REQUEST, RESPONSE } from '../capture/store.js';
import { ErrorCode, isHooktunnelError } from '../errors.js';
import { resolveDataDir } from '../paths.js';
import { exchangeText } from '../ui/exchange-text.js';
import { formatBytes, formatClock, formatDuration, sanitize } from '../ui/format.js';
import { formatRequestLine, jsonLine } from '../ui/printers.js';
import { EXIT_FAILURE, fail, intOption } from './shared.js';

interface StoreFlags {
  dataDir?: string;
}

function openStore(flags: StoreFlags, readonly: boolean): CaptureStore {
  try {
    return CaptureStore.open(resolveDataDir(flags.dataDir), { readonly });
  } catch (err) {
    fail(isHooktunnelError(err) ? err.message : `cannot open the capture store: ${(err as Error).message}`);
  }
}

/** Runs `fn` and turns unknown/ambiguous ids into one line and exit 1. */
function withCapture<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (isHooktunnelError(err, ErrorCode.InvalidArgument)) fail(err.message, EXIT_FAILURE);
    throw err;
  }
}

function bodies(store: CaptureStore, c: Capture): CaptureWithBodies {
  return { capture: c, requestBody: readBody(store, c.id, REQUEST), responseBody: readBody(store, c.id, RESPONSE) };
}

function summaryJson(c: Capture): string {
  return JSON.stringify({ id: c.id, time: new Date(c.time).toISOString(), tunnel: c.tunnel, method: c.method, path: c.path, status: c.status, durationMs: c.durationMs, replayOf: c.replayOf ?? null });
}

function summaryLine(c: Capture): string {
  const status = c.error && !c.responseHeaders ? chalk.red(String(c.status || '---')) : c.status >= 400 ? chalk.yellow(String(c.status)) : chalk.green(String(c.status));
  const marks = [c.replayOf ? chalk.magenta(`replay of ${c.replayOf}`) : '', c.missed ? chalk.magenta('missed') : '', c.error ? chalk.red(c.error) : ''].filter(Boolean).join(' ');
  return `${chalk.gray(c.id)}  ${formatClock(c.time)}  ${chalk.bold(sanitize(c.method).padEnd(6))} ${sanitize(c.path)}  ${status}  ${formatDuration(c.durationMs)}  ${formatBytes(c.requestBytes)} -> ${formatBytes(c.responseBytes)}${marks ? `  ${marks}` : ''}`;
}

function showJson(c: Capture, b: CaptureWithBodies): string {
  const pairs = (raw: readonly string[]): string[][] => raw.flatMap((v, i) => (i % 2 === 0 ? [[v, raw[i + 1]!]] : []));
  return `${JSON.stringify({
    id: c.id, time: new Date(c.time).toISOString(), tunnel: c.tunnel, target: c.target, durationMs: c.durationMs,
    replayOf: c.replayOf ?? null, missed: c.missed, complete: c.complete, error: c.error ?? null, message: c.message ?? null,
    request: { method: c.method, path: c.path, headers: pairs(c.requestHeaders), bodyBase64: b.requestBody.toString('base64'), bodyBytes: c.requestBytes, truncated: c.requestTruncated },
    response: c.responseHeaders
      ? { status: c.status, headers: pairs(c.responseHeaders), bodyBase64: b.responseBody.toString('base64'), bodyBytes: c.responseBytes, truncated: c.responseTruncated }
      : null,
  })}\n`;
}

/** Applies `Name: value` overrides: replaces every header of that name, or adds it; `Name:` removes it. */
export function applyHeaderOverrides(headers: readonly string[], overrides: readonly string[]): string[] {
  let out = [...headers];
  for (const o of overrides) {
    const colon = o.indexOf(':');
    const name = o.slice(0, colon).trim();
    const value = o.slice(colon + 1).trim();
    out = out.filter((_, i) => out[i - (i % 2)]!.toLowerCase() !== name.toLowerCase());
    if (value !== '') out.push(name, value);
  }
  return out;
}

function headerArgument(value: string, previous: string[] = []): string[] {
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+:/.test(value)) throw new InvalidArgumentError(`--header must look like 'Name: value' (got "${value}").`);
  return [...previous, value];
}

function targetArgument(value: string): Target {
  try {
    return parseTarget(value);
  } catch (err) {
    throw new InvalidArgumentError(isHooktunnelError(err) ? err.message : String(err));
  }
}

async function runReplay(id: string, opts: StoreFlags & { to?: Target; header?: string[]; body?: string; json?: boolean }): Promise<void> {
  const store = openStore(opts, false);
  const c = withCapture(() => findCapture(store, id));
  let body = readBody(store, c.id, REQUEST);
  if (c.requestTruncated && opts.body === undefined) fail(`capture ${c.id} stored only ${formatBytes(body.length)} of its ${formatBytes(c.requestBytes)} body; pass --body to replay it`);
  if (opts.body !== undefined) {
    try {
      body = readFileSync(opts.body === '-' ? 0 : opts.body);
    } catch (err) {
      fail(`cannot read --body ${opts.body}: ${(err as Error).message}`, 2);
    }
  }
  const target = opts.to ?? parseTarget(c.target);
  const events = replayEvents();
  attachRecorder(events, store, (err) => process.stderr.write(`${chalk.yellow('warning')} the replay was not captured: ${err.message}\n`));
  const event = await replayRequest(events, target, { method: c.method, path: c.path, headers: applyHeaderOverrides(c.requestHeaders, opts.header ?? []), body }, { replayOf: c.id, tunnel: c.tunnel });
  store.close();
  process.stdout.write(opts.json ? jsonLine(event) : `${formatRequestLine(event)}\n`);
  if (event.error === ErrorCode.UpstreamUnreachable || event.error === ErrorCode.UpstreamTimeout) {
    if (!opts.json) process.stderr.write(`${chalk.red('error')} ${event.message}\n`);
    process.exit(EXIT_FAILURE);
  }
}

/** `requests`, `show`, `replay` and `export`: the commands that read the capture store. */
export function captureCommands(version: string): Command[] {
  const dataDir = (): Option => new Option('--data-dir <dir>', 'the agent\'s data directory (default: HOOKTUNNEL_HOME, else the platform data directory)');
  const requests = new Command('requests')
    .description('list the newest captured exchanges')
    .addOption(new Option('--limit <n>', 'how many').argParser(intOption('--limit', 1, 1_000_000)).default(20))
    .option('--json', 'one JSON object per capture, oldest first')
    .addOption(dataDir())
    .action((opts: StoreFlags & { limit: number; json?: boolean }) => {
      const store = openStore(opts, true);
      for (const c of listCaptures(store, opts.limit)) process.stdout.write(`${opts.json ? summaryJson(c) : summaryLine(c)}\n`);
    });
  const show = new Command('show')
    .description('show one exchange: headers and bodies')
    .argument('<id>', 'capture id, or a unique prefix of it')
    .option('--json', 'one JSON object with request and response, bodies in base64')
    .addOption(dataDir())
    .action((id: string, opts: StoreFlags & { json?: boolean }) => {
      const store = openStore(opts, true);
      const c = withCapture(() => findCapture(store, id));
      const b = bodies(store, c);
      process.stdout.write(opts.json ? showJson(c, b) : exchangeText(c, b.requestBody, b.responseBody));
    });
  const replay = new Command('replay')
    .description('send a captured request again (to its target, or --to another)')
    .argument('<id>', 'capture id, or a unique prefix of it')
    .option('--to <target>', 'send to this port, host:port or URL instead', targetArgument)
    .option('--header <header>', "override a header, 'Name: value' ('Name:' removes it); repeatable", headerArgument)
    .option('--body <file>', 'replace the body with this file (- for standard input)')
    .option('--json', 'print the {"type":"request",…} event instead of a line')
    .addOption(dataDir())
    .action((id: string, opts) => runReplay(id, opts));
  const exportCmd = new Command('export')
    .description('export captures as HAR 1.2 or curl commands')
    .argument('[ids...]', 'capture ids or unique prefixes (default: all, oldest first)')
    .addOption(new Option('--format <format>', 'output format').choices(['har', 'curl']).default('har'))
    .addOption(dataDir())
    .action((ids: string[], opts: StoreFlags & { format: 'har' | 'curl' }) => {
      const store = openStore(opts, true);
      const items = withCapture(() => selectCaptures(store, ids)).map((c) => bodies(store, c));
      if (opts.format === 'har') process.stdout.write(`${JSON.stringify(toHar(items, version), null, 2)}\n`);
      else for (const item of items) process.stdout.write(`${toCurl(item)}\n`);
    });
  return [requests, show, replay, exportCmd];
}
