import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { describe, expect, it, onTestFinished } from 'vitest';
import { connectAgent } from '../../src/index.js';
import { servedCertificate, startPebble, type Pebble } from '../helpers/pebble.js';
import { runCli, startTarget } from '../helpers/servers.js';
import { lacks } from '../helpers/tools.js';

// The relay's domain is `localhost`: the agent can dial it without DNS (/etc/hosts), pebble's DNS answers every
// name with 127.0.0.1, and tunnel hosts (`<id>.localhost`) are reached on 127.0.0.1 with their name as SNI.
const DOMAIN = 'localhost';

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** `hooktunnel relay` with ACME from `pebble`; resolves with its HTTPS port once it is listening. */
async function startAcmeRelay(pebble: Pebble, dataDir: string, ...extra: string[]): Promise<{ port: number; cli: ReturnType<typeof runCli> }> {
  const cli = runCli([
    'relay', '--host', '127.0.0.1', '--port', '0', '--domain', DOMAIN, '--acme-email', 'ops@example.com',
    '--acme-directory', pebble.directory, '--acme-ca', pebble.caFile, '--http-port', String(pebble.httpPort), '--data-dir', dataDir, ...extra,
  ]);
  const line = await cli.waitForLine(/listening/, 60_000);
  return { port: Number(/:(\d+) \(TLS, ACME/.exec(line)![1]), cli };
}


/**
 * A verified HTTPS request to `host` on the relay: status, body and the certificate of its connection, read as the
 * socket is handed over (a later read may find it closed). `fresh`: on a connection of its own, a new handshake.
 */
function httpsAt(port: number, host: string, path: string, ca: string, method = 'GET', fresh = false): Promise<{ status: number; body: string; serial: string }> {
  return new Promise((resolve, reject) => {
    let serial = '';
    const req = httpsRequest({ host: '127.0.0.1', port, servername: host, headers: { host: `${host}:${port}` }, path, method, ca, ...(fresh ? { agent: false } : {}) }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body, serial }));
    });
    req.on('socket', (socket) => {
      const tls = socket as TLSSocket;
      const read = (): void => void (serial = tls.getPeerCertificate().serialNumber);
      if (tls.connecting || !tls.encrypted || tls.getPeerCertificate().serialNumber === undefined) tls.once('secureConnect', read);
      else read();
    });
    req.on('error', reject);
    req.end();
  });
}

interface AcmeMetrics {
  ok: boolean;
  challenge: string;
  certificates: number;
  orders: number;
  issued: number;
  renewed: number;
  failures: number;
  refused: number;
  limited: number;
  validUntil: string;
  failing: { name: string; error: string; failures: number; validUntil?: string }[];
}

async function acmeOf(port: number, root: string, endpoint: 'health' | 'metrics' = 'metrics'): Promise<AcmeMetrics> {
  const { body } = await httpsAt(port, DOMAIN, `/_hooktunnel/${endpoint}`, root);
  return (JSON.parse(body) as { acme: AcmeMetrics }).acme;
}

