import acme from 'acme-client';
import { ErrorCode, HooktunnelError } from '../../errors.js';
import { runDnsHook } from './dns-hook.js';
import { useDirectory } from './directory.js';
import type { CertStore, StoredCertificate } from './store.js';

type AcmeClient = InstanceType<typeof acme.Client>;
type Authorization = Awaited<ReturnType<AcmeClient['getAuthorizations']>>[number];

/** What an AcmeIssuer needs. */
export interface IssuerOptions {
  readonly directoryUrl: string;
  /** PEM CA for the directory's own HTTPS (`--acme-ca`). */
  readonly directoryCa?: string | Buffer;
  readonly email: string;
  readonly store: CertStore;
  /** Prove control by DNS-01 through this command (`--acme-dns-hook`); otherwise by HTTP-01. */
  readonly dnsHook?: string;
  /** Told of trouble that does not fail the order (a DNS hook that could not clear its record). */
  readonly onWarning?: (message: string) => void;
}

/**
 * Orders certificates from an ACME directory through acme-client (account creation, JWS, polling) and proves
 * control of each name by HTTP-01 (the token is put in the store, where the relay's port 80 answers it) or DNS-01
 * (the hook command publishes the TXT record). The account key is created once and kept in the store.
 */
export class AcmeIssuer {
  private client: Promise<AcmeClient> | undefined;
  /** Orders placed since start (a counter for metrics and tests). */
  orders = 0;

  constructor(private readonly options: IssuerOptions) {
    useDirectory(options.directoryUrl, options.directoryCa);
  }

  /** Obtains one certificate for `names` (the first is its name in the store). Throws `acme_failed`. */
  async order(names: readonly string[]): Promise<StoredCertificate> {
    this.orders++;
    try {
      const client = await this.account();
      const order = await client.createOrder({ identifiers: names.map((value) => ({ type: 'dns', value })) });
      // One at a time: a wildcard and its base domain both publish a TXT record under the same name.
      for (const authz of await client.getAuthorizations(order)) await this.authorize(client, authz);
      const [keyPem, csr] = await acme.crypto.createCsr({ commonName: names[0], altNames: [...names] }, await acme.crypto.createPrivateEcdsaKey());
      const finalized = await client.finalizeOrder(order, csr);
      const certPem = await client.getCertificate(finalized);
      return { name: names[0]!, certPem, keyPem: keyPem.toString() };
    } catch (err) {
      // The next order registers again: a directory that restarted (or lost the account) is then served anew.
      this.client = undefined;
      // acme-client 5 turns a request that got no response at all (refused, reset, timed out), once its retries are
      // spent, into a TypeError of its own ("reading 'config'"): say what it means instead.
      const detail = err instanceof TypeError ? 'no answer from the ACME directory (connection refused, reset or timed out)' : err instanceof Error ? err.message : String(err);
      throw new HooktunnelError(ErrorCode.AcmeFailed, `ordering a certificate for ${names.join(', ')} from ${this.options.directoryUrl} failed: ${detail}`, { cause: err });
    }
  }

  /** The registered account: the key from the store (made and kept on first use), registered once per process. */
  private account(): Promise<AcmeClient> {
    this.client ??= (async () => {
      const { store, directoryUrl, email } = this.options;
      const accountKey = await store.withLock('account', async () => {
        const kept = await store.loadAccountKey();
        if (kept) return kept;
        const made = await acme.crypto.createPrivateEcdsaKey();
        await store.saveAccountKey(made);
        return made;
      });
      // Polls begin at 0.5 s (acme-client's default is 5 s) and back off to 10 s: about a minute in all.
      const client = new acme.Client({ directoryUrl, accountKey, backoffMin: 500, backoffMax: 10_000, backoffAttempts: 10 });
      await client.createAccount({ termsOfServiceAgreed: true, contact: [`mailto:${email}`] });
      return client;
    })();
    return this.client;
  }

  private async authorize(client: AcmeClient, authz: Authorization): Promise<void> {
    if (authz.status === 'valid') return;
    const type = this.options.dnsHook ? 'dns-01' : 'http-01';
    const challenge = authz.challenges.find((c) => c.type === type);
    if (!challenge) throw new Error(`the directory offers no ${type} challenge for ${authz.identifier.value}`);
    const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
    const { store, dnsHook } = this.options;
    const record = `_acme-challenge.${authz.identifier.value}`;
    if (dnsHook) await runDnsHook(dnsHook, 'set', record, keyAuthorization);
    else await store.setChallenge(challenge.token, keyAuthorization);
    try {
      await client.completeChallenge(challenge);
      await client.waitForValidStatus(challenge);
    } finally {
      if (dnsHook) await runDnsHook(dnsHook, 'clear', record, keyAuthorization).catch((err: Error) => this.options.onWarning?.(err.message));
      else await store.clearChallenge(challenge.token);
    }
  }
}
