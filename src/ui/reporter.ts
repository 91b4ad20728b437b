import type { EventEmitter } from 'node:events';
import chalk from 'chalk';
import type { AgentEventMap, ReadyEvent, StateEvent } from '../agent/events.js';
import { formatDuration, formatClock, sanitize } from './format.js';
import { EMBEDDED_NOTICE, formatReady, formatRequestLine, jsonLine, signatureMark, type LineSink } from './printers.js';

/** Where a reporter writes: `out` gets the lines a script may read, `err` the human notices. */
export interface ReporterSinks {
  readonly out: LineSink;
  readonly err: LineSink;
}

/**
 * Prints an agent's events: with `json`, one JSON object per line on `out` (ready, request, state, missed, dropped)
 * and nothing else there; otherwise a readable line per exchange on `out` and connection notices on `err`.
 */
export function attachReporter(events: EventEmitter<AgentEventMap>, ready: ReadyEvent, options: { json: boolean; embedded: boolean }, sinks: ReporterSinks): void {
  const { out, err } = sinks;
  // Attached at the first `ready`, which the agent follows with `online`: the ready line says that already.
  let readySaidOnline = true;
  const news = (e: StateEvent): boolean => {
    const repeat = readySaidOnline && e.state === 'online';
    readySaidOnline = false;
    return !repeat;
  };
  if (options.json) {
    out.write(jsonLine(ready));
    // Human text, so stderr: stdout stays NDJSON only.
    if (options.embedded) err.write(`${chalk.yellow(EMBEDDED_NOTICE)}\n`);
    events.on('request', (e) => out.write(jsonLine(e)));
    events.on('state', (e) => news(e) && out.write(`${JSON.stringify(e)}\n`));
    events.on('missed', (e) => {
      const line = { type: 'missed', id: e.id, time: e.time, method: e.method, path: e.path, status: e.status, requestBytes: e.body.length, ...(e.signature ? { signature: e.signature } : {}) };
      out.write(`${JSON.stringify(line)}\n`);
    });
    events.on('dropped', (e) => out.write(`${JSON.stringify(e)}\n`));
    events.on('mode', (e) => out.write(`${JSON.stringify(e)}\n`));
    return;
  }
  out.write(`${formatReady(ready, options.embedded)}\n`);
  events.on('request', (e) => out.write(`${formatRequestLine(e)}\n`));
  events.on('missed', (e) =>
    out.write(`${chalk.gray(formatClock(e.time))}  ${chalk.magenta('MISSED')} ${chalk.bold(sanitize(e.method))} ${sanitize(e.path)}  arrived while offline; the sender got ${e.status}${e.signature ? `  ${signatureMark(e.signature)}` : ''}\n`),
  );
  events.on('mode', (e) => out.write(`${chalk.gray(formatClock(Date.now()))}  ${chalk.cyan('MODE')}   route ${sanitize(e.route)}: ${e.previous} -> ${chalk.bold(e.mode)}\n`));
  events.on('dropped', (e) => err.write(`${chalk.red('lost')} ${e.count} request(s) arrived while offline and did not fit in the relay's queue\n`));
  events.on('state', (e) => {
    if (!news(e)) return;
    if (e.state === 'reconnecting') err.write(`${chalk.yellow('reconnecting')} attempt ${e.attempt}, next try in ${formatDuration(e.delayMs)}: ${sanitize(e.reason)}\n`);
    else if (e.state === 'online') err.write(`${chalk.green('online')} ${e.url}\n`);
    else err.write(`${chalk.red('offline')} ${sanitize(e.reason)}\n`);
  });
}
