import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensurePrivateDir } from '../../paths.js';
import type { CertStore, StoredCertificate } from './store.js';

const NAME = /^(?:\*\.)?[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$/;
const WILDCARD_PREFIX = '_wildcard.';

/** The file stem a certificate's name is kept under: `*.d` becomes `_wildcard.d` (no `*` in file names). */
function stem(name: string): string {
  if (!NAME.test(name)) throw new Error(`not a certificate name: ${JSON.stringify(name)}`);
  return name.startsWith('*.') ? WILDCARD_PREFIX + name.slice(2) : name;
}

function nameOf(fileStem: string): string {
  return fileStem.startsWith(WILDCARD_PREFIX) ? `*.${fileStem.slice(WILDCARD_PREFIX.length)}` : fileStem;
}

async function readOptional(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Writes through a temporary file and a rename, so a reader never sees half a key. Owner-only (0600). */
async function writePrivate(path: string, data: string | Buffer): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, data, { mode: 0o600 });
  await rename(tmp, path);
}

/**
 * The CertStore of one relay: files in `dir` (the relay's data directory's `acme/`, created 0700), each 0600 —
 * `account.key`, and `certs/<name>.crt` with `certs/<name>.key`. Challenge tokens and locks live in this process
 * only, which is all one relay needs: it answers the challenges of its own orders.
 */
export class FileCertStore implements CertStore {
  private readonly certs: string;
  private readonly challenges = new Map<string, string>();
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly dir: string) {
    this.certs = join(dir, 'certs');
    ensurePrivateDir(dir);
    ensurePrivateDir(this.certs);
  }

  loadAccountKey(): Promise<Buffer | undefined> {
    return readOptional(join(this.dir, 'account.key'));
  }

  saveAccountKey(pem: Buffer): Promise<void> {
    return writePrivate(join(this.dir, 'account.key'), pem);
  }

  async loadCertificates(): Promise<StoredCertificate[]> {
    const stems = (await readdir(this.certs)).filter((f) => f.endsWith('.crt')).map((f) => f.slice(0, -4));
    const found = await Promise.all(stems.map((s) => this.loadCertificate(nameOf(s))));
    return found.filter((c): c is StoredCertificate => c !== undefined);
  }

  /** Undefined also for a pair that does not belong together (a crash between the two writes): it is ordered again. */
  async loadCertificate(name: string): Promise<StoredCertificate | undefined> {
    const base = join(this.certs, stem(name));
    const [cert, key] = await Promise.all([readOptional(`${base}.crt`), readOptional(`${base}.key`)]);
    if (!cert || !key) return undefined;
    try {
      if (!new X509Certificate(cert).checkPrivateKey(createPrivateKey(key))) return undefined;
    } catch {
      return undefined;
    }
    return { name, certPem: cert.toString(), keyPem: key.toString() };
  }

  async saveCertificate(cert: StoredCertificate): Promise<void> {
    const base = join(this.certs, stem(cert.name));
    await writePrivate(`${base}.key`, cert.keyPem);
    await writePrivate(`${base}.crt`, cert.certPem);
  }

  async deleteCertificate(name: string): Promise<void> {
    const base = join(this.certs, stem(name));
    await rm(`${base}.crt`, { force: true });
    await rm(`${base}.key`, { force: true });
  }

  async setChallenge(token: string, keyAuthorization: string): Promise<void> {
    this.challenges.set(token, keyAuthorization);
  }

  async getChallenge(token: string): Promise<string | undefined> {
    return this.challenges.get(token);
  }

  async clearChallenge(token: string): Promise<void> {
    this.challenges.delete(token);
  }

  withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    // Each holder waits for the one before it; `settled` never rejects, so one failure does not break the chain.
    const previous = this.locks.get(name) ?? Promise.resolve();
    const run = previous.then(() => fn());
    const settled = run.catch(() => undefined);
    this.locks.set(name, settled);
    void settled.then(() => {
      if (this.locks.get(name) === settled) this.locks.delete(name);
    });
    return run;
  }
}
