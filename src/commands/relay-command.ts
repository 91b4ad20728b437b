import { Command, Option } from 'commander';
import { DEFAULT_LIMITS } from '../relay/limits.js';
import type { RelayCliOptions } from './relay.js';
import { collect, intOption } from './shared.js';
import { DEFAULT_ORDERS_PER_HOUR } from '../relay/acme/budget.js';

/** `hooktunnel relay`: the server agents connect to. The relay is loaded only when it runs (relay.ts). */
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
    .addOption(new Option('--max-body <bytes>', 'largest request body (413 beyond)').argParser(intOption('--max-body', 0, 2 ** 50)).default(DEFAULT_LIMITS.maxBodyBytes))
    .addOption(new Option('--max-header-size <bytes>', 'largest request head (431 beyond)').argParser(intOption('--max-header-size', 1024, 1024 * 1024)).default(DEFAULT_LIMITS.maxHeaderBytes))
    .addOption(new Option('--max-in-flight <count>', 'requests in flight per tunnel (503 beyond)').argParser(intOption('--max-in-flight', 1, 100_000)).default(DEFAULT_LIMITS.maxInFlight))
    .addOption(new Option('--requests-per-minute <count>', 'requests per minute per token (429 beyond)').argParser(intOption('--requests-per-minute', 1, 10_000_000)).default(DEFAULT_LIMITS.requestsPerMinute))
    .addOption(new Option('--tunnels-per-token <count>', 'tunnels open at once per token').argParser(intOption('--tunnels-per-token', 1, 100_000)).default(DEFAULT_LIMITS.tunnelsPerToken))
    .addOption(new Option('--header-timeout <seconds>', 'time to send the request head (408 beyond)').argParser(seconds('--header-timeout', 3600)).default(DEFAULT_LIMITS.headersTimeoutMs / 1000))
    .addOption(new Option('--body-timeout <seconds>', 'longest pause in a request body (408 beyond)').argParser(seconds('--body-timeout', 3600)).default(DEFAULT_LIMITS.bodyIdleTimeoutMs / 1000))
    .addOption(new Option('--upgrade-idle-timeout <seconds>', 'close an upgraded connection (WebSocket) after this long without a byte either way').argParser(seconds('--upgrade-idle-timeout', 86400)).default(DEFAULT_LIMITS.upgradeIdleTimeoutMs / 1000))
    .option('--data-dir <dir>', "keep tunnel ids and kept requests in an SQLite file here, ACME certificates in its acme/ (default: a relay/ folder in HOOKTUNNEL_HOME or the platform data directory)")
    .option('--memory', 'keep the state in memory only: a restart forgets tunnel ids and kept requests')
    .option('--state-file <file>', 'with --memory: keep tunnel ids in this JSON file across restarts; otherwise: import it into the data directory once')
    .addOption(new Option('--redis <url>', "make this relay a cluster node: state in this Redis (redis://[:password@]host:6379/0, rediss:// for TLS), shared with the other nodes").env('HOOKTUNNEL_REDIS'))
    .option('--cluster-url <url>', 'with --redis: the address the other nodes reach this one at, e.g. http://10.0.0.5:8080')
    .addOption(new Option('--cluster-secret <secret>', 'with --redis: the secret all nodes share to sign their requests to each other (better given by the environment)').env('HOOKTUNNEL_CLUSTER_SECRET'))
    .addOption(new Option('--reservation <seconds>', "how long a disconnected tunnel's id stays reserved for its owner").argParser(seconds('--reservation', 365 * 86400)).default(86400))
    .addOption(new Option('--offline-wait <seconds>', 'how long a request for an offline tunnel waits for its agent before 503').argParser(seconds('--offline-wait', 300)).default(10))
    .addOption(new Option('--offline-max <count>', 'requests kept per offline tunnel (oldest dropped beyond)').argParser(intOption('--offline-max', 0, 100_000)).default(100))
    .addOption(new Option('--offline-max-bytes <bytes>', 'body bytes kept per offline tunnel').argParser(intOption('--offline-max-bytes', 0, 2 ** 40)).default(10 * 1024 * 1024))
    .addOption(new Option('--offline-ttl <seconds>', 'how long kept requests are kept').argParser(intOption('--offline-ttl', 1, 365 * 86400)).default(86400))
    .action(async (opts: RelayCliOptions) => (await import('./relay.js')).runRelay(opts));
}
