import { X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import { DEFAULT_MAX_PENDING_ORDERS, DEFAULT_ORDERS_PER_HOUR, OrderBudget, retryDelay } from './budget.js';
import { AcmeIssuer } from './issuer.js';
import type { CertStore, StoredCertificate } from './store.js';

/** A certificate is renewed once this share of its lifetime has passed. */
export const RENEW_AT_SHARE = 2 / 3;
/** Timers are re-armed at least this often, so a long-lived certificate never needs a timer beyond Node's 24.8 days. */
const MAX_TIMER_MS = 6 * 3600_000;
/** How long a TLS handshake for a new tunnel host waits for its certificate before it gets the base one. */
const ON_DEMAND_WAIT_MS = 60_000;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** What a CertManager needs besides the store. */
export interface CertManagerOptions {
  readonly domain: string;
  readonly issuer: AcmeIssuer;
  readonly store: CertStore;
  /** Whether tunnel `id` exists (connected or reserved): only those get a certificate of their own. */
  readonly exists: (id: string) => boolean | Promise<boolean>;
  /** One wildcard certificate (DNS-01) instead of one per tunnel host. */
  readonly wildcard: boolean;
  readonly ordersPerHour?: number;
  readonly maxPendingOrders?: number;
  /** First pause after a failed order; doubled each time up to `retryMaxMs`. Defaults 60 s and 1 h. */
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  /** Installs a new default certificate (for handshakes without SNI or for unknown names). */
  readonly setDefault: (cert: StoredCertificate) => void;
  /** A line for the operator (issued, renewed, failed). */
  readonly log: (line: string) => void;
}

/** A certificate being served, with its renewal state. */
interface Held {
  readonly stored: StoredCertificate;
  readonly context: SecureContext;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly serial: string;
  readonly renewAt: number;
  failures: number;
  lastError?: string;
  nextAttemptAt?: number;
  timer?: NodeJS.Timeout;
}

/** A certificate whose last renewal (or on-demand order) failed, as health reports it. */
export interface FailingCertificate {
  readonly name: string;
  readonly error: string;
  readonly failures: number;
  /** When the next attempt is due (ISO time). */
  readonly nextAttemptAt: string;
  /** Until when the certificate still served is valid (ISO time); absent when there is none. */
  readonly validUntil?: string;
}

/** ACME state in `/_hooktunnel/health` and `/_hooktunnel/metrics`. */
export interface AcmeStatus {
  /** False while the base certificate is missing or any renewal is failing. */
  readonly ok: boolean;
  readonly challenge: 'http-01' | 'dns-01';
  /** Certificates served now. */
  readonly certificates: number;
  /** Until when the base (or wildcard) certificate is valid (ISO time). */
  readonly validUntil?: string;
  /** Orders placed since start; issued and renewed count the ones that succeeded, failures the others. */
  readonly orders: number;
  readonly issued: number;
  readonly renewed: number;
  readonly failures: number;
  /** Handshakes for names that are not tunnels of this relay: no order placed. */
  readonly refused: number;
  /** Handshakes for tunnel hosts that got no order because of the hourly budget, the pending bound or a backoff. */
  readonly limited: number;
  readonly pending: number;
  readonly failing: readonly FailingCertificate[];
}

/**
 * The certificates a relay serves over ACME: the base domain's (or the wildcard's) obtained at start, each tunnel
 * host's on demand at its first TLS handshake (SNI), each renewed at two thirds of its lifetime without a restart.
 * A failed renewal is retried with backoff while the old certificate keeps being served.
 */
export class CertManager {
  private readonly held = new Map<string, Held>();
  private readonly pending = new Map<string, Promise<Held | undefined>>();
  private readonly failed = new Map<string, { error: string; failures: number; until: number }>();
  private readonly budget: OrderBudget;
  private readonly counts = { issued: 0, renewed: 0, failures: 0, refused: 0, limited: 0 };
  private readonly primary: string;
  private closed = false;

  constructor(private readonly options: CertManagerOptions) {
    this.primary = options.wildcard ? `*.${options.domain}` : options.domain;
    this.budget = new OrderBudget(options.ordersPerHour ?? DEFAULT_ORDERS_PER_HOUR, options.maxPendingOrders ?? DEFAULT_MAX_PENDING_ORDERS);
  }

  /** Loads the kept certificates; orders the base one if none is kept. Throws `acme_failed` if that order fails. */
  async start(): Promise<void> {
    for (const stored of await this.options.store.loadCertificates()) {
      if (stored.name === this.primary || (!this.options.wildcard && this.tunnelOf(stored.name) !== undefined)) this.install(stored);
    }
    if (!this.held.has(this.primary)) await this.obtain(this.primary, 'issued');
  }

  /** For `tls.createServer({ SNICallback })`: the current certificate for `servername`. */
  readonly sniCallback = (servername: string, done: (err: Error | null, ctx?: SecureContext) => void): void => {
    this.contextFor(servername.toLowerCase().replace(/\.$/, '')).then(
      (ctx) => done(null, ctx ?? this.held.get(this.primary)?.context),
      (err: Error) => done(err),
    );
  };

  status(): AcmeStatus {
    const now = Date.now();
    const failing: FailingCertificate[] = [];
    for (const h of this.held.values()) {
      if (h.lastError !== undefined) failing.push({ name: h.stored.name, error: h.lastError, failures: h.failures, nextAttemptAt: iso(h.nextAttemptAt ?? now), validUntil: iso(h.notAfter) });
    }
    for (const [name, f] of this.failed) if (f.until > now) failing.push({ name, error: f.error, failures: f.failures, nextAttemptAt: iso(f.until) });
    const base = this.held.get(this.primary);
    return {
      ok: base !== undefined && base.lastError === undefined && [...this.held.values()].every((h) => h.lastError === undefined),
      challenge: this.options.wildcard ? 'dns-01' : 'http-01',
      certificates: this.held.size,
      ...(base ? { validUntil: iso(base.notAfter) } : {}),
      orders: this.options.issuer.orders,
      ...this.counts,
      pending: this.budget.pending,
      failing,
    };
  }

  /** Stops renewing (orders in progress finish; their results are not installed). */
  close(): void {
    this.closed = true;
    for (const h of this.held.values()) clearTimeout(h.timer);
  }

  private tunnelOf(name: string): string | undefined {
    const suffix = `.${this.options.domain}`;
    if (!name.endsWith(suffix)) return undefined;
    const label = name.slice(0, -suffix.length);
    return LABEL.test(label) ? label : undefined;
  }

  private async contextFor(name: string): Promise<SecureContext | undefined> {
    if (this.options.wildcard || name === this.options.domain) return this.held.get(this.primary)?.context;
    const id = this.tunnelOf(name);
    if (id === undefined || !(await this.options.exists(id))) {
      this.counts.refused++;
      return undefined;
    }
    const held = this.held.get(name);
    if (held) return held.context;
    return (await this.onDemand(name))?.context;
  }

  /** The first handshake for a tunnel host: one order per name at a time, within the budget, not while backing off. */
  private onDemand(name: string): Promise<Held | undefined> {
    const inFlight = this.pending.get(name);
    if (inFlight) return inFlight;
    const failed = this.failed.get(name);
    if ((failed && failed.until > Date.now()) || !this.budget.take()) {
      this.counts.limited++;
      return Promise.resolve(undefined);
    }
    const order = this.obtain(name, 'issued')
      .then((held) => (this.failed.delete(name), held))
      .catch((err: Error) => {
        const failures = (failed?.failures ?? 0) + 1;
        this.failed.set(name, { error: err.message, failures, until: Date.now() + this.retryDelay(failures) });
        this.options.log(`${err.message}; ${name} gets the base certificate meanwhile`);
        return undefined;
      })
      .finally(() => {
        this.budget.done();
        this.pending.delete(name);
      });
    this.pending.set(name, order);
    let timer: NodeJS.Timeout | undefined;
    const wait = new Promise<undefined>((resolve) => (timer = setTimeout(resolve, ON_DEMAND_WAIT_MS, undefined)));
    return Promise.race([order, wait]).finally(() => clearTimeout(timer));
  }

  /**
   * Under the store's lock for `name`: a certificate another holder has just put there (not yet due) is taken as
   * it is; otherwise one is ordered and kept. Installs it; throws `acme_failed` when the order fails.
   */
  private async obtain(name: string, outcome: 'issued' | 'renewed'): Promise<Held | undefined> {
    const { store, issuer } = this.options;
    try {
      let ordered = false;
      const stored = await store.withLock(name, async () => {
        const kept = await store.loadCertificate(name);
        const current = this.held.get(name);
        if (kept && (!current || kept.certPem !== current.stored.certPem) && Date.now() < renewTime(kept)) return kept;
        const fresh = await issuer.order(name === this.primary && this.options.wildcard ? [name, this.options.domain] : [name]);
        await store.saveCertificate(fresh);
        this.counts[outcome]++;
        ordered = true;
        return fresh;
      });
      if (this.closed) return undefined;
      const held = this.install(stored);
      // With a shared store, another relay may have obtained it while this one waited for the lock.
      this.options.log(`certificate for ${name} ${ordered ? outcome : 'taken from the store'}, valid until ${iso(held.notAfter)}`);
      return held;
    } catch (err) {
      this.counts.failures++;
      throw err;
    }
  }

  private install(stored: StoredCertificate): Held {
    const leaf = new X509Certificate(stored.certPem);
    const notBefore = Date.parse(leaf.validFrom);
    const notAfter = Date.parse(leaf.validTo);
    const held: Held = {
      stored,
      context: createSecureContext({ cert: stored.certPem, key: stored.keyPem }),
      notBefore,
      notAfter,
      serial: leaf.serialNumber,
      renewAt: renewTime(stored),
      failures: 0,
    };
    clearTimeout(this.held.get(stored.name)?.timer);
    this.held.set(stored.name, held);
    if (stored.name === this.primary) this.options.setDefault(stored);
    this.schedule(held);
    return held;
  }

  private schedule(held: Held): void {
    if (this.closed) return;
    const due = held.nextAttemptAt ?? held.renewAt;
    held.timer = setTimeout(() => void this.renewIfDue(held.stored.name), Math.max(0, Math.min(MAX_TIMER_MS, due - Date.now())));
    held.timer.unref();
  }

  private async renewIfDue(name: string): Promise<void> {
    const held = this.held.get(name);
    if (!held || this.closed) return;
    if (Date.now() < (held.nextAttemptAt ?? held.renewAt)) return this.schedule(held);
    const id = this.tunnelOf(name);
    if (name !== this.primary && id !== undefined && !(await this.options.exists(id))) {
      // The tunnel is gone: its certificate is neither renewed nor kept.
      this.held.delete(name);
      await this.options.store.deleteCertificate(name).catch((err: Error) => this.options.log(`cannot delete the certificate of ${name}: ${err.message}`));
      return;
    }
    try {
      await this.obtain(name, 'renewed');
    } catch (err) {
      held.failures++;
      held.lastError = (err as Error).message;
      const delay = this.retryDelay(held.failures);
      held.nextAttemptAt = Date.now() + delay;
      this.options.log(`${held.lastError}; renewal of ${name} failed ${held.failures} time(s); the current certificate (valid until ${iso(held.notAfter)}) is still served; next try in ${Math.round(delay / 1000)} s`);
      this.schedule(held);
    }
  }

  private retryDelay(failures: number): number {
    return retryDelay(failures, this.options.retryMinMs ?? 60_000, this.options.retryMaxMs ?? 3600_000);
  }
}

function renewTime(stored: StoredCertificate): number {
  const leaf = new X509Certificate(stored.certPem);
  const notBefore = Date.parse(leaf.validFrom);
  return notBefore + (Date.parse(leaf.validTo) - notBefore) * RENEW_AT_SHARE;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
