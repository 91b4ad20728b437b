import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, HooktunnelError } from '../errors.js';
import { PROVIDERS, type ProviderName, type WebhookSecret } from './types.js';

/** The environment variable that holds secrets: `provider=secret` entries separated by commas or whitespace. */
export const VERIFY_ENV = 'HOOKTUNNEL_VERIFY';
/** The file in the data directory whose `verify` member holds secrets. */
export const CONFIG_FILE = 'config.json';

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const SYNTAX = 'expected provider=SECRET (github, stripe, slack, shopify, standard, twilio) or generic:<Header>[:hex|base64]=SECRET';

function bad(source: string, what: string): HooktunnelError {
  // Never the secret itself in a message: only the part before '='.
  return new HooktunnelError(ErrorCode.InvalidArgument, `${source}: ${what}; ${SYNTAX}`);
}

/** Parses the part before `=`: a provider name, `svix` (Standard Webhooks), or `generic:<Header>[:<encoding>]`. */
function parseKey(key: string, source: string): Omit<WebhookSecret, 'secret'> {
  const name = key.trim().toLowerCase();
  if (name === 'svix') return { provider: 'standard' };
  if (name.startsWith('generic:') || name === 'generic') {
    const [, header, encoding = 'hex', ...rest] = key.trim().split(':');
    if (!header || !TOKEN.test(header)) throw bad(source, `"${key}" needs a header name (generic:X-Signature)`);
    if ((encoding !== 'hex' && encoding !== 'base64') || rest.length > 0) throw bad(source, `"${key}": the encoding is hex or base64`);
    return { provider: 'generic', header, encoding };
  }
  if (!(PROVIDERS as readonly string[]).includes(name)) throw bad(source, `unknown provider "${key.trim()}"`);
  return { provider: name as ProviderName };
}

/** Parses one `--verify` value: `github=SECRET`, `svix=whsec_…`, `generic:X-Signature:base64=SECRET`. */
export function parseVerifySpec(spec: string, source = '--verify'): WebhookSecret {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw bad(source, eq === 0 ? 'a provider is missing before "="' : 'no "=" in the value');
  const key = parseKey(spec.slice(0, eq), source);
  const secret = spec.slice(eq + 1);
  if (secret === '') throw bad(source, `the secret for ${spec.slice(0, eq)} is empty`);
  return { ...key, secret };
}

/**
 * Where one entry of a list ends: commas or whitespace followed by the next `provider=`. A secret may therefore
 * hold spaces or commas (GitHub secrets are free text), as long as they are not followed by something that reads
 * as the next entry.
 */
const NEXT_ENTRY = /[\s,]+(?=(?:github|stripe|slack|shopify|standard|svix|twilio|generic(?::[^\s,=]*)*)=)/i;

/** Parses a list of specs separated by commas or whitespace (HOOKTUNNEL_VERIFY). */
export function parseVerifyList(text: string, source = VERIFY_ENV): WebhookSecret[] {
  return text.trim().split(NEXT_ENTRY).filter(Boolean).map((spec) => parseVerifySpec(spec.replace(/[\s,]+$/, ''), source));
}

/**
 * Reads the `verify` member of `<dir>/config.json`: either a list of specs (`["github=…"]`) or an object from
 * provider to a secret or a list of secrets (`{"stripe": ["whsec_old", "whsec_new"]}`). A missing file is no
 * secrets; an unreadable one is an error. `warn` is told when the file is readable or writable by other users.
 */
export function readVerifyConfig(dir: string, warn?: (message: string) => void): WebhookSecret[] {
  const path = join(dir, CONFIG_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
    if (warn) warnIfShared(path, warn);
  } catch (err) {
    // No file, or a data directory that is not one (the agent then warns about captures and carries on).
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw new HooktunnelError(ErrorCode.InvalidArgument, `cannot read ${path}: ${(err as Error).message}`);
  }
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (err) {
    throw new HooktunnelError(ErrorCode.InvalidArgument, `${path} is not valid JSON: ${(err as Error).message}`);
  }
  const verify = (config as { verify?: unknown } | null)?.verify;
  if (verify === undefined) return [];
  if (Array.isArray(verify) && verify.every((v) => typeof v === 'string')) return verify.map((v: string) => parseVerifySpec(v, path));
  if (typeof verify === 'object' && verify !== null && !Array.isArray(verify)) {
    return Object.entries(verify).flatMap(([key, value]) => {
      const list: unknown[] = Array.isArray(value) ? value : [value];
      return list.map((secret) => {
        if (typeof secret !== 'string' || secret === '') throw bad(path, `the secret for ${key} must be a non-empty string`);
        return { ...parseKey(key, path), secret };
      });
    });
  }
  throw bad(path, '"verify" must be a list of specs or an object from provider to secret');
}

/** Tells `warn` when `path` (holding secrets) is open to other users. POSIX modes only: Windows has none to check. */
function warnIfShared(path: string, warn: (message: string) => void): void {
  if (process.platform === 'win32') return;
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) === 0) return;
  warn(`${path} holds webhook secrets and other users may read or change it (mode ${mode.toString(8).padStart(4, '0')}); make it private: chmod 600 ${path}`);
}

/** Where secrets come from, in the order they are tried: flags, then the environment, then the data directory's config. */
export interface SecretSources {
  readonly flags?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly dataDir?: string;
  /** Told of a config.json that other users may read (the secrets are used all the same). */
  readonly warn?: (message: string) => void;
}

/** Every configured secret, from `--verify` flags, HOOKTUNNEL_VERIFY and `<data dir>/config.json`, in that order. */
export function loadSecrets(sources: SecretSources): WebhookSecret[] {
  const env = sources.env ?? process.env;
  return [
    ...(sources.flags ?? []).map((f) => parseVerifySpec(f)),
    ...(env[VERIFY_ENV] ? parseVerifyList(env[VERIFY_ENV]) : []),
    ...(sources.dataDir ? readVerifyConfig(sources.dataDir, sources.warn) : []),
  ];
}
