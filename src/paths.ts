import { chmodSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The agent's data directory: `--data-dir`, else `HOOKTUNNEL_HOME`, else the platform's place for application
 * data (`$XDG_DATA_HOME/hooktunnel` or `~/.local/share/hooktunnel` on Linux, `~/Library/Application Support/hooktunnel`
 * on macOS, `%LOCALAPPDATA%\hooktunnel` on Windows).
 */
export function resolveDataDir(flag?: string, env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (flag) return flag;
  if (env.HOOKTUNNEL_HOME) return env.HOOKTUNNEL_HOME;
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'hooktunnel');
  if (platform === 'win32') return join(env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local'), 'hooktunnel');
  return join(env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'hooktunnel');
}

/** Creates `dir` (and parents) readable by the owner only: it holds captured secrets. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}
