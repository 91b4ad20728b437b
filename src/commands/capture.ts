import { existsSync } from 'node:fs';
import { join } from 'node:path';
import chalk from 'chalk';
import { toCurl } from '../capture/curl.js';
import { toHar, type CaptureWithBodies } from '../capture/har.js';
import { findCapture, listCaptures, partialRequestBody, readBody, selectCaptures, type Capture } from '../capture/queries.js';
import { REQUEST, RESPONSE } from '../capture/schema.js';
import { DB_FILE } from '../capture/defaults.js';
import { IMPORTED_TUNNEL } from '../capture/har-import.js';
import type { CaptureStore } from '../capture/store.js';
import { resolveDataDir } from '../paths.js';
import { headerPairs } from '../protocol/headers.js';
import { exchangeText } from '../ui/exchange-text.js';
import { describePartialBody, formatBytes, formatClock, formatDuration, sanitize } from '../ui/format.js';
import { deliveryText, signatureMark } from '../ui/printers.js';
import { deliveryState } from '../model/exchange.js';
import { openStore, withCapture, type StoreFlags } from './store-access.js';

function bodies(store: CaptureStore, c: Capture): CaptureWithBodies {
  return { capture: c, requestBody: readBody(store, c.id, REQUEST), responseBody: readBody(store, c.id, RESPONSE) };
}

/**
 * The `requests --json` line: a public contract, like the agent's `--json` events (add fields, never rename).
 * `signature` only when the capture has one, as on the request event.
 */
function summaryJson(c: Capture): string {
  return JSON.stringify({
    id: c.id, time: new Date(c.time).toISOString(), tunnel: c.tunnel, method: c.method, path: c.path, status: c.status, durationMs: c.durationMs, replayOf: c.replayOf ?? null,
    ...(c.signature ? { signature: c.signature } : {}), target: c.target, ...routing(c), ...(c.upgrade ? { upgrade: c.upgrade } : {}), ...deliveryJson(c),
  });
}

/**
 * A project run's fields, as on the `--json` request events: `name` (the tunnel's name), `route`, `mode`; an ack
 * delivery's `ackAttempt` (`{"n":2,"of":5}`) and `delivery` (`delivered`, `retrying`, `failed`).
 */
function routing(c: Capture): Record<string, unknown> {
  const delivery = deliveryState(c);
  return {
    ...(c.tunnelName !== undefined ? { name: c.tunnelName } : {}), ...(c.route !== undefined ? { route: c.route } : {}), ...(c.mode ? { mode: c.mode } : {}),
    ...(c.ackAttempt ? { ackAttempt: c.ackAttempt } : {}), ...(delivery ? { delivery } : {}),
  };
}

/** `hooks/invoices` (tunnel name and route) for a project run's capture; empty otherwise. */
function routeColumn(c: Capture): string {
  if (c.route === undefined) return '';
  const mode = c.mode && c.mode !== 'passthrough' ? ` ${c.mode}` : '';
  return `${c.tunnelName !== undefined ? `${sanitize(c.tunnelName)}/` : ''}${sanitize(c.route)}${mode}`;
}

/** `deliveryId`, `attempt`, `redeliveryOf` (null on a first delivery) when the capture has a delivery id; else nothing. */
function deliveryJson(c: Capture): object {
  return c.deliveryId ? { deliveryId: c.deliveryId, attempt: c.attempt ?? 1, redeliveryOf: c.redeliveryOf ?? null } : {};
}

/** The redelivery column: `#2 of <first id>` on a redelivery, blank otherwise. */
function redeliveryMark(c: Capture): string {
  return c.redeliveryOf ? chalk.magenta(`redelivery #${c.attempt ?? '?'} of ${c.redeliveryOf}`) : '';
}

