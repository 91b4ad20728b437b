import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import chalk from 'chalk';
import { Command, Option } from 'commander';
import { isHooktunnelError } from '../errors.js';
import { DEFAULT_ORDERS_PER_HOUR } from '../relay/acme/budget.js';
import { DEFAULT_LIMITS } from '../relay/limits.js';
import { ensurePrivateDir, resolveDataDir } from '../paths.js';
import type { AcmeOptions } from '../relay/acme/index.js';
import { createRelay, type RelayHandle } from '../relay/server.js';
import { collect, fail, intOption, onSignals } from './shared.js';

interface RelayCliOptions {
  port?: number;
  host: string;
  domain?: string;
  publicUrl?: string;
  token?: string[];
  tokensFile?: string;
  stateFile?: string;
  open?: boolean;
  trustProxy?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  dataDir?: string;
  acmeEmail?: string;
  acmeDirectory?: string;
  acmeCa?: string;
  acmeDnsHook?: string;
  acmeOrdersPerHour: number;
  acmeRetry: number;
  httpPort: number;
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
    fail(`cannot read the ${what} ${path}: ${(err as Error).message}`);
  }
}

/** `--acme-*` into createRelay's `acme` option; exits 2 on flags that do not go together. */
function acmeOptions(opts: RelayCliOptions): AcmeOptions | undefined {
  const given = ['acmeDirectory', 'acmeCa', 'acmeDnsHook'].filter((k) => opts[k as keyof RelayCliOptions] !== undefined);
  if (opts.acmeEmail === undefined) {
    if (given.length > 0) fail('--acme-directory, --acme-ca and --acme-dns-hook need --acme-email', 2);
    return undefined;
  }
  if (!opts.domain) fail('--acme-email needs --domain: certificates are for the domain and its tunnel hosts', 2);
  if (opts.tlsCert) fail('--acme-email and --tls-cert go apart: certificates come from ACME or from you', 2);
  if (!/^[^\s@]+@[^\s@]+$/.test(opts.acmeEmail)) fail(`--acme-email ${opts.acmeEmail} is not an e-mail address`, 2);
  const dataDir = opts.dataDir ?? join(resolveDataDir(), 'relay');
  try {
    ensurePrivateDir(dataDir);
  } catch (err) {
    fail(`cannot create the data directory ${dataDir}: ${(err as Error).message}`);
  }
  return {
    email: opts.acmeEmail,
    directory: opts.acmeDirectory,
    directoryCa: opts.acmeCa ? readPem(opts.acmeCa, '--acme-ca certificate') : undefined,
    dir: join(dataDir, 'acme'),
    httpPort: opts.httpPort,
    dnsHook: opts.acmeDnsHook,
    ordersPerHour: opts.acmeOrdersPerHour,
    retryMs: opts.acmeRetry * 1000,
  };
}

async function runRelay(opts: RelayCliOptions): Promise<void> {
  if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) fail('--tls-cert and --tls-key go together', 2);
  const tls = opts.tlsCert && opts.tlsKey ? { cert: readPem(opts.tlsCert, 'TLS certificate'), key: readPem(opts.tlsKey, 'TLS key') } : undefined;
  const acme = acmeOptions(opts);
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
      open: opts.open,
      trustProxy: opts.trustProxy,
      tls,
      acme,
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
  const secured = acme ? ` (TLS, ACME; challenges on port ${relay.httpPort})` : tls ? ' (TLS)' : '';
  process.stdout.write(`hooktunnel relay listening on ${opts.host}:${relay.port}${secured}${opts.domain ? ` (subdomains of ${opts.domain})` : ''}\n`);
}

