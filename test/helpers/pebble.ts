import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import { onTestFinished } from 'vitest';
import { freePort } from './ports.js';

export { freePort };

/** Debian's pebble (an ACME test CA) with pebble-challtestsrv as its DNS, all on loopback. */
export interface Pebble {
  /** The ACME directory URL (`--acme-directory`). */
  readonly directory: string;
  /** The CA of pebble's own HTTPS listener (`--acme-ca`). */
  readonly caFile: string;
  /** The port pebble validates HTTP-01 challenges on: the relay's `--http-port`. */
  readonly httpPort: number;
  /** Base URL of pebble-challtestsrv's management API (`/set-txt`, `/clear-txt` for DNS-01). */
  readonly dnsManagement: string;
  /** The root the issued certificates chain to (regenerated at each pebble start; `--ca` of the agent). */
  root(): Promise<string>;
  /** Stops pebble (the DNS server stays): the ACME directory is then unreachable. */
  stop(): Promise<void>;
}

function waitForOutput(child: ChildProcess, pattern: RegExp, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start within 20 s: ${out}`)), 20_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (pattern.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}: ${out}`));
    });
  });
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  return exited;
}

/** An HTTPS GET trusting `ca`; the body as text. */
export function getText(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    httpsRequest(url, { ca }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve(text));
    })
      .on('error', reject)
      .end();
  });
}

/** Starts pebble and its DNS; both are killed (by PID) and their files removed when the test finishes. */
export async function startPebble(options: { validitySeconds?: number } = {}): Promise<Pebble> {
  const dir = mkdtempSync(join(tmpdir(), 'hooktunnel-pebble-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const openssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=pebble listener CA');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'pebble.key', '-out', 'pebble.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl('x509', '-req', '-in', 'pebble.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'pebble.pem', '-days', '2', '-extfile', 'ext.cnf');

  const [acmePort, managementPort, httpPort, tlsPort, dnsPort, dnsManagementPort] = await Promise.all([1, 2, 3, 4, 5, 6].map(() => freePort()));
  writeFileSync(join(dir, 'pebble.json'), JSON.stringify({
    pebble: {
      listenAddress: `127.0.0.1:${acmePort}`,
      managementListenAddress: `127.0.0.1:${managementPort}`,
      certificate: join(dir, 'pebble.pem'),
      privateKey: join(dir, 'pebble.key'),
      httpPort,
      tlsPort,
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
      ...(options.validitySeconds ? { certificateValidityPeriod: options.validitySeconds } : {}),
    },
  }));

  // Every A query is answered with 127.0.0.1 and no AAAA at all, so pebble validates on loopback only.
  const dns = spawn('pebble-challtestsrv', [
    '-dns01', `127.0.0.1:${dnsPort}`, '-management', `127.0.0.1:${dnsManagementPort}`,
    '-http01', '', '-https01', '', '-tlsalpn01', '', '-defaultIPv4', '127.0.0.1', '-defaultIPv6', '',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  onTestFinished(() => kill(dns));
  await waitForOutput(dns, /Starting management server/, 'pebble-challtestsrv');

  // Real validation, no random sleeps, no rejected nonces, no reused authorizations: each order proves control.
  const pebble = spawn('pebble', ['-config', join(dir, 'pebble.json'), '-dnsserver', `127.0.0.1:${dnsPort}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' },
  });
  onTestFinished(() => kill(pebble));
  await waitForOutput(pebble, /Listening on:/, 'pebble');

  const caFile = join(dir, 'ca.pem');
  const listenerCa = readFileSync(caFile, 'utf8');
  return {
    directory: `https://127.0.0.1:${acmePort}/dir`,
    caFile,
    httpPort,
    dnsManagement: `http://127.0.0.1:${dnsManagementPort}`,
    root: () => getText(`https://127.0.0.1:${managementPort}/roots/0`, listenerCa),
    stop: () => kill(pebble),
  };
}

/** The certificate a relay presents for `servername` (not verified: the tests look at which one it is). */
export function servedCertificate(port: number, servername: string): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate());
      socket.end();
    });
    socket.on('error', reject);
  });
}
