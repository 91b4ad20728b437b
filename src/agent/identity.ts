import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrivateDir } from '../paths.js';

/** A tunnel id and the secret that proves we own it on one relay. */
export interface Identity {
  readonly tunnel: string;
  readonly secret: string;
  /** The public URL the relay advertised last time (`hooktunnel send --tunnel` sends there). */
  readonly url?: string;
  /** When it was last saved, ms since the epoch. */
  readonly savedAt?: number;
}

const FILE = 'tunnels.json';

/**
 * Remembers, per relay and target (or requested name), which tunnel id this machine held and its secret, so that
 * `hooktunnel 3000` run again gets the same URL. Stored 0600 in the data directory.
 */
export class IdentityFile {
  constructor(private readonly dir: string) {}

  /** The key of one agent's identity: the relay plus the requested name, or the target when no name was asked. */
  static key(relay: string, target: string, subdomain?: string): string {
    return subdomain ? `${relay} name:${subdomain}` : `${relay} target:${target}`;
  }

  /** The remembered identity for `key`, if any. A missing or unreadable file counts as empty. */
  load(key: string): Identity | undefined {
    return this.readAll()[key];
  }

  /** Remembers `identity` under `key` (atomically: write then rename). */
  save(key: string, identity: Identity): void {
    ensurePrivateDir(this.dir);
    const all = { ...this.readAll(), [key]: identity };
    const path = join(this.dir, FILE);
    writeFileSync(`${path}.tmp`, `${JSON.stringify(all, null, 2)}\n`, { mode: 0o600 });
    renameSync(`${path}.tmp`, path);
  }

  /**
   * The remembered public URL of tunnel `id`, or without `id` of the tunnel saved most recently (the agent that
   * started last). Undefined when none is remembered.
   */
  publicUrl(id?: string): string | undefined {
    const known = Object.values(this.readAll()).filter((i) => typeof i?.url === 'string' && (id === undefined || i.tunnel === id));
    known.sort((a, b) => (b.savedAt ?? 0) - (a.savedAt ?? 0));
    return known[0]?.url;
  }

  private readAll(): Record<string, Identity> {
    try {
      const v = JSON.parse(readFileSync(join(this.dir, FILE), 'utf8')) as unknown;
      return typeof v === 'object' && v !== null ? (v as Record<string, Identity>) : {};
    } catch {
      return {};
    }
  }
}
