import { readFileSync } from 'node:fs';
import chalk from 'chalk';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { connectAgent, type AgentHandle } from './agent/connect.js';
import { parseTarget, type Target } from './agent/target.js';
import { IdentityFile } from './agent/identity.js';
import { ErrorCode, isHooktunnelError } from './errors.js';
import { resolveDataDir } from './paths.js';
import { createRelay, type RelayHandle } from './relay/server.js';
import { batchedLines } from './ui/printers.js';
import { attachReporter } from './ui/reporter.js';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Port the embedded relay tries first, so the local URL stays the same between runs; any free port otherwise. */
const EMBEDDED_RELAY_PORT = 7071;

/** Exit codes: 0 fine, 1 runtime failure (relay unreachable, refused), 2 bad command-line input. */
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

function intOption(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}.`);
    return n;
  };
}

function targetArgument(value: string): Target {
  try {
    return parseTarget(value);
  } catch (err) {
    throw new InvalidArgumentError(isHooktunnelError(err) ? err.message : String(err));
  }
}

interface AgentCliOptions {
  relay?: string;
  subdomain?: string;
  json?: boolean;
  hostHeader: 'rewrite' | 'preserve';
  timeout: number;
  dataDir?: string;
  forwardMissed?: boolean;
}

interface RelayCliOptions {
  port: number;
  host: string;
  domain?: string;
  publicUrl?: string;
  reservation: number;
  offlineWait: number;
  offlineMax: number;
  offlineMaxBytes: number;
  offlineTtl: number;
}

function fail(message: string, code = EXIT_FAILURE): never {
  process.stderr.write(`${chalk.red('error')} ${message}\n`);
  process.exit(code);
}

function onSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (): void => {
    if (stopping) process.exit(EXIT_FAILURE);
    stopping = true;
    void stop().then(() => process.exit(0));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

async function runAgent(target: Target | undefined, opts: AgentCliOptions): Promise<void> {
  if (!target) fail('missing target: the port or URL of your local server, e.g. `hooktunnel 3000`', EXIT_USAGE);
  let embedded: RelayHandle | undefined;
  let relayUrl = opts.relay;
  if (!relayUrl) {
    embedded = await createRelay({ host: '127.0.0.1', port: EMBEDDED_RELAY_PORT }).catch(() => createRelay({ host: '127.0.0.1', port: 0 }));
    relayUrl = embedded.url;
  }
  const identities = new IdentityFile(resolveDataDir(opts.dataDir));
  const key = IdentityFile.key(relayUrl, target.display, opts.subdomain);
  const remembered = identities.load(key);
  const options = { relay: relayUrl, target, hostHeader: opts.hostHeader, timeoutMs: opts.timeout * 1000, forwardMissed: opts.forwardMissed };
  let agent: AgentHandle;
  try {
    agent = await connectAgent({ ...options, subdomain: opts.subdomain ?? remembered?.tunnel, secret: remembered?.secret }).catch((err: unknown) => {
      // The id this machine used last time is held by someone else now: a new URL beats no URL.
      if (!opts.subdomain && remembered && isHooktunnelError(err, ErrorCode.TunnelTaken)) return connectAgent(options);
      throw err;
    });
  } catch (err) {
    await embedded?.close();
    fail(isHooktunnelError(err) ? err.message : String(err));
  }
  try {
    identities.save(key, { tunnel: agent.tunnelId, secret: agent.secret });
  } catch (err) {
    process.stderr.write(`${chalk.yellow('warning')} cannot remember the tunnel id for next time: ${(err as Error).message}\n`);
  }
  const ready = { type: 'ready' as const, url: agent.publicUrl, tunnel: agent.tunnelId, target: target.display, relay: relayUrl };
  attachReporter(agent.events, ready, { json: opts.json === true, embedded: embedded !== undefined }, { out: batchedLines(process.stdout), err: process.stderr });
  agent.events.on('disconnected', (d) => {
    if (!d.willRetry) void agent.close().then(() => embedded?.close()).then(() => process.exit(EXIT_FAILURE));
  });
  onSignals(async () => {
    await agent.close();
    await embedded?.close();
  });
}

async function runRelay(opts: RelayCliOptions): Promise<void> {
  let relay: RelayHandle;
  try {
    relay = await createRelay({
      port: opts.port,
      host: opts.host,
      domain: opts.domain,
      publicUrl: opts.publicUrl,
      reservationMs: opts.reservation * 1000,
      offline: { waitMs: opts.offlineWait * 1000, maxCount: opts.offlineMax, maxBytes: opts.offlineMaxBytes, ttlMs: opts.offlineTtl * 1000 },
    });
  } catch (err) {
    fail(`cannot start the relay on ${opts.host}:${opts.port}: ${(err as Error).message}`);
  }
  process.stdout.write(`hooktunnel relay listening on ${opts.host}:${relay.port}${opts.domain ? ` (subdomains of ${opts.domain})` : ''}\n`);
  onSignals(() => relay.close());
}

function buildProgram(): Command {
  const program = new Command('hooktunnel')
    .description('Receive webhooks on your own machine: a public URL that reaches your local server through a relay.')
    .version(VERSION, '-v, --version')
    .argument('[target]', 'your local server: a port (3000), host:port, or a URL (http://localhost:3000/base)', targetArgument)
    .addOption(new Option('--relay <url>', 'relay to connect to (default: an embedded relay on 127.0.0.1)').env('HOOKTUNNEL_RELAY'))
    .option('--subdomain <name>', 'ask for this tunnel id instead of a random one')
    .option('--json', 'print newline-delimited JSON events on stdout (human text goes to stderr)')
    .addOption(new Option('--host-header <mode>', 'Host header the target sees').choices(['rewrite', 'preserve']).default('rewrite'))
    .addOption(new Option('--timeout <seconds>', 'how long the target may take to answer before 504').argParser(intOption('--timeout', 1, 3600)).default(30))
    .option('--data-dir <dir>', 'where captures and tunnel ids are kept (default: HOOKTUNNEL_HOME, else the platform data directory)')
    .option('--forward-missed', 'also forward requests that arrived while the agent was offline, in arrival order')
    .action((target: Target | undefined, opts: AgentCliOptions) => runAgent(target, opts));
  // Before the subcommands, so that they inherit it: usage errors exit 2 from main().
  program.exitOverride();

  program
    .command('relay')
    .description('run a relay server that agents connect to')
    .addOption(new Option('--port <port>', 'port to listen on').env('PORT').argParser(intOption('--port', 0, 65535)).default(8080))
    .option('--host <address>', 'address to listen on', '0.0.0.0')
    .option('--domain <domain>', 'route <id>.<domain> to tunnel <id> (subdomain routing)')
    .option('--public-url <url>', 'base URL to advertise, e.g. https://tunnel.example.com behind a TLS proxy')
    .addOption(new Option('--reservation <seconds>', "how long a disconnected tunnel's id stays reserved for its owner").argParser(intOption('--reservation', 0, 365 * 86400)).default(86400))
    .addOption(new Option('--offline-wait <seconds>', 'how long a request for an offline tunnel waits for its agent before 503').argParser(intOption('--offline-wait', 0, 300)).default(10))
    .addOption(new Option('--offline-max <count>', 'requests kept per offline tunnel (oldest dropped beyond)').argParser(intOption('--offline-max', 0, 100_000)).default(100))
    .addOption(new Option('--offline-max-bytes <bytes>', 'body bytes kept per offline tunnel').argParser(intOption('--offline-max-bytes', 0, 2 ** 40)).default(10 * 1024 * 1024))
    .addOption(new Option('--offline-ttl <seconds>', 'how long kept requests are kept').argParser(intOption('--offline-ttl', 1, 365 * 86400)).default(86400))
    .action((opts: RelayCliOptions) => runRelay(opts));
  return program;
}

/** Parses argv and runs the command. Only this module turns errors into output and exit codes. */
export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE);
    }
    fail(isHooktunnelError(err) ? err.message : String((err as Error)?.stack ?? err));
  }
}

await main(process.argv);
