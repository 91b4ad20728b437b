import { ErrorCode, HooktunnelError } from '../errors.js';
import type { TestExchange } from './collector.js';
import { describeExchange, describeMatch, matches, type ExchangeMatch } from './match.js';

/** The exchanges that arrived, with the waiters waiting for them (see TestTunnel.waitFor). */
export class Mailbox {
  readonly all: TestExchange[] = [];
  private readonly taken = new Set<string>();
  private readonly waiters: Array<{ match: ExchangeMatch; resolve: (e: TestExchange) => void; reject: (err: Error) => void }> = [];

  /** A finished exchange: handed to the first waiter it matches (then taken), else kept for a later waitFor. */
  add(e: TestExchange): void {
    this.all.push(e);
    const i = this.waiters.findIndex((w) => matches(w.match, e));
    if (i < 0) return;
    const [w] = this.waiters.splice(i, 1);
    this.taken.add(e.id);
    w!.resolve(e);
  }

  /** The first untaken exchange matching `match`, now or within `timeoutMs`. */
  wait(match: ExchangeMatch, timeoutMs: number): Promise<TestExchange> {
    const ready = this.all.find((e) => !this.taken.has(e.id) && matches(match, e));
    if (ready) {
      this.taken.add(ready.id);
      return Promise.resolve(ready);
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (e: TestExchange) => (clearTimeout(timer), resolve(e)),
        reject: (err: Error) => (clearTimeout(timer), reject(err)),
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        const arrived = this.all.map((e) => `  ${describeExchange(e, this.taken.has(e.id))}`).join('\n');
        reject(new HooktunnelError(ErrorCode.WaitTimeout,
          `waitFor(${describeMatch(match)}): nothing matching within ${timeoutMs} ms; ${arrived ? `arrived instead:\n${arrived}` : 'nothing arrived'}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Rejects every waiter: the tunnel is closing. */
  close(): void {
    for (const w of this.waiters.splice(0)) w.reject(new HooktunnelError(ErrorCode.WaitTimeout, `waitFor(${describeMatch(w.match)}): the tunnel was closed first`));
  }
}
