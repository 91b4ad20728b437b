import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrivateDir } from '../paths.js';

/** A tunnel id and the secret that proves we own it on one relay. */
export interface Identity {
  readonly tunnel: string;
  readonly secret: string;
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

  private readAll(): Record<string, Identity> {
    try {
      const v = JSON.parse(readFileSync(join(this.dir, FILE), 'utf8')) as unknown;
      return typeof v === 'object' && v !== null ? (v as Record<string, Identity>) : {};
    } catch {
      return {};
    }
  }
}
