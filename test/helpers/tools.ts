import { spawnSync } from 'node:child_process';
import { beforeAll } from 'vitest';

/**
 * Programs from Debian that some end-to-end tests run, with the package that brings each. `.ci/run` installs them
 * all; on a developer's machine without one, the tests that need it are skipped, each file saying so in one line,
 * and the run's summary lists what to install (test/global-setup.ts).
 */
export const TOOLS = {
  caddy: 'caddy',
  curl: 'curl',
  openssl: 'openssl',
  pebble: 'pebble',
  'redis-server': 'redis-server',
  tmux: 'tmux',
} as const;

export type Tool = keyof typeof TOOLS;

const found = new Map<Tool, boolean>();

/** `HOOKTUNNEL_TEST_HIDE_TOOLS=caddy,tmux` runs the suite as a machine without them would (to check the skips). */
const hidden = new Set((process.env.HOOKTUNNEL_TEST_HIDE_TOOLS ?? '').split(',').filter(Boolean));

/** Whether `tool` is on the PATH (asked once per process). */
export function hasTool(tool: Tool): boolean {
  let yes = found.get(tool);
  if (yes === undefined) {
    yes = !hidden.has(tool) && spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
    found.set(tool, yes);
  }
  return yes;
}

/** The tools of `tools` that this machine lacks. */
export function missingTools(tools: readonly Tool[] = Object.keys(TOOLS) as Tool[]): Tool[] {
  return tools.filter((t) => !hasTool(t));
}

/** The command that installs `tools`. */
export function installHint(tools: readonly Tool[]): string {
  return `apt-get install -y ${[...new Set(tools.map((t) => TOOLS[t]))].join(' ')}`;
}

/**
 * For `describe.skipIf(lacks(...))` at a file's top level: true when a tool is missing and this is not CI, after
 * one line on stderr naming the tests, the tools and how to install them. Under CI (`CI` set) it is never true: a
 * missing tool fails every test of the file with that same sentence, so CI never skips silently.
 */
export function lacks(what: string, ...tools: Tool[]): boolean {
  const missing = missingTools(tools);
  if (missing.length === 0) return false;
  const sentence = `${what} need ${missing.join(', ')}, not installed here (${installHint(missing)})`;
  if (process.env.CI) {
    beforeAll(() => {
      throw new Error(`${sentence}: under CI a missing tool is a failure; .ci/run installs it`);
    });
    return false;
  }
  process.stderr.write(`skipped: ${sentence}\n`);
  return true;
}