function summaryLine(c: Capture): string {
  const failed = c.error !== undefined && !c.responseHeaders;
  const status = failed ? chalk.red(String(c.status || '---')) : c.status >= 400 ? chalk.yellow(String(c.status)) : chalk.green(String(c.status || '...'));
  const marks = [
    c.ackAttempt ? deliveryText({ ackAttempt: c.ackAttempt, delivery: deliveryState(c) }) : '',
    c.signature ? signatureMark(c.signature) : '',
    c.replayOf ? chalk.magenta(`replay of ${c.replayOf}`) : '',
    c.upgrade ? chalk.cyan(`⇅ ${sanitize(c.upgrade.protocol)} ${c.upgrade.messagesIn}/${c.upgrade.messagesOut} msgs`) : '',
    redeliveryMark(c),
    c.missed ? chalk.magenta('missed') : '',
    c.tunnel === IMPORTED_TUNNEL ? chalk.magenta('imported') : '',
    c.error ? chalk.red(sanitize(c.error)) : '',
    c.requestTruncated || c.responseTruncated ? chalk.yellow('truncated') : '',
    c.complete ? '' : chalk.yellow('incomplete'),
  ].filter(Boolean).join(' ');
  const sizes = `${formatBytes(c.requestBytes)} -> ${formatBytes(c.responseBytes)}`;
  const route = routeColumn(c);
  return `${chalk.gray(c.id)}  ${formatClock(c.time)}  ${route ? `${chalk.cyan(route)}  ` : ''}${chalk.bold(sanitize(c.method).padEnd(6))} ${sanitize(c.path)}  ${status}  ${formatDuration(c.durationMs)}  ${sizes}${marks ? `  ${marks}` : ''}`;
}

function showJson(c: Capture, b: CaptureWithBodies): string {
  return `${JSON.stringify({
    id: c.id, time: new Date(c.time).toISOString(), tunnel: c.tunnel, target: c.target, durationMs: c.durationMs,
    replayOf: c.replayOf ?? null, missed: c.missed, complete: c.complete, error: c.error ?? null, message: c.message ?? null,
    signature: c.signature ?? null, ...routing(c),
    upgrade: c.upgrade ?? null,
    deliveryId: c.deliveryId ?? null, attempt: c.attempt ?? null, redeliveryOf: c.redeliveryOf ?? null,
    request: { method: c.method, path: c.path, headers: headerPairs(c.requestHeaders), bodyBase64: b.requestBody.toString('base64'), bodyBytes: c.requestBytes, truncated: c.requestTruncated },
    response: c.responseHeaders
      ? { status: c.status, headers: headerPairs(c.responseHeaders), bodyBase64: b.responseBody.toString('base64'), bodyBytes: c.responseBytes, truncated: c.responseTruncated }
      : null,
  })}\n`;
}

/** `hooktunnel requests`: the newest captures, one line (or JSON object) each. */
export function runRequests(opts: StoreFlags & { limit: number; json?: boolean; tunnel?: string; route?: string; redeliveries?: boolean }): void {
  const dir = resolveDataDir(opts.dataDir);
  // Nothing captured yet is an empty list, not an error.
  if (!existsSync(join(dir, DB_FILE))) return void process.stderr.write(`no captures yet in ${dir}\n`);
  const store = openStore(opts, true);
  const out = listCaptures(store, opts.limit, { tunnel: opts.tunnel, route: opts.route, redeliveries: opts.redeliveries === true }).map((c) => `${opts.json ? summaryJson(c) : summaryLine(c)}\n`);
  store.close();
  process.stdout.write(out.join(''));
}

/** `hooktunnel show <id>`: one exchange with its headers and bodies. */
export function runShow(id: string, opts: StoreFlags & { json?: boolean }): void {
  const store = openStore(opts, true);
  const c = withCapture(() => findCapture(store, id));
  const b = bodies(store, c);
  store.close();
  process.stdout.write(opts.json ? showJson(c, b) : exchangeText(c, b.requestBody, b.responseBody));
}

/** `hooktunnel export [ids...]`: captures as HAR 1.2 or curl commands on stdout. */
export function runExport(ids: string[], opts: StoreFlags & { format: 'har' | 'curl' }, version: string): void {
  const store = openStore(opts, true);
  const items = withCapture(() => selectCaptures(store, ids)).map((c) => bodies(store, c));
  store.close();
  if (opts.format === 'har') return void process.stdout.write(`${JSON.stringify(toHar(items, version), null, 2)}\n`);
  // A command that cannot send the whole body still says what it sends: never a silently different request.
  for (const { capture: c, requestBody } of items) {
    const partial = partialRequestBody(c, requestBody);
    if (partial) process.stderr.write(`${chalk.yellow('warning')} capture ${c.id}: ${describePartialBody(partial)}; its curl command sends that part\n`);
  }
  process.stdout.write(items.map((item) => `${toCurl(item)}\n`).join(''));
}
