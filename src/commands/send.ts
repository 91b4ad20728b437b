import { readFileSync } from 'node:fs';
import chalk from 'chalk';
import { IdentityFile } from '../agent/identity.js';
import { parseTarget } from '../agent/target.js';
import { isHooktunnelError } from '../errors.js';
import { resolveDataDir } from '../paths.js';
import { formatDuration } from '../ui/format.js';
import { sendEvent } from '../agent/send-event.js';
import { SAMPLES, findSample, type Sample } from '../webhooks/samples/index.js';
import { PROVIDERS, type ProviderName, type WebhookSecret } from '../webhooks/types.js';
import { commandSecrets } from './secrets.js';
import { EXIT_FAILURE, EXIT_USAGE, fail } from './shared.js';

/** Options of `hooktunnel send`. */
export interface SendFlags {
  readonly list?: boolean;
  readonly to?: string;
  readonly tunnel?: string | true;
  readonly path?: string;
  readonly secret?: string;
  readonly verify?: string[];
  readonly data?: string;
  readonly dataDir?: string;
}

/** `send --list`: one line per sample. */
function listSamples(): void {
  const width = Math.max(...SAMPLES.map((s) => `${s.provider} ${s.event}`.length));
  process.stdout.write(SAMPLES.map((s) => `${`${s.provider} ${s.event}`.padEnd(width)}  ${chalk.gray(s.description)}\n`).join(''));
}

function chooseSample(provider: string | undefined, event: string | undefined): Sample {
  const providers = PROVIDERS.join(', ');
  if (!provider) fail(`which provider? one of ${providers} (hooktunnel send --list shows the events)`, EXIT_USAGE);
  if (!(PROVIDERS as readonly string[]).includes(provider)) fail(`unknown provider "${provider}": one of ${providers}`, EXIT_USAGE);
  const events = SAMPLES.filter((s) => s.provider === provider).map((s) => s.event).join(', ');
  if (!event) fail(`which ${provider} event? one of ${events}`, EXIT_USAGE);
  const sample = findSample(provider, event);
  if (!sample) fail(`no sample "${event}" for ${provider}: one of ${events}`, EXIT_USAGE);
  return sample;
}

/**
 * Where to send: `--to` (a URL used as given, or a port / host:port for `http://host:port/`), else the tunnel's
 * public URL as the agent last announced it in this data directory (`--tunnel [id]`), plus `--path`.
 */
function destination(flags: SendFlags): string {
  const path = flags.path ?? '';
  if (flags.to !== undefined && flags.tunnel !== undefined) fail('choose one of --to and --tunnel', EXIT_USAGE);
  if (flags.to !== undefined) {
    if (/^https?:\/\//i.test(flags.to)) return flags.to + path;
    try {
      return `${parseTarget(flags.to).origin}${path || '/'}`;
    } catch (err) {
      fail(isHooktunnelError(err) ? err.message : String(err), EXIT_USAGE);
    }
  }
  const id = typeof flags.tunnel === 'string' ? flags.tunnel : undefined;
  const url = new IdentityFile(resolveDataDir(flags.dataDir)).publicUrl(id);
  if (!url) fail(`no ${id ? `tunnel ${id}` : 'tunnel'} remembered in ${resolveDataDir(flags.dataDir)}: start \`hooktunnel <port>\` first, or pass --to URL`, EXIT_USAGE);
  return url.replace(/\/+$/, '') + (path || '/');
}

/** The secret to sign with: `--secret`, else the first configured for the provider (for generic, with its header). */
function secretFor(provider: ProviderName, flags: SendFlags): WebhookSecret {
  const configured = commandSecrets(flags).filter((s) => s.provider === provider);
  if (flags.secret !== undefined) return { ...configured[0], provider, secret: flags.secret };
  if (configured[0]) return configured[0];
  return fail(`no secret for ${provider}: pass --secret, --verify ${provider}=…, or set HOOKTUNNEL_VERIFY`, EXIT_USAGE);
}

/**
 * `hooktunnel send <provider> <event>`: builds a sample event, signs it as the provider would for the URL it goes
 * to, POSTs it and prints the answer's status. Exit 0 on a 2xx answer, 1 otherwise, 2 for bad input.
 */
export async function runSend(provider: string | undefined, event: string | undefined, flags: SendFlags): Promise<void> {
  if (flags.list) return listSamples();
  const sample = chooseSample(provider, event);
  const url = destination(flags);
  const secret = secretFor(sample.provider, flags);
  let body: Buffer | undefined;
  if (flags.data !== undefined) {
    try {
      body = readFileSync(flags.data === '-' ? 0 : flags.data);
    } catch (err) {
      fail(`cannot read --data ${flags.data}: ${(err as Error).message}`, EXIT_USAGE);
    }
  }
  try {
    const res = await sendEvent(sample, url, secret, { body });
    const text = res.body.toString('utf8');
    const line = `${sample.provider} ${sample.event} -> ${res.url}  ${res.status}  ${formatDuration(res.durationMs)}`;
    const ok = res.status >= 200 && res.status < 300;
    process.stdout.write(`${ok ? chalk.green(line) : chalk.red(line)}\n`);
    if (!ok) {
      process.stderr.write(`${chalk.red('error')} the receiver answered ${res.status}${text ? `: ${text.slice(0, 200).replace(/\s+/g, ' ')}` : ''}\n`);
      process.exitCode = EXIT_FAILURE;
    }
  } catch (err) {
    fail(`POST ${url} failed: ${(err as Error).message}`);
  }
}
