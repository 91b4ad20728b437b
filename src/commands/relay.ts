import { readFileSync } from 'node:fs';
import chalk from 'chalk';
import { join } from 'node:path';
import { isHooktunnelError } from '../errors.js';
import { resolveDataDir } from '../paths.js';
import { createRelay, type RelayHandle } from '../relay/server.js';
import { fail, onSignals } from './shared.js';

/** The relay command's options, as commander parsed them (relay-command.ts). */
export interface RelayCliOptions {
  port: number;
  host: string;
  domain?: string;
  publicUrl?: string;
  token?: string[];
  tokensFile?: string;
  stateFile?: string;
  dataDir?: string;
  memory?: boolean;
  open?: boolean;
  trustProxy?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  reservation: number;
  offlineWait: number;
  offlineMax: number;
  offlineMaxBytes: number;
  offlineTtl: number;
  maxBody: number;
  maxHeaderSize: number;
  maxInFlight: number;
  requestsPerMinute: number;
  tunnelsPerToken: number;
  headerTimeout: number;
  bodyTimeout: number;
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    fail(`cannot read the TLS ${what} ${path}: ${(err as Error).message}`);
  }
}

/** `hooktunnel relay`: starts the relay, prints where it listens, reloads tokens on SIGHUP, stops on SIGINT/SIGTERM. */
export async function runRelay(opts: RelayCliOptions): Promise<void> {
  if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) fail('--tls-cert and --tls-key go together', 2);
  const tls = opts.tlsCert && opts.tlsKey ? { cert: readPem(opts.tlsCert, 'certificate'), key: readPem(opts.tlsKey, 'key') } : undefined;
  if (opts.memory && opts.dataDir !== undefined) fail('--memory and --data-dir go apart: one keeps the state in memory, the other on disk', 2);
  // The relay's own folder in the usual data directory: `hooktunnel relay` keeps what it holds across restarts.
  const dataDir = opts.memory ? undefined : opts.dataDir ?? join(resolveDataDir(), 'relay');
  let relay: RelayHandle;
  try {
    relay = await createRelay({
      port: opts.port,
      host: opts.host,
      domain: opts.domain,
      publicUrl: opts.publicUrl,
      tokens: opts.token,
      tokensFile: opts.tokensFile,
      stateFile: opts.stateFile,
      dataDir,
      open: opts.open,
      trustProxy: opts.trustProxy,
      tls,
      reservationMs: opts.reservation * 1000,
      offline: { waitMs: opts.offlineWait * 1000, maxCount: opts.offlineMax, maxBytes: opts.offlineMaxBytes, ttlMs: opts.offlineTtl * 1000 },
      limits: {
        maxBodyBytes: opts.maxBody,
        maxHeaderBytes: opts.maxHeaderSize,
        maxInFlight: opts.maxInFlight,
        requestsPerMinute: opts.requestsPerMinute,
        tunnelsPerToken: opts.tunnelsPerToken,
        headersTimeoutMs: opts.headerTimeout * 1000,
        bodyIdleTimeoutMs: opts.bodyTimeout * 1000,
      },
    });
  } catch (err) {
    fail(isHooktunnelError(err) ? err.message : `cannot start the relay on ${opts.host}:${opts.port}: ${(err as Error).message}`);
  }
  const tokened = (opts.token?.length ?? 0) > 0 || opts.tokensFile !== undefined;
  if (opts.open && !tokened) process.stderr.write(`${chalk.yellow('warning')} --open: anyone who can reach this relay can open tunnels on it\n`);
  else if (!tokened) process.stderr.write(`${chalk.gray('no tokens: agents are accepted from this machine only (see --token, --open)')}\n`);
  // Handlers first: whoever reads the listening line may signal at once (a test, a supervisor).
  process.on('SIGHUP', () => {
    try {
      process.stderr.write(`tokens reloaded: ${relay.reloadTokens()} in force\n`);
    } catch (err) {
      process.stderr.write(`${chalk.red('error')} ${(err as Error).message}; the previous tokens stay in force\n`);
    }
  });
  onSignals(() => relay.close());
  process.stderr.write(`${chalk.gray(dataDir ? `state in ${join(dataDir, 'relay.db')}` : 'state in memory (--memory): kept requests and tunnel ids go with this process')}\n`);
  process.stdout.write(`hooktunnel relay listening on ${opts.host}:${relay.port}${tls ? ' (TLS)' : ''}${opts.domain ? ` (subdomains of ${opts.domain})` : ''}\n`);
}
