/** One certificate the relay serves, as a CertStore keeps it. */
export interface StoredCertificate {
  /** What it is for: the base domain, a tunnel host (`<id>.<domain>`) or the wildcard (`*.<domain>`). */
  readonly name: string;
  /** The certificate chain (PEM), leaf first, as the ACME directory sent it. */
  readonly certPem: string;
  /** The certificate's private key (PEM). */
  readonly keyPem: string;
}

/**
 * Where the ACME state of a relay lives: the account key, the certificates, the HTTP-01 challenge tokens, and a
 * lock that lets one orderer at a time talk to the ACME directory for a name.
 *
 * One relay uses FileCertStore (the relay's data directory). The seam is here for a cluster: a store shared by
 * every node (Redis, say) lets any node answer a challenge another node's order created, serve a certificate
 * another node obtained, and take the order lock so that only one node orders a given name at a time. Callers
 * never assume the store is local: after taking the lock they reread the certificate, which another holder may
 * just have renewed.
 */
export interface CertStore {
  /** The ACME account's private key (PEM), or undefined before the first start. */
  loadAccountKey(): Promise<Buffer | undefined>;
  saveAccountKey(pem: Buffer): Promise<void>;
  /** Every certificate kept (read at start). */
  loadCertificates(): Promise<StoredCertificate[]>;
  /** The certificate for `name`, if one is kept. */
  loadCertificate(name: string): Promise<StoredCertificate | undefined>;
  /** Keeps `cert`, replacing what was kept under its name. */
  saveCertificate(cert: StoredCertificate): Promise<void>;
  deleteCertificate(name: string): Promise<void>;
  /** Publishes the key authorization the relay answers at `/.well-known/acme-challenge/<token>`. */
  setChallenge(token: string, keyAuthorization: string): Promise<void>;
  getChallenge(token: string): Promise<string | undefined>;
  clearChallenge(token: string): Promise<void>;
  /** Runs `fn` while holding the lock named `name` (an order for that name, or `account`); released after it. */
  withLock<T>(name: string, fn: () => Promise<T>): Promise<T>;
}
