import { createServer, type Server as HttpsServer, type ServerOptions } from 'node:https';
import { ErrorCode, HooktunnelError } from '../../errors.js';
import { listenChallengePort, type ChallengePort } from './challenge-port.js';
import { resolveDirectory } from './directory.js';
import { FileCertStore } from './file-store.js';
import { AcmeIssuer } from './issuer.js';
import { CertManager, type AcmeStatus } from './manager.js';
import type { CertStore } from './store.js';

export type { AcmeStatus, FailingCertificate } from './manager.js';
export type { CertStore, StoredCertificate } from './store.js';
export { FileCertStore } from './file-store.js';

/** Certificates from an ACME directory (Let's Encrypt by default) for a relay with a domain (`--acme-email`). */
export interface AcmeOptions {
  /** The contact address of the ACME account. */
  readonly email: string;
  /** Directory URL, or `production` / `staging` (Let's Encrypt). Default Let's Encrypt production. */
  readonly directory?: string;
  /** PEM CA that the directory's own HTTPS certificate is checked against (a private ACME server; `--acme-ca`). */
  readonly directoryCa?: string | Buffer;
  /** Where the account key and certificates are kept: a FileCertStore here (`<data dir>/acme`). */
  readonly dir?: string;
  /** A store of the caller's instead of `dir` (one shared by a cluster's nodes). */
  readonly store?: CertStore;
  /** Port for HTTP-01 challenges and the redirect to https. Default 80; 0 picks a free one. */
  readonly httpPort?: number;
  /** One wildcard certificate by DNS-01: this command sets and clears the TXT record (README "Relay on a small server"). */
  readonly dnsHook?: string;
  /** On-demand orders (tunnel hosts) per rolling hour. Default 20. */
  readonly ordersPerHour?: number;
  /** On-demand orders in progress at once. Default 3. */
  readonly maxPendingOrders?: number;
  /** First pause after a failed renewal or order, doubled each time up to 1 h. Default 60 s. */
  readonly retryMs?: number;
  /** Told of each certificate issued or renewed and of each failure. Default: a line on stderr. */
  readonly onLog?: (line: string) => void;
}

/** A relay's ACME side: the certificate manager and the plain-HTTP port, started with the relay. */
export class RelayAcme {
  private readonly manager: CertManager;
  private readonly store: CertStore;
  private challengePort: ChallengePort | undefined;
  private server: HttpsServer | undefined;

  constructor(
    private readonly domain: string,
    private readonly options: AcmeOptions,
    exists: (id: string) => boolean | Promise<boolean>,
  ) {
    if (!options.store && !options.dir) throw new HooktunnelError(ErrorCode.InvalidArgument, 'ACME needs a directory for its account key and certificates (dir) or a store');
    if (!/^[a-z0-9.-]+\.[a-z0-9-]+$|^localhost$/.test(domain)) throw new HooktunnelError(ErrorCode.InvalidArgument, `ACME needs a domain name, not "${domain}"`);
    this.store = options.store ?? new FileCertStore(options.dir!);
    const log = options.onLog ?? ((line: string) => process.stderr.write(`${line}\n`));
    const issuer = new AcmeIssuer({
      directoryUrl: resolveDirectory(options.directory), directoryCa: options.directoryCa, email: options.email, store: this.store, dnsHook: options.dnsHook, onWarning: log,
    });
    this.manager = new CertManager({
      domain, issuer, store: this.store, exists, wildcard: options.dnsHook !== undefined, log,
      ordersPerHour: options.ordersPerHour, maxPendingOrders: options.maxPendingOrders, retryMinMs: options.retryMs,
      setDefault: (cert) => this.server?.setSecureContext({ cert: cert.certPem, key: cert.keyPem }),
    });
  }

  /** The relay's HTTPS server: each handshake's certificate is picked by name (SNI) from the current ones. */
  createServer(options: ServerOptions): HttpsServer {
    this.server = createServer({ ...options, SNICallback: this.manager.sniCallback });
    return this.server;
  }

  /** The plain-HTTP port, once started. */
  get httpPort(): number | undefined {
    return this.challengePort?.port;
  }

  /**
   * Opens the plain-HTTP port and obtains (or loads) the base certificate, which the server then serves to
   * handshakes without a usable name. Throws `acme_failed` or `invalid_argument` (port in use or not allowed).
   */
  async start(host: string, httpsPort: number): Promise<void> {
    const port = this.options.httpPort ?? 80;
    try {
      this.challengePort = await listenChallengePort({ port, host, domain: this.domain, httpsPort, store: this.store });
    } catch (err) {
      const hint = (err as NodeJS.ErrnoException).code === 'EACCES' ? ' (ports below 1024 need root or CAP_NET_BIND_SERVICE)' : '';
      throw new HooktunnelError(ErrorCode.InvalidArgument, `cannot listen for ACME challenges on ${host}:${port}: ${(err as Error).message}${hint}`, { cause: err });
    }
    try {
      await this.manager.start();
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  status(): AcmeStatus {
    return this.manager.status();
  }

  async close(): Promise<void> {
    this.manager.close();
    await this.challengePort?.close();
    this.challengePort = undefined;
  }
}
