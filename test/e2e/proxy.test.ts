import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { readBody, runCli, startTarget } from '../helpers/servers.js';
import { lacks } from '../helpers/tools.js';
import { freePort, listening } from '../helpers/ports.js';

// The README's "behind a TLS proxy" setup, really run: Caddy terminates TLS for tunnel.test and *.tunnel.test and
// proxies to a relay started with --trust-proxy. The certificate is a test CA's (the README's DNS challenge needs
// the internet). Senders bind 127.0.0.2, another loopback address, so the relay can tell them from the proxy.

const DOMAIN = 'tunnel.test';

function certificates(dir: string): { ca: string; cert: string; key: string } {
  const run = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=hooktunnel proxy test CA');
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'site.key', '-out', 'site.csr', '-subj', `/CN=${DOMAIN}`);
  writeFileSync(join(dir, 'ext.cnf'), `subjectAltName=DNS:${DOMAIN},DNS:*.${DOMAIN},IP:127.0.0.1\n`);
  run('x509', '-req', '-in', 'site.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'site.pem', '-days', '2', '-extfile', 'ext.cnf');
  return { ca: join(dir, 'ca.pem'), cert: join(dir, 'site.pem'), key: join(dir, 'site.key') };
}

/** Starts Caddy in front of the relay on `relayPort`; stopped (by its PID) when the test ends. */
async function startCaddy(dir: string, port: number, relayPort: number, certs: { cert: string; key: string }): Promise<void> {
  const caddyfile = join(dir, 'Caddyfile');
  writeFileSync(caddyfile, `{
	admin off
	https_port ${port}
	auto_https disable_redirects
	storage file_system ${join(dir, 'caddy-data')}
	skip_install_trust
}

*.${DOMAIN}:${port}, ${DOMAIN}:${port}, 127.0.0.1:${port} {
	tls ${certs.cert} ${certs.key}
	reverse_proxy 127.0.0.1:${relayPort}
}
`);
  const env = { ...process.env, HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') };
  const caddy = spawn('caddy', ['run', '--config', caddyfile, '--adapter', 'caddyfile'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  caddy.stderr.setEncoding('utf8').on('data', (d: string) => (log = (log + d).slice(-4000)));
  onTestFinished(() => {
    if (caddy.exitCode === null) caddy.kill('SIGKILL');
  });
  await Promise.race([
    listening(port),
    new Promise((_, reject) => caddy.on('exit', (code) => reject(new Error(`caddy exited ${code}: ${log}`)))),
  ]);
}

interface Answer {
  status: number;
  body: string;
}

/** POSTs through Caddy as `host` would be reached, from 127.0.0.2. */
function post(port: number, host: string, path: string, ca: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, path, method: 'POST', servername: host, ca: readFileSync(ca), localAddress: '127.0.0.2', headers: { host: `${host}:${port}`, ...headers } },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end('{"event":"push"}');
  });
}

describe.skipIf(lacks('the TLS proxy tests', 'caddy', 'openssl'))('behind a TLS proxy (Caddy, as in the README)', () => {
  it('serves subdomain tunnels over HTTPS and WSS; with --trust-proxy, allow lists and X-Forwarded-* see the real sender', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hooktunnel-proxy-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const certs = certificates(dir);
    const target = await startTarget((req, res) => {
      void readBody(req).then((body) => res.end(JSON.stringify({ host: req.headers.host, xff: req.headers['x-forwarded-for'], proto: req.headers['x-forwarded-proto'], body: body.toString() })));
    });
    const port = await freePort();
    const relayPort = await freePort();
    const relay = runCli(['relay', '--host', '127.0.0.1', '--port', String(relayPort), '--domain', DOMAIN, '--trust-proxy', '--token', 'secret-token', '--public-url', `https://${DOMAIN}:${port}`]);
    await relay.waitForLine(/listening/);
    await startCaddy(dir, port, relayPort, certs);
    const agent = runCli([String(target.port), '--relay', `https://127.0.0.1:${port}`, '--ca', certs.ca, '--token', 'secret-token', '--allow-ip', '127.0.0.2/32', '--json', '--no-capture']);
    const ready = JSON.parse(await agent.waitForLine(/"type":"ready"/)) as { url: string; tunnel: string };
    expect(ready.url).toBe(`https://${ready.tunnel}.${DOMAIN}:${port}`);
    const host = `${ready.tunnel}.${DOMAIN}`;

    const ok = await post(port, host, '/hooks/github?x=1', certs.ca);
    expect(ok.status).toBe(200);
    const seen = JSON.parse(ok.body) as { host: string; xff: string; proto: string; body: string };
    expect(seen.body).toBe('{"event":"push"}');
    expect(seen.proto).toBe('https');
    expect(seen.xff.split(',').pop()!.trim()).toBe('127.0.0.2');

    // A sender claiming to be 127.0.0.2 from elsewhere: Caddy appends the real address, which is what counts.
    const relayDirect = await new Promise<Answer>((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port, path: '/x', method: 'POST', servername: host, ca: readFileSync(certs.ca), localAddress: '127.0.0.3', headers: { host: `${host}:${port}`, 'x-forwarded-for': '127.0.0.2' } }, (res) => {
        res.resume().on('end', () => resolve({ status: res.statusCode ?? 0, body: '' }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(relayDirect.status).toBe(403);
  });

  it('a relay without tokens refuses agents a proxy forwards, unless told to trust the proxy', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hooktunnel-proxy-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const certs = certificates(dir);
    const target = await startTarget((_req, res) => res.end('ok'));
    const port = await freePort();
    const relayPort = await freePort();
    const relay = runCli(['relay', '--host', '127.0.0.1', '--port', String(relayPort)]);
    await relay.waitForLine(/listening/);
    await startCaddy(dir, port, relayPort, certs);
    const agent = runCli([String(target.port), '--relay', `https://127.0.0.1:${port}`, '--ca', certs.ca, '--json', '--no-capture']);
    expect(await agent.exited()).toBe(1);
    expect(agent.stderr()).toMatch(/proxy forwarded this agent.*--trust-proxy/);
  });
});
