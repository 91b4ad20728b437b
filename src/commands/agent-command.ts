import { Command, InvalidArgumentError, Option } from 'commander';
import { connectUrl } from '../agent/relay-url.js';
import type { Target } from '../agent/target.js';
import { STORE_DEFAULTS } from '../capture/defaults.js';
import { isHooktunnelError } from '../errors.js';
import type { AgentCliOptions } from './agent.js';
import { targetArgument } from './arguments.js';
import { VERIFY_HELP, verifyArgument } from './secrets.js';
import { EXIT_USAGE, collect, fail, intOption } from './shared.js';

/**
 * Checks `--relay` (or HOOKTUNNEL_RELAY) up front, so a malformed URL is bad input (exit 2), not a failed connection.
 * An empty value (`HOOKTUNNEL_RELAY=`) means none: the embedded relay.
 */
function relayArgument(value: string): string | undefined {
  if (value === '') return undefined;
  try {
    connectUrl(value);
  } catch (err) {
    throw new InvalidArgumentError(isHooktunnelError(err) ? `${err.message}.` : String(err));
  }
  return value;
}

function authArgument(value: string): string {
  if (!/^[^:]+:.+$/.test(value)) throw new InvalidArgumentError('--auth must be user:password.');
  return value;
}

/**
 * The default command, `hooktunnel <target>`: its argument and options, on `program`. The agent, the relay, the
 * store and the UI are loaded only when it runs (agent.ts).
 */
export function defineAgentCommand(program: Command): Command {
  return program
    .argument('[target]', 'your local server: a port (3000), host:port, or a URL (http://localhost:3000/base)', targetArgument)
    .addOption(new Option('--relay <url>', 'relay to connect to (default: an embedded relay on 127.0.0.1)').env('HOOKTUNNEL_RELAY').argParser(relayArgument))
    .addOption(new Option('--token <token>', 'token for a relay that requires one').env('HOOKTUNNEL_TOKEN'))
    .option('--config <file>', 'with no target: start the tunnels of this config file (default: hooktunnel.yaml, .yml or .json here or in a parent folder)')
    .option('--subdomain <name>', 'ask for this tunnel id instead of a random one')
    .option('--json', 'print newline-delimited JSON events on stdout (human text goes to stderr)')
    .option('--no-ui', 'no live inspector: one plain line per exchange, even in a terminal')
    .addOption(new Option('--host-header <mode>', 'Host header the target sees').choices(['rewrite', 'preserve']).default('rewrite'))
    .addOption(new Option('--timeout <seconds>', 'how long the target may take to answer before 504').argParser(intOption('--timeout', 1, 3600)).default(30))
    .addOption(new Option('--auth <user:password>', 'require this basic auth from senders (checked at the relay)').argParser(authArgument))
    .addOption(new Option('--allow-ip <cidr>', 'accept senders from this address range only (repeatable)').argParser(collect))
    .option('--ca <file>', 'trust this CA certificate (PEM) for an https:// relay with a private CA')
    .option('--data-dir <dir>', 'where captures and tunnel ids are kept (default: HOOKTUNNEL_HOME, else the platform data directory)')
    .option('--forward-missed', 'also forward requests that arrived while the agent was offline, in arrival order')
    .addOption(new Option('--verify <provider=secret>', VERIFY_HELP).argParser(verifyArgument))
    .option('--no-capture', 'do not record exchanges in the capture store')
    .addOption(new Option('--capture-max-body <bytes>', 'store at most this much of each body (the rest is marked truncated)').argParser(intOption('--capture-max-body', 0, 2 ** 40)).default(STORE_DEFAULTS.maxBodyBytes))
    .addOption(new Option('--retain <count>', 'keep the newest this many captures').argParser(intOption('--retain', 1, 10_000_000)).default(STORE_DEFAULTS.retain))
    .addOption(new Option('--retain-bytes <bytes>', 'keep at most this many bytes of captured bodies').argParser(intOption('--retain-bytes', 0, 2 ** 50)).default(STORE_DEFAULTS.retainBytes))
    .action(async (target: Target | undefined, opts: AgentCliOptions) => {
      if (target && opts.config) fail('give a target or --config, not both: a config file names its own targets', EXIT_USAGE);
      if (target) return (await import('./agent.js')).runAgent(target, opts);
      return (await import('./project.js')).runProject(opts.config, opts);
    });
}
