import { readFileSync } from 'node:fs';
import chalk from 'chalk';
import { Command, Option } from 'commander';
import { join } from 'node:path';
import { isHooktunnelError } from '../errors.js';
import { resolveDataDir } from '../paths.js';
import { DEFAULT_LIMITS } from '../relay/limits.js';
import { createRelay, type RelayHandle } from '../relay/server.js';
import { collect, fail, intOption, onSignals } from './shared.js';

interface RelayCliOptions {
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

async function runRelay(opts: RelayCliOptions): Promise<void> {
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

/** `hooktunnel relay`: the server agents connect to. */
export function relayCommand(): Command {
  const seconds = (name: string, max: number) => intOption(name, 0, max);
  return new Command('relay')
    .description('run a relay server that agents connect to')
    .addOption(new Option('--port <port>', 'port to listen on').env('PORT').argParser(intOption('--port', 0, 65535)).default(8080))
    .option('--host <address>', 'address to listen on', '0.0.0.0')
    .option('--domain <domain>', 'route <id>.<domain> to tunnel <id> (subdomain routing)')
    .option('--public-url <url>', 'base URL to advertise, e.g. https://tunnel.example.com behind a TLS proxy')
    .addOption(new Option('--token <token>', 'a token agents must present (repeatable)').argParser(collect))
    .option('--tokens-file <file>', 'a file of tokens, one per line; reread on SIGHUP')
    .option('--open', 'accept agents from anywhere without a token (anyone can then open tunnels here)')
    .option('--trust-proxy', "behind a reverse proxy: take senders' addresses from the proxy's X-Forwarded-For (and its X-Forwarded-Proto)")
    .option('--tls-cert <file>', 'serve HTTPS and WSS with this certificate (PEM)')
    .option('--tls-key <file>', 'the private key of --tls-cert (PEM)')
    .addOption(new Option('--max-body <bytes>', 'largest request body (413 beyond)').argParser(intOption('--max-body', 0, 2 ** 50)).default(DEFAULT_LIMITS.maxBodyBytes))
    .addOption(new Option('--max-header-size <bytes>', 'largest request head (431 beyond)').argParser(intOption('--max-header-size', 1024, 1024 * 1024)).default(DEFAULT_LIMITS.maxHeaderBytes))
    .addOption(new Option('--max-in-flight <count>', 'requests in flight per tunnel (503 beyond)').argParser(intOption('--max-in-flight', 1, 100_000)).default(DEFAULT_LIMITS.maxInFlight))
    .addOption(new Option('--requests-per-minute <count>', 'requests per minute per token (429 beyond)').argParser(intOption('--requests-per-minute', 1, 10_000_000)).default(DEFAULT_LIMITS.requestsPerMinute))
    .addOption(new Option('--tunnels-per-token <count>', 'tunnels open at once per token').argParser(intOption('--tunnels-per-token', 1, 100_000)).default(DEFAULT_LIMITS.tunnelsPerToken))
    .addOption(new Option('--header-timeout <seconds>', 'time to send the request head (408 beyond)').argParser(seconds('--header-timeout', 3600)).default(DEFAULT_LIMITS.headersTimeoutMs / 1000))
    .addOption(new Option('--body-timeout <seconds>', 'longest pause in a request body (408 beyond)').argParser(seconds('--body-timeout', 3600)).default(DEFAULT_LIMITS.bodyIdleTimeoutMs / 1000))
    .option('--data-dir <dir>', "keep tunnel ids and kept requests in an SQLite file here (default: a relay/ folder in HOOKTUNNEL_HOME or the platform data directory)")
    .option('--memory', 'keep the state in memory only: a restart forgets tunnel ids and kept requests')
    .option('--state-file <file>', 'with --memory: keep tunnel ids in this JSON file across restarts; otherwise: import it into the data directory once')
    .addOption(new Option('--reservation <seconds>', "how long a disconnected tunnel's id stays reserved for its owner").argParser(seconds('--reservation', 365 * 86400)).default(86400))
    .addOption(new Option('--offline-wait <seconds>', 'how long a request for an offline tunnel waits for its agent before 503').argParser(seconds('--offline-wait', 300)).default(10))
    .addOption(new Option('--offline-max <count>', 'requests kept per offline tunnel (oldest dropped beyond)').argParser(intOption('--offline-max', 0, 100_000)).default(100))
    .addOption(new Option('--offline-max-bytes <bytes>', 'body bytes kept per offline tunnel').argParser(intOption('--offline-max-bytes', 0, 2 ** 40)).default(10 * 1024 * 1024))
    .addOption(new Option('--offline-ttl <seconds>', 'how long kept requests are kept').argParser(intOption('--offline-ttl', 1, 365 * 86400)).default(86400))
    .action((opts: RelayCliOptions) => runRelay(opts));
}
