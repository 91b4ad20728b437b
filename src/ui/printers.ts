import chalk, { type ChalkInstance } from 'chalk';
import type { ReadyEvent, RequestEvent } from '../agent/events.js';
import type { SignatureCheck } from '../model/signature.js';
import { formatBytes, formatClock, formatDuration, sanitize } from './format.js';

/** Where printers write: a stream-like sink, so tests can capture lines. */
export interface LineSink {
  write(text: string): unknown;
}

function statusColour(c: ChalkInstance, status: number, error?: string): ChalkInstance {
  if (error || status >= 500) return c.red;
  if (status >= 400) return c.yellow;
  if (status >= 300) return c.cyan;
  if (status === 0) return c.gray;
  return c.green;
}

/** The short signature mark of a line: `✓ stripe`, `✗ github mismatch`, `unsigned`. Plain text from strangers is sanitised. */
export function signatureMark(check: SignatureCheck, c: ChalkInstance = chalk): string {
  if (check.status === 'valid') return c.green(`✓ ${sanitize(check.provider ?? '')}`);
  if (check.status === 'unsigned') return c.gray('unsigned');
  return c.red(`✗ ${sanitize(check.provider ?? '')} ${sanitize(check.reason ?? '')}`.trimEnd());
}

/** One readable line per exchange: `12:00:01  POST /hooks  200  3.1 ms  1.2 KB -> 17 B  ✓ stripe`. */
export function formatRequestLine(e: RequestEvent, c: ChalkInstance = chalk): string {
  const status = statusColour(c, e.status, e.error)(String(e.status || '---'));
  const path = sanitize(e.path.length > 120 ? `${e.path.slice(0, 117)}...` : e.path);
  const replay = `${e.signature ? `  ${signatureMark(e.signature, c)}` : ''}${e.replayOf ? `  ${c.magenta(`replay of ${e.replayOf}`)}` : ''}`;
  const route = e.route !== undefined ? `  ${c.cyan(`route ${sanitize(e.route)}${e.mode && e.mode !== 'passthrough' ? ` (${e.mode})` : ''}`)}` : '';
  const attempt = e.ackAttempt ? `  ${deliveryText(e, c)}` : '';
  const upgrade = e.upgrade ? `  ${c.cyan(`⇅ ${sanitize(e.upgrade.protocol)} ${e.upgrade.messagesIn}/${e.upgrade.messagesOut} msgs ${formatBytes(e.upgrade.bytesIn)} -> ${formatBytes(e.upgrade.bytesOut)}`)}` : '';
  const again = e.redeliveryOf ? `  ${c.magenta(`redelivery #${e.attempt ?? '?'} of ${e.redeliveryOf}`)}` : '';
  const tail = `${route}${attempt}${replay}${again}${upgrade}${e.error ? `  ${c.red(e.error)}${e.message ? c.gray(` ${sanitize(e.message)}`) : ''}` : ''}`;
  return `${c.gray(formatClock(Date.now()))}  ${c.bold(sanitize(e.method).padEnd(6))} ${path}  ${status}  ${formatDuration(e.durationMs)}  ${formatBytes(e.requestBytes)} -> ${formatBytes(e.responseBytes)}${tail}`;
}

/** An ack delivery's attempt and where it stands: `attempt 2/5, retrying`, `attempt 5/5, failed, replayable`. */
export function deliveryText(e: Pick<RequestEvent, 'ackAttempt' | 'delivery'>, c: ChalkInstance = chalk): string {
  const text = `attempt ${e.ackAttempt!.n}/${e.ackAttempt!.of}`;
  if (e.delivery === 'failed') return c.red(`${text}, failed, replayable`);
  return e.delivery ? `${text}, ${e.delivery}` : text;
}

/** What the agent says when it started its own relay: the URL works on this machine only. */
export const EMBEDDED_NOTICE = 'embedded relay on 127.0.0.1: this URL is reachable from this machine only (use --relay for a public one)';

/** Human banner once the tunnel is up. */
export function formatReady(e: ReadyEvent, embedded: boolean, c: ChalkInstance = chalk): string {
  const lines = [`${c.green('●')} ${c.bold(e.url)} -> ${e.target}`];
  if (embedded) lines.push(c.yellow(`  ${EMBEDDED_NOTICE}`));
  else lines.push(c.gray(`  relay ${e.relay}`));
  return lines.join('\n');
}

/** Newline-delimited JSON: one event per line, nothing else. */
export function jsonLine(event: ReadyEvent | RequestEvent): string {
  return `${JSON.stringify(event)}\n`;
}

/**
 * Lines written within this long of the previous write to the sink wait for the next one. Each write wakes the
 * reader (a terminal, `jq`, a supervisor), and on a small machine that wake-up competes with the relay and the
 * sender for the CPUs: one line per exchange to a pipe added about 0.1 ms to every exchange at c=1 in the
 * benchmark. A person or a program reading the lines does not see 10 ms.
 */
export const LINE_PACE_MS = 10;

/**
 * Wraps a sink so that lines go out in as few writes as possible: at the end of the event-loop turn when the sink
 * has been quiet for LINE_PACE_MS (a lone webhook's line is not delayed), else gathered until LINE_PACE_MS after
 * the previous write. Under load the printer costs one syscall, and its reader one wake-up, per 10 ms instead of
 * one per exchange. `flush()` writes what is pending now (before an exit).
 */
export function batchedLines(sink: LineSink): LineSink & { flush(): void } {
  let pending = '';
  let lastWrite = -Infinity;
  let immediate: NodeJS.Immediate | undefined;
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    if (immediate) clearImmediate(immediate);
    if (timer) clearTimeout(timer);
    immediate = timer = undefined;
    if (pending === '') return;
    const text = pending;
    pending = '';
    lastWrite = performance.now();
    sink.write(text);
  };
  return {
    write(text: string) {
      pending += text;
      if (!immediate && !timer) {
        const wait = lastWrite + LINE_PACE_MS - performance.now();
        if (wait <= 0) immediate = setImmediate(flush);
        else timer = setTimeout(flush, Math.ceil(wait));
      }
      return true;
    },
    flush,
  };
}
