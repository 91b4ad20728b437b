import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { CopyResult } from '../ui/inspector/state.js';

/** A clipboard program and when it can work. */
interface Tool {
  readonly command: string;
  readonly args: readonly string[];
  readonly usable: (env: NodeJS.ProcessEnv, platform: NodeJS.Platform) => boolean;
}

/** Clipboard programs, tried in order; X11 and Wayland tools only with a display to talk to. */
const TOOLS: readonly Tool[] = [
  { command: 'pbcopy', args: [], usable: (_e, p) => p === 'darwin' },
  { command: 'wl-copy', args: [], usable: (e) => Boolean(e.WAYLAND_DISPLAY) },
  { command: 'xclip', args: ['-selection', 'clipboard'], usable: (e) => Boolean(e.DISPLAY) },
  { command: 'xsel', args: ['--clipboard', '--input'], usable: (e) => Boolean(e.DISPLAY) },
  { command: 'clip.exe', args: [], usable: () => true },
];

/** How long a clipboard program may take. */
const COPY_TIMEOUT_MS = 3000;

function onPath(command: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, command))) return join(dir, command);
  }
  return undefined;
}

/** Feeds `text` to `path` on stdin; resolves with whether it exited 0 in time. */
function feed(path: string, args: readonly string[], text: string): Promise<boolean> {
  return new Promise((resolve) => {
    // Output ignored: xclip forks a child that keeps serving the selection and would hold a pipe open.
    const child = spawn(path, [...args], { stdio: ['pipe', 'ignore', 'ignore'] });
    const timer = setTimeout(() => {
      child.kill();
      resolve(false);
    }, COPY_TIMEOUT_MS);
    child.on('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0);
    });
    child.stdin.on('error', () => {});
    child.stdin.end(text);
  });
}

/**
 * Puts `text` on the system clipboard with the first platform tool that is installed and usable here (pbcopy,
 * wl-copy, xclip, xsel, clip.exe). No tool: `copied: false` with the reason, and the caller shows the text.
 */
export async function copyToClipboard(text: string, env: NodeJS.ProcessEnv = process.env, platform = process.platform): Promise<CopyResult> {
  const tried: string[] = [];
  for (const tool of TOOLS) {
    if (!tool.usable(env, platform)) continue;
    const path = onPath(tool.command, env);
    if (!path) continue;
    if (await feed(path, tool.args, text)) return { copied: true, via: tool.command };
    tried.push(tool.command);
  }
  return { copied: false, reason: tried.length > 0 ? `${tried.join(', ')} failed` : 'no clipboard tool found' };
}