/** `hooktunnel relay`: the server agents connect to. */
export function relayCommand(): Command {
  const seconds = (name: string, max: number) => intOption(name, 0, max);
  return new Command('relay')
    .description('run a relay server that agents connect to')
    .addOption(new Option('--port <port>', 'port to listen on (default: 8080, or 443 with --acme-email)').env('PORT').argParser(intOption('--port', 0, 65535)))
    .option('--host <address>', 'address to listen on', '0.0.0.0')
    .option('--domain <domain>', 'route <id>.<domain> to tunnel <id> (subdomain routing)')
    .option('--public-url <url>', 'base URL to advertise, e.g. https://tunnel.example.com behind a TLS proxy')
    .addOption(new Option('--token <token>', 'a token agents must present (repeatable)').argParser(collect))
    .option('--tokens-file <file>', 'a file of tokens, one per line; reread on SIGHUP')
    .option('--open', 'accept agents from anywhere without a token (anyone can then open tunnels here)')
    .option('--trust-proxy', "behind a reverse proxy: take senders' addresses from the proxy's X-Forwarded-For (and its X-Forwarded-Proto)")
    .option('--tls-cert <file>', 'serve HTTPS and WSS with this certificate (PEM)')
    .option('--tls-key <file>', 'the private key of --tls-cert (PEM)')
    .option('--acme-email <address>', 'serve HTTPS with certificates from Let\'s Encrypt (or --acme-directory) for --domain and its tunnel hosts; the account\'s contact address')
    .option('--acme-directory <url>', 'ACME directory URL, or "staging" / "production" (Let\'s Encrypt; default production)')
    .option('--acme-ca <file>', "trust this CA (PEM) for the ACME directory's own HTTPS (a private ACME server, e.g. pebble)")
    .option('--acme-dns-hook <command>', 'one wildcard certificate by DNS-01: the command is run with set|clear, the TXT record name and its value')
    .addOption(new Option('--acme-orders-per-hour <count>', 'certificates ordered for tunnel hosts per hour, at most').argParser(intOption('--acme-orders-per-hour', 0, 10_000)).default(DEFAULT_ORDERS_PER_HOUR))
    .addOption(new Option('--acme-retry <seconds>', 'first pause after a failed order or renewal (doubled each time, at most 1 h)').argParser(intOption('--acme-retry', 1, 3600)).default(60))
    .addOption(new Option('--http-port <port>', 'with --acme-email: port for HTTP-01 challenges and the redirect to https').argParser(intOption('--http-port', 0, 65535)).default(80))
    .option('--data-dir <dir>', "the relay's data directory: the ACME account key and certificates are kept in its acme/ (default: a relay/ folder in HOOKTUNNEL_HOME or the platform data directory)")
    .addOption(new Option('--max-body <bytes>', 'largest request body (413 beyond)').argParser(intOption('--max-body', 0, 2 ** 50)).default(DEFAULT_LIMITS.maxBodyBytes))
    .addOption(new Option('--max-header-size <bytes>', 'largest request head (431 beyond)').argParser(intOption('--max-header-size', 1024, 1024 * 1024)).default(DEFAULT_LIMITS.maxHeaderBytes))
    .addOption(new Option('--max-in-flight <count>', 'requests in flight per tunnel (503 beyond)').argParser(intOption('--max-in-flight', 1, 100_000)).default(DEFAULT_LIMITS.maxInFlight))
    .addOption(new Option('--requests-per-minute <count>', 'requests per minute per token (429 beyond)').argParser(intOption('--requests-per-minute', 1, 10_000_000)).default(DEFAULT_LIMITS.requestsPerMinute))
    .addOption(new Option('--tunnels-per-token <count>', 'tunnels open at once per token').argParser(intOption('--tunnels-per-token', 1, 100_000)).default(DEFAULT_LIMITS.tunnelsPerToken))
    .addOption(new Option('--header-timeout <seconds>', 'time to send the request head (408 beyond)').argParser(seconds('--header-timeout', 3600)).default(DEFAULT_LIMITS.headersTimeoutMs / 1000))
    .addOption(new Option('--body-timeout <seconds>', 'longest pause in a request body (408 beyond)').argParser(seconds('--body-timeout', 3600)).default(DEFAULT_LIMITS.bodyIdleTimeoutMs / 1000))
    .option('--state-file <file>', 'keep tunnel ids and their reservations in this file across restarts')
    .addOption(new Option('--reservation <seconds>', "how long a disconnected tunnel's id stays reserved for its owner").argParser(seconds('--reservation', 365 * 86400)).default(86400))
    .addOption(new Option('--offline-wait <seconds>', 'how long a request for an offline tunnel waits for its agent before 503').argParser(seconds('--offline-wait', 300)).default(10))
    .addOption(new Option('--offline-max <count>', 'requests kept per offline tunnel (oldest dropped beyond)').argParser(intOption('--offline-max', 0, 100_000)).default(100))
    .addOption(new Option('--offline-max-bytes <bytes>', 'body bytes kept per offline tunnel').argParser(intOption('--offline-max-bytes', 0, 2 ** 40)).default(10 * 1024 * 1024))
    .addOption(new Option('--offline-ttl <seconds>', 'how long kept requests are kept').argParser(intOption('--offline-ttl', 1, 365 * 86400)).default(86400))
    .action((opts: RelayCliOptions) => runRelay(opts));
}
