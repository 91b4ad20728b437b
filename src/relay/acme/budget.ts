/** Default number of on-demand orders (tunnel hosts) per hour: well inside Let's Encrypt's own limits. */
export const DEFAULT_ORDERS_PER_HOUR = 20;
/** Default number of on-demand orders in progress at once. */
export const DEFAULT_MAX_PENDING_ORDERS = 3;

const HOUR_MS = 3600_000;

/**
 * How many on-demand orders may start: at most `perHour` in any rolling hour and `maxPending` at once. The base
 * certificate and renewals do not draw on it; a handshake that finds it spent gets the base certificate.
 */
export class OrderBudget {
  private readonly started: number[] = [];
  private inProgress = 0;

  constructor(
    private readonly perHour: number,
    private readonly maxPending: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Orders in progress now. */
  get pending(): number {
    return this.inProgress;
  }

  /** Takes one order if the budget allows; the caller calls `done()` when it ends (issued or failed). */
  take(): boolean {
    const now = this.now();
    while (this.started.length > 0 && this.started[0]! <= now - HOUR_MS) this.started.shift();
    if (this.started.length >= this.perHour || this.inProgress >= this.maxPending) return false;
    this.started.push(now);
    this.inProgress++;
    return true;
  }

  done(): void {
    this.inProgress--;
  }
}

/** The pause before retry number `failures` (1, 2, …): `minMs` doubled each time, at most `maxMs`. */
export function retryDelay(failures: number, minMs: number, maxMs: number): number {
  return Math.min(maxMs, minMs * 2 ** Math.min(30, Math.max(0, failures - 1)));
}
