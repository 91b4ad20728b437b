import chalk from 'chalk';
import { isHooktunnelError } from '../errors.js';
import { resolveDataDir } from '../paths.js';
import { loadSecrets } from '../webhooks/secrets.js';
import type { WebhookSecret } from '../webhooks/types.js';
import { EXIT_USAGE, fail } from './shared.js';

/** Help text of `--verify`, shared by the commands that take it. */
export const VERIFY_HELP = 'webhook secret: provider=SECRET (github, stripe, slack, shopify, standard, twilio) or generic:<Header>[:hex|base64]=SECRET; repeatable; also HOOKTUNNEL_VERIFY and <data dir>/config.json';

/**
 * Commander parser of a repeatable `--verify`: collected as text and checked by commandSecrets. Not checked here:
 * commander's own message for a refused argument quotes it, and with it the secret.
 */
export function verifyArgument(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/**
 * Every secret for a command: its `--verify` flags, HOOKTUNNEL_VERIFY, `<data dir>/config.json`. Bad config exits 2;
 * a config.json other users may read gets a warning on stderr.
 */
export function commandSecrets(flags: { readonly verify?: readonly string[]; readonly dataDir?: string }): WebhookSecret[] {
  const warn = (message: string): void => void process.stderr.write(`${chalk.yellow('warning')} ${message}\n`);
  try {
    return loadSecrets({ flags: flags.verify, dataDir: resolveDataDir(flags.dataDir), warn });
  } catch (err) {
    fail(isHooktunnelError(err) ? err.message : String(err), EXIT_USAGE);
  }
}
