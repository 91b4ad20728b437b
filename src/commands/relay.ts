import { readFileSync } from 'node:fs';
import chalk from 'chalk';
import { join } from 'node:path';
import { isHooktunnelError } from '../errors.js';
import { ensurePrivateDir, resolveDataDir } from '../paths.js';
import type { AcmeOptions } from '../relay/acme/index.js';
import { createRelay, type ClusterOptions, type RelayHandle } from '../relay/server.js';
import { checkClusterSecret, checkClusterUrl, checkRedisUrl } from '../relay/cluster/config.js';
import { redactRedisUrl } from '../relay/store/redis-url.js';
import { fail, onSignals } from './shared.js';

/** The relay command's options, as commander parsed them (relay-command.ts). */
export interface RelayCliOptions {
  /** Default 8080, or 443 with ACME. */
  port?: number;
  host: string;
  domain?: string;
  publicUrl?: string;
  token?: string[];
  tokensFile?: string;
  stateFile?: string;
  dataDir?: string;
  memory?: boolean;
  redis?: string;
  clusterUrl?: string;
  clusterSecret?: string;
  acmeEmail?: string;
  acmeDirectory?: string;
  acmeCa?: string;
  acmeDnsHook?: string;
  acmeOrdersPerHour: number;
  acmeRetry: number;
  httpPort: number;
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
  upgradeIdleTimeout: number;
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    fail(`cannot read the ${what} ${path}: ${(err as Error).message}`);
  }
}

/** `--acme-*` into createRelay's `acme` option; exits 2 on flags that do not go together. */
function acmeOptions(opts: RelayCliOptions, dataDir: string | undefined): AcmeOptions | undefined {
  const given = ['acmeDirectory', 'acmeCa', 'acmeDnsHook'].filter((k) => opts[k as keyof RelayCliOptions] !== undefined);
  if (opts.acmeEmail === undefined) {
    if (given.length > 0) fail('--acme-directory, --acme-ca and --acme-dns-hook need --acme-email', 2);
    return undefined;
  }
  if (!opts.domain) fail('--acme-email needs --domain: certificates are for the domain and its tunnel hosts', 2);
  if (opts.tlsCert) fail('--acme-email and --tls-cert go apart: certificates come from ACME or from you', 2);
  if (!/^[^\s@]+@[^\s@]+$/.test(opts.acmeEmail)) fail(`--acme-email ${opts.acmeEmail} is not an e-mail address`, 2);
  // Certificates and the account key are kept on disk even by a relay whose state is in memory.
  const dir = dataDir ?? join(resolveDataDir(), 'relay');
  try {
    ensurePrivateDir(dir);
  } catch (err) {
    fail(`cannot create the data directory ${dir}: ${(err as Error).message}`);
  }
  return {
    email: opts.acmeEmail,
    directory: opts.acmeDirectory,
    directoryCa: opts.acmeCa ? readPem(opts.acmeCa, '--acme-ca certificate') : undefined,
    dir: join(dir, 'acme'),
    httpPort: opts.httpPort,
    dnsHook: opts.acmeDnsHook,
    ordersPerHour: opts.acmeOrdersPerHour,
    retryMs: opts.acmeRetry * 1000,
  };
}

/** `--redis`, `--cluster-url`, `--cluster-secret` into createRelay's `cluster` option; exits 2 on bad or missing ones. */
function clusterOptions(opts: RelayCliOptions): ClusterOptions | undefined {
  if (opts.redis === undefined || opts.redis === '') {
    if (opts.clusterUrl !== undefined) fail('--cluster-url needs --redis: the nodes of a cluster share their state in Redis', 2);
    return undefined;
  }
  if (opts.dataDir !== undefined || opts.memory || opts.stateFile !== undefined) {
    fail('--redis goes apart from --data-dir, --memory and --state-file: a cluster node keeps its state in Redis', 2);
  }
  if (opts.clusterUrl === undefined) fail('--redis needs --cluster-url: the address the other nodes reach this one at, e.g. http://10.0.0.5:8080', 2);
  if (opts.clusterSecret === undefined || opts.clusterSecret === '') fail('--redis needs --cluster-secret (or HOOKTUNNEL_CLUSTER_SECRET): the secret every node shares', 2);
  try {
    checkRedisUrl(opts.redis);
    checkClusterSecret(opts.clusterSecret);
    return { redis: opts.redis, url: checkClusterUrl(opts.clusterUrl), secret: opts.clusterSecret };
  } catch (err) {
    fail((err as Error).message, 2);
  }
}

/** `hooktunnel relay`: starts the relay, prints where it listens, reloads tokens on SIGHUP, stops on SIGINT/SIGTERM. */
export async function runRelay(opts: RelayCliOptions): Promise<void> {
  if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) fail('--tls-cert and --tls-key go together', 2);
  const tls = opts.tlsCert && opts.tlsKey ? { cert: readPem(opts.tlsCert, 'TLS certificate'), key: readPem(opts.tlsKey, 'TLS key') } : undefined;
  if (opts.memory && opts.dataDir !== undefined) fail('--memory and --data-dir go apart: one keeps the state in memory, the other on disk', 2);
  const cluster = clusterOptions(opts);
  // The relay's own folder in the usual data directory: `hooktunnel relay` keeps what it holds across restarts.
  const dataDir = opts.memory || cluster ? undefined : opts.dataDir ?? join(resolveDataDir(), 'relay');
  const acme = acmeOptions(opts, opts.dataDir ?? dataDir);
  const port = opts.port ?? (acme ? 443 : 8080);
  let relay: RelayHandle;
  try {
    relay = await createRelay({
      port,
      host: opts.host,
      domain: opts.domain,
      publicUrl: opts.publicUrl,
      tokens: opts.token,
      tokensFile: opts.tokensFile,
      stateFile: opts.stateFile,
      dataDir,
      cluster,
      acme,
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
        upgradeIdleTimeoutMs: opts.upgradeIdleTimeout * 1000,
      },
    });
  } catch (err) {
    fail(isHooktunnelError(err) ? err.message : `cannot start the relay on ${opts.host}:${port}: ${(err as Error).message}`);
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
  const state = cluster
    ? `state in Redis at ${redactRedisUrl(cluster.redis)}; cluster node reached at ${cluster.url}`
    : dataDir ? `state in ${join(dataDir, 'relay.db')}` : 'state in memory (--memory): kept requests and tunnel ids go with this process';
  process.stderr.write(`${chalk.gray(state)}\n`);
  const secured = acme ? ` (TLS, ACME; challenges on port ${relay.httpPort})` : tls ? ' (TLS)' : '';
  process.stdout.write(`hooktunnel relay listening on ${opts.host}:${relay.port}${secured}${opts.domain ? ` (subdomains of ${opts.domain})` : ''}\n`);
}
