import { Command, Option } from 'commander';
import { PROVIDERS } from '../webhooks/types.js';
import { VERIFY_HELP, verifyArgument } from './secrets.js';
import type { SendFlags } from './send.js';

/** The `send` command. The samples, signing and undici are loaded only when it runs (send.ts). */
export function sendCommand(): Command {
  return new Command('send')
    .description('send a realistic sample webhook, signed like the provider signs it, through the tunnel or to a URL')
    .argument('[provider]', `one of ${PROVIDERS.join(', ')}`)
    .argument('[event]', 'the sample event (hooktunnel send --list)')
    .option('--list', 'list the sample events')
    .option('--to <url>', 'send to this URL (or port, host:port) instead of the tunnel')
    .option('--tunnel [id]', "send to the tunnel's public URL (default; the most recently started tunnel, or this id)")
    .option('--path <path>', 'append this path to the URL (e.g. /webhooks/stripe)')
    .option('--secret <secret>', "the provider's signing secret (default: from --verify, HOOKTUNNEL_VERIFY or config.json)")
    .addOption(new Option('--verify <provider=secret>', VERIFY_HELP).argParser(verifyArgument))
    .option('--data <file>', 'send this file as the body instead of the sample (- for standard input)')
    .option('--data-dir <dir>', "the agent's data directory (remembered tunnels, config.json)")
    .action(async (provider: string | undefined, event: string | undefined, flags: SendFlags) => (await import('./send.js')).runSend(provider, event, flags));
}
