import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { OrderBudget, retryDelay } from '../../src/relay/acme/budget.js';
import { FileCertStore } from '../../src/relay/acme/file-store.js';
import { lacks } from '../helpers/tools.js';

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hooktunnel-acme-store-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('OrderBudget', () => {
  it('allows perHour orders in a rolling hour and maxPending at once', () => {
    let now = 0;
    const budget = new OrderBudget(3, 2, () => now);
    expect([budget.take(), budget.take(), budget.take()]).toEqual([true, true, false]);
    budget.done();
    expect(budget.take()).toBe(true);
    budget.done();
    budget.done();
    expect(budget.take()).toBe(false);
    now = 3600_000;
    expect(budget.take()).toBe(true);
  });

  it('doubles the retry pause up to the cap', () => {
    expect([1, 2, 3, 10].map((n) => retryDelay(n, 60_000, 3600_000))).toEqual([60_000, 120_000, 240_000, 3600_000]);
  });
});

describe.skipIf(lacks('the certificate store tests', 'openssl'))('FileCertStore', () => {
  function selfSigned(dir: string, name: string): { certPem: string; keyPem: string } {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '1', '-subj', `/CN=${name}`], { cwd: dir, stdio: 'ignore' });
    return { certPem: readFileSync(join(dir, `${name}.pem`), 'utf8'), keyPem: readFileSync(join(dir, `${name}.key`), 'utf8') };
  }

  it('keeps certificates 0600 under their names, wildcards included, and ignores a key that does not match', async () => {
    const dir = tempDir();
    const store = new FileCertStore(join(dir, 'acme'));
    const a = selfSigned(dir, 'a');
    const b = selfSigned(dir, 'b');
    await store.saveCertificate({ name: '*.example.com', ...a });
    await store.saveCertificate({ name: 'x.example.com', ...b });
    expect(statSync(join(dir, 'acme', 'certs', '_wildcard.example.com.key')).mode & 0o777).toBe(0o600);
    expect((await store.loadCertificates()).map((c) => c.name).sort()).toEqual(['*.example.com', 'x.example.com']);
    writeFileSync(join(dir, 'acme', 'certs', 'x.example.com.key'), a.keyPem);
    expect(await store.loadCertificate('x.example.com')).toBeUndefined();
    await expect(store.saveCertificate({ name: '../evil', ...a })).rejects.toThrow(/not a certificate name/);
  });

  it('runs lock holders one after the other, also after one failed', async () => {
    const store = new FileCertStore(join(tempDir(), 'acme'));
    const order: string[] = [];
    const slow = store.withLock('n', async () => {
      await new Promise((r) => setTimeout(r, 30));
      order.push('first');
      throw new Error('boom');
    });
    const next = store.withLock('n', async () => void order.push('second'));
    await expect(slow).rejects.toThrow('boom');
    await next;
    expect(order).toEqual(['first', 'second']);
  });
});