/** Polls `read` until `done` holds (bounded by `timeoutMs`): renewals happen on the certificate's clock, not ours. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms; last: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe.skipIf(lacks('the ACME tests', 'pebble', 'openssl'))('ACME certificates from pebble', () => {
  it('issues the base certificate at start, serves an agent over WSS, orders a tunnel host at its first handshake and none for a made-up host', { timeout: 90_000 }, async () => {
    const pebble = await startPebble();
    const dataDir = join(tempDir('hooktunnel-acme-'), 'relay');
    const { port } = await startAcmeRelay(pebble, dataDir, '--acme-orders-per-hour', '1');
    const root = await pebble.root();
    expect(await acmeOf(port, root)).toMatchObject({ ok: true, orders: 1, issued: 1, certificates: 1 });
    expect(await httpsAt(port, DOMAIN, '/_hooktunnel/health', root)).toMatchObject({ status: 200 });
    expect(statSync(join(dataDir, 'acme', 'account.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, 'acme', 'certs', 'localhost.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, 'acme')).mode & 0o777).toBe(0o700);

    const target = await startTarget((req, res) => res.end(`hello ${req.headers['x-forwarded-proto']} ${req.url}`));
    // The agent trusts pebble's root only through --ca: the relay's certificate is a real issued one.
    const agent = await connectAgent({ relay: `https://${DOMAIN}:${port}`, target: target.url, ca: root, subdomain: 'shop' });
    onTestFinished(() => agent.close());
    expect(agent.publicUrl).toBe(`https://shop.${DOMAIN}:${port}`);

    const first = await httpsAt(port, `shop.${DOMAIN}`, '/hooks/1', root);
    expect(first).toMatchObject({ status: 200, body: 'hello https /hooks/1' });
    expect((await servedCertificate(port, `shop.${DOMAIN}`)).subjectaltname).toBe(`DNS:shop.${DOMAIN}`);
    expect(await acmeOf(port, root)).toMatchObject({ ok: true, orders: 2, issued: 2, certificates: 2 });

    // A made-up tunnel host and a name outside the domain: the base certificate, no order.
    expect((await servedCertificate(port, `nosuch.${DOMAIN}`)).subjectaltname).toBe(`DNS:${DOMAIN}`);
    expect((await servedCertificate(port, 'example.org')).subjectaltname).toBe(`DNS:${DOMAIN}`);
    const refused = await httpsAt(port, `nosuch.${DOMAIN}`, '/', root).catch((e: NodeJS.ErrnoException) => e.code);
    expect(refused).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(await acmeOf(port, root)).toMatchObject({ orders: 2, refused: 3 });

    // A second real tunnel is over this relay's budget of one on-demand order per hour: no order either.
    const other = await connectAgent({ relay: `https://${DOMAIN}:${port}`, target: target.url, ca: root, subdomain: 'other' });
    onTestFinished(() => other.close());
    expect((await servedCertificate(port, `other.${DOMAIN}`)).subjectaltname).toBe(`DNS:${DOMAIN}`);
    expect(await acmeOf(port, root)).toMatchObject({ orders: 2, limited: 1 });

    // Port 80's role: challenges are answered there (pebble validated through it); everything else goes to https.
    const redirect = (method: string): Promise<[number, string | undefined]> =>
      new Promise((resolve, reject) => {
        httpRequest({ host: '127.0.0.1', port: pebble.httpPort, path: '/hooks/2?a=1', method, headers: { host: `shop.${DOMAIN}` } }, (res) => {
          res.resume();
          resolve([res.statusCode!, res.headers.location]);
        }).on('error', reject).end();
      });
    expect(await redirect('GET')).toEqual([301, `https://shop.${DOMAIN}:${port}/hooks/2?a=1`]);
    expect(await redirect('POST')).toEqual([308, `https://shop.${DOMAIN}:${port}/hooks/2?a=1`]);
  });

  it('reuses the account and certificates after a restart: no new order', { timeout: 90_000 }, async () => {
    const pebble = await startPebble();
    const dir = tempDir('hooktunnel-acme-');
    const dataDir = join(dir, 'relay');
    const stateFile = join(dir, 'state.json');
    const first = await startAcmeRelay(pebble, dataDir, '--state-file', stateFile);
    const root = await pebble.root();
    const target = await startTarget((_req, res) => res.end('ok'));
    const agent = await connectAgent({ relay: `https://${DOMAIN}:${first.port}`, target: target.url, ca: root, subdomain: 'kept' });
    expect((await httpsAt(first.port, `kept.${DOMAIN}`, '/', root)).body).toBe('ok');
    const base = (await servedCertificate(first.port, DOMAIN)).serialNumber;
    const tunnel = (await servedCertificate(first.port, `kept.${DOMAIN}`)).serialNumber;
    expect(await acmeOf(first.port, root)).toMatchObject({ orders: 2, certificates: 2 });
    await agent.close();
    first.cli.child.kill('SIGTERM');
    expect(await first.cli.exited()).toBe(0);

    // The tunnel is reserved across the restart (state file), so its certificate is still served.
    const second = await startAcmeRelay(pebble, dataDir, '--state-file', stateFile);
    expect(await acmeOf(second.port, root)).toMatchObject({ ok: true, orders: 0, issued: 0, certificates: 2 });
    expect((await servedCertificate(second.port, DOMAIN)).serialNumber).toBe(base);
    expect((await servedCertificate(second.port, `kept.${DOMAIN}`)).serialNumber).toBe(tunnel);
    expect(await acmeOf(second.port, root)).toMatchObject({ orders: 0 });
  });

  it('renews a short-lived certificate without a restart while a response is streaming over the old one', { timeout: 120_000 }, async () => {
    const pebble = await startPebble({ validitySeconds: 15 });
    const { port } = await startAcmeRelay(pebble, join(tempDir('hooktunnel-acme-'), 'relay'));
    const root = await pebble.root();
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const target = await startTarget((req, res) => {
      if (req.url !== '/stream') return void res.end('fresh');
      res.writeHead(200, { 'content-type': 'text/plain' });
      let n = 0;
      const tick = setInterval(() => res.write(`chunk ${n++}\n`), 200);
      void released.then(() => {
        clearInterval(tick);
        res.end(`done after ${n}\n`);
      });
    });
    const agent = await connectAgent({ relay: `https://${DOMAIN}:${port}`, target: target.url, ca: root, subdomain: 'live' });
    onTestFinished(() => agent.close());

    const streaming = httpsAt(port, `live.${DOMAIN}`, '/stream', root);
    const before = await until(() => servedCertificate(port, `live.${DOMAIN}`), (c) => c.subjectaltname === `DNS:live.${DOMAIN}`, 30_000, 'the tunnel host certificate');
    // Renewal at two thirds of 15 s: a new handshake gets a new certificate, verified against pebble's root.
    const after = await until(() => servedCertificate(port, `live.${DOMAIN}`), (c) => c.serialNumber !== before.serialNumber, 40_000, 'a renewed certificate');
    expect(Date.parse(after.valid_to)).toBeGreaterThan(Date.parse(before.valid_to));
    expect(await httpsAt(port, `live.${DOMAIN}`, '/', root, 'GET', true)).toMatchObject({ body: 'fresh', serial: after.serialNumber });
    release();
    const stream = await streaming;
    expect(stream.serial).toBe(before.serialNumber);
    const lines = stream.body.trim().split('\n');
    expect(lines.at(-1)).toMatch(/^done after \d+$/);
    expect(lines.length - 1).toBe(Number(/\d+$/.exec(lines.at(-1)!)![0]));
    expect((await acmeOf(port, root)).renewed).toBeGreaterThanOrEqual(1);
  });

  it('keeps serving the old certificate when the ACME directory is gone at renewal, and reports the failure', { timeout: 120_000 }, async () => {
    const pebble = await startPebble({ validitySeconds: 20 });
    const { port } = await startAcmeRelay(pebble, join(tempDir('hooktunnel-acme-'), 'relay'), '--acme-retry', '1');
    const root = await pebble.root();
    const served = await servedCertificate(port, DOMAIN);
    await pebble.stop();

    const health = await until(() => acmeOf(port, root, 'health'), (a) => (a.failing[0]?.failures ?? 0) >= 2, 60_000, 'two failed renewals');
    expect(health.ok).toBe(false);
    expect(health.failing[0]).toMatchObject({ name: DOMAIN, validUntil: new Date(served.valid_to).toISOString() });
    expect(health.failing[0]!.error).toMatch(/ordering a certificate for localhost from https:\/\/127\.0\.0\.1:\d+\/dir failed/);
    expect((await servedCertificate(port, DOMAIN)).serialNumber).toBe(served.serialNumber);
    const metrics = await acmeOf(port, root);
    expect(metrics.failures).toBeGreaterThanOrEqual(2);
    expect(metrics.renewed).toBe(0);
    // Failing past its retry: health answers 503 degraded and says which certificate and why.
    const report = await httpsAt(port, DOMAIN, '/_hooktunnel/health', root);
    expect(report.status).toBe(503);
    const body = JSON.parse(report.body) as { ok: boolean; status: string; reasons: string[] };
    expect(body).toMatchObject({ ok: false, status: 'degraded' });
    expect(body.reasons.some((r) => r.startsWith(`ACME: renewal of the certificate for ${DOMAIN} failed`))).toBe(true);
    const text = (await httpsAt(port, DOMAIN, '/_hooktunnel/metrics?format=prometheus', root)).body;
    expect(text).toMatch(/^hooktunnel_acme_ok 0$/m);
    expect(text).toMatch(/^hooktunnel_acme_failing_certificates 1$/m);
    expect(Number(/^hooktunnel_acme_failures_total (\d+)$/m.exec(text)?.[1])).toBeGreaterThanOrEqual(2);
    expect(text).toMatch(/^# TYPE hooktunnel_acme_certificate_expiry_seconds gauge$/m);
  });

  it('with --acme-dns-hook, orders one wildcard certificate by DNS-01 and serves every tunnel host with it', { timeout: 90_000 }, async () => {
    const pebble = await startPebble();
    const dir = tempDir('hooktunnel-acme-');
    // The hook publishes the TXT record in pebble's DNS (pebble-challtestsrv's management API).
    const hook = join(dir, 'hook.mjs');
    writeFileSync(hook, `
      const [action, name, value] = process.argv.slice(2);
      const path = action === 'set' ? '/set-txt' : '/clear-txt';
      const res = await fetch(${JSON.stringify(pebble.dnsManagement)} + path, { method: 'POST', body: JSON.stringify({ host: name + '.', value }) });
      if (!res.ok || process.env.HOOKTUNNEL_ACME_NAME !== name) process.exit(1);
    `);
    const { port } = await startAcmeRelay(pebble, join(dir, 'relay'), '--acme-dns-hook', `${JSON.stringify(process.execPath)} ${JSON.stringify(hook)}`);
    const root = await pebble.root();
    expect(await acmeOf(port, root)).toMatchObject({ ok: true, challenge: 'dns-01', orders: 1, certificates: 1 });
    const target = await startTarget((_req, res) => res.end('wild'));
    const agent = await connectAgent({ relay: `https://${DOMAIN}:${port}`, target: target.url, ca: root, subdomain: 'any' });
    onTestFinished(() => agent.close());
    expect((await servedCertificate(port, `any.${DOMAIN}`)).subjectaltname).toBe(`DNS:*.${DOMAIN}, DNS:${DOMAIN}`);
    // Node refuses a wildcard directly under a single-label name (`*.localhost`) when checking the name; the chain
    // is still verified against pebble's root here.
    const body = await new Promise<string>((resolve, reject) => {
      httpsRequest({ host: '127.0.0.1', port, servername: `any.${DOMAIN}`, headers: { host: `any.${DOMAIN}` }, ca: root, checkServerIdentity: () => undefined }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve(text));
      }).on('error', reject).end();
    });
    expect(body).toBe('wild');
    expect(await acmeOf(port, root)).toMatchObject({ orders: 1, refused: 0 });
  });
});
