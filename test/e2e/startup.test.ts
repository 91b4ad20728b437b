import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { runCli } from '../helpers/servers.js';

const HOOK = pathToFileURL(fileURLToPath(new URL('../helpers/module-log.mjs', import.meta.url))).href;
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Packages and modules of ours that only running a command may load: UI, HTTP client, WebSocket, SQLite, relay, agent. */
const HEAVY = [
  /\/node_modules\/(ink|react|react-reconciler|yoga-layout|undici|ws|better-sqlite3)\//,
  /\/dist\/(relay\/server|agent\/(connect|link|forward)|capture\/(store|recorder)|ui\/inspector\/run)\.js$/,
  /\/dist\/commands\/(agent|capture|relay|send|replay|inspector)\.js$/,
];

/** Runs `hooktunnel <args>` with the module log hook; resolves with its exit code, stdout and the modules it loaded. */
async function loadedBy(args: string[]): Promise<{ code: number | null; stdout: string; modules: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'hooktunnel-modules-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, 'modules.log');
  const cli = runCli(args, { HOOKTUNNEL_HOME: dir, NODE_OPTIONS: `--import=${HOOK}`, HOOKTUNNEL_TEST_MODULE_LOG: log });
  const code = await cli.exited();
  let modules: string[] = [];
  try {
    modules = readFileSync(log, 'utf8').trim().split('\n');
  } catch {
    // No log: the assertions below say so.
  }
  return { code, stdout: cli.stdout(), modules };
}

const heavy = (modules: readonly string[]): string[] => modules.filter((m) => HEAVY.some((re) => re.test(m)));

describe('start-up: what a command loads', () => {
  it.each([['--version'], ['-v']])('`hooktunnel %s` prints the package version from bin/hooktunnel.js alone: not even commander or the command definitions load', async (flag: string) => {
    const r = await loadedBy([flag]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${VERSION}\n`);
    // The hook saw the entry itself: an empty log would make the next lines pass for nothing.
    expect(r.modules.some((m) => m.endsWith('/bin/hooktunnel.js'))).toBe(true);
    expect(r.modules.filter((m) => /\/dist\/|\/node_modules\//.test(m))).toEqual([]);
  });

  it('--version after other arguments is commander\'s, and says the same', async () => {
    const r = await loadedBy(['--json', '--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${VERSION}\n`);
    expect(r.modules.some((m) => m.endsWith('/dist/cli.js'))).toBe(true);
    expect(heavy(r.modules)).toEqual([]);
  });

  it.each([
    ['--help', 0],
    ['relay --help', 0],
    ['requests --help', 0],
    ['replay --help', 0],
    ['send --help', 0],
    ['3000 --timeout 0', 2],
  ] as const)(
    '`hooktunnel %s` (help, or a usage error: exit %i) loads none of them either',
    async (command: string, exitCode: number) => {
      const r = await loadedBy(command.split(' '));
      expect(r.code).toBe(exitCode);
      expect(r.modules.some((m) => m.endsWith('/dist/cli.js'))).toBe(true);
      expect(heavy(r.modules)).toEqual([]);
    },
  );

  it('running the agent does load them: the hook sees what a command imports when it runs', async () => {
    // Nothing listens on port 1: the agent loads, fails to connect and exits 1.
    const r = await loadedBy(['3000', '--relay', 'http://127.0.0.1:1', '--no-ui']);
    expect(r.code).toBe(1);
    const names = heavy(r.modules).join('\n');
    for (const m of ['/node_modules/ws/', '/dist/agent/connect.js', '/dist/commands/agent.js']) expect(names).toContain(m);
  });
});
