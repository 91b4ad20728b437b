// hooktunnel start-up benchmark: how long the built CLI takes, as a whole process, to answer.
//
//   npm run build && node bench/startup.js      (prints a table, then the figures as JSON)
//   BENCH_STARTUP_RUNS=11 node bench/startup.js (runs per figure, default 7)
//
// bench/run.js imports measureStartup() from here. Four figures with a target, and the floor, each the median of
// `runs` processes, the cases interleaved round by round after one untimed warm-up round:
//
//   node          spawn of `node -e 0` to its exit: what any Node CLI costs here, the floor of the others
//   version       spawn of `hooktunnel --version` to its exit
//   help          spawn of `hooktunnel --help` to its exit
//   urlEmbedded   spawn of `hooktunnel <port> --no-ui --data-dir <tmp>` (embedded relay, a local target on port 0)
//                 to the moment its public URL appears on stdout
//   urlInspector  the same command without --no-ui in a pseudo-terminal (`script` from util-linux), to the moment
//                 the URL appears on the screen; `script` itself adds a few milliseconds
//
// Each agent run gets a private data directory (HOOKTUNNEL_HOME and --data-dir), removed afterwards; the agent is
// stopped with SIGTERM by its PID and waited for (SIGKILL after a grace period). Every wait is bounded.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const CLI = join(ROOT, 'bin', 'hooktunnel.js');

/** The issue's targets, in milliseconds (medians, whole process). */
export const STARTUP_TARGETS = Object.freeze({ version: 150, help: 150, urlEmbedded: 500, urlInspector: 800 });

/** How long one run may take before the benchmark gives up on it. */
const RUN_TIMEOUT_MS = 20_000;
/** How long a stopped agent may take to exit after SIGTERM before it is killed. */
const STOP_GRACE_MS = 5_000;
/** The embedded relay's public URL, on the plain line and on the inspector's screen. */
const URL_PATTERN = /https?:\/\/[\w.:[\]-]+\/t\/[a-z0-9-]+/i;
// CSI and OSC sequences, so that a URL drawn with colours is still found on the screen.
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

/** The environment of every run: no configured relay, token or secrets, no CI (ink draws nothing live under CI). */
function cleanEnv(home, extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k === 'CI' || k === 'CONTINUOUS_INTEGRATION' || k.startsWith('CI_') || k.startsWith('HOOKTUNNEL_') || k === 'NODE_OPTIONS') continue;
    env[k] = v;
  }
  return { ...env, HOOKTUNNEL_HOME: home, ...extra };
}

function summary(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  const round = (n) => Math.round(n * 10) / 10;
  return { medianMs: round(median), minMs: round(sorted[0]), maxMs: round(sorted[sorted.length - 1]), samplesMs: samples.map(round) };
}

/** The processes and data directories of the measurement under way, for cleanUpNow. */
const live = { pids: new Set(), dirs: new Set() };

function makeHome() {
  const dir = mkdtempSync(join(tmpdir(), 'hooktunnel-startup-'));
  live.dirs.add(dir);
  return dir;
}

function removeHome(dir) {
  rmSync(dir, { recursive: true, force: true });
  live.dirs.delete(dir);
}

function started(child) {
  live.pids.add(child.pid);
  child.once('exit', () => live.pids.delete(child.pid));
  return child;
}

/** On exit (an error, Ctrl-C, bench/run.js stopping): kills what still runs, by PID, and removes the data dirs. */
function cleanUpNow() {
  for (const pid of live.pids) killPid(pid, 'SIGKILL');
  for (const dir of live.dirs) rmSync(dir, { recursive: true, force: true });
}

function killPid(pid, signal) {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/** Waits for `child` to exit; SIGKILL to `pids` (and the child) if it has not within `ms`. */
function exited(child, ms, pids = []) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      for (const pid of [...pids, child.pid]) killPid(pid, 'SIGKILL');
    }, ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Spawns the CLI with `args` (or, with `cli` false, node itself) and resolves with the milliseconds from spawn to
 * exit; a non-zero exit is an error.
 */
async function timeToExit(args, cli = true) {
  const home = makeHome();
  try {
    const began = performance.now();
    const child = started(spawn(process.execPath, cli ? [CLI, ...args] : args, { env: cleanEnv(home), stdio: ['ignore', 'ignore', 'pipe'] }));
    let stderr = '';
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4096)));
    const code = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        killPid(child.pid, 'SIGKILL');
        reject(new Error(`hooktunnel ${args.join(' ')} did not exit within ${RUN_TIMEOUT_MS} ms`));
      }, RUN_TIMEOUT_MS);
      child.once('error', reject);
      child.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    const ms = performance.now() - began;
    if (code !== 0) throw new Error(`hooktunnel ${args.join(' ')} exited ${code}: ${stderr.trim()}`);
    return ms;
  } finally {
    removeHome(home);
  }
}

/**
 * Spawns `command args` and resolves with the milliseconds from spawn to the moment the URL shows on its stdout
 * (ANSI stripped), and the output until then; then stops the agent (`agentPid(output)`, else the child) with
 * SIGTERM and waits for it.
 */
async function timeToUrl(command, args, env, agentPid) {
  const began = performance.now();
  const child = started(spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] }));
  child.stdin.on('error', () => {});
  let output = '';
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4096)));
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL within ${RUN_TIMEOUT_MS} ms; output: ${output.replace(ANSI, '').slice(-500)} ${stderr.trim()}`)), RUN_TIMEOUT_MS);
      const done = (fn) => {
        clearTimeout(timer);
        child.stdout.removeAllListeners('data');
        fn();
      };
      child.stdout.on('data', (d) => {
        output += d.toString('utf8');
        const inner = agentPid?.(output);
        if (inner !== undefined && !live.pids.has(inner)) {
          live.pids.add(inner);
          child.once('exit', () => live.pids.delete(inner));
        }
        if (URL_PATTERN.test(output.replace(ANSI, ''))) {
          const ms = performance.now() - began;
          done(() => resolve({ ms, output }));
        }
      });
      child.once('error', (err) => done(() => reject(err)));
      child.once('exit', (code, signal) => done(() => reject(new Error(`exited (${signal ?? code}) before printing a URL: ${stderr.trim() || output.replace(ANSI, '').slice(-500)}`))));
    });
  } finally {
    const pid = agentPid?.(output) ?? child.pid;
    killPid(pid, 'SIGTERM');
    await exited(child, STOP_GRACE_MS, [pid]);
    child.stdin.destroy();
  }
}

/** One embedded-relay run: `hooktunnel <port> --no-ui --data-dir <tmp>`. */
async function urlEmbeddedOnce(port) {
  const home = makeHome();
  try {
    return (await timeToUrl(process.execPath, [CLI, String(port), '--no-ui', '--data-dir', home], cleanEnv(home))).ms;
  } finally {
    removeHome(home);
  }
}

const quote = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

/**
 * One inspector run in a pseudo-terminal: `script` runs a shell that gives the terminal a size, prints its PID and
 * execs the CLI (so that PID is the agent's, to stop it by).
 */
async function urlInspectorOnce(port) {
  const home = makeHome();
  try {
    const cli = [process.execPath, CLI, String(port), '--data-dir', home].map(quote).join(' ');
    const shell = `stty cols 100 rows 30 2>/dev/null; echo "hooktunnel-pid:$$"; exec ${cli}`;
    const env = cleanEnv(home, { TERM: process.env.TERM && process.env.TERM !== 'dumb' ? process.env.TERM : 'xterm-256color', SHELL: '/bin/sh' });
    const agentPid = (output) => {
      const m = /hooktunnel-pid:(\d+)/.exec(output);
      return m ? Number(m[1]) : undefined;
    };
    const { ms, output } = await timeToUrl('script', ['-qfec', shell, '/dev/null'], env, agentPid);
    // The inspector draws on the alternate screen; without it this would time the plain printer.
    if (!output.includes('\x1b[?1049h')) throw new Error('the inspector did not start in the pseudo-terminal (no alternate screen): plain output instead');
    return ms;
  } finally {
    removeHome(home);
  }
}

function hasScript() {
  const r = spawnSync('script', ['--version'], { stdio: 'ignore', timeout: 5000 });
  return r.status === 0;
}

/**
 * Runs every case once per round, `runs` rounds after one warm-up round (not counted): interleaved, so that a
 * shared machine's changing load falls on all figures alike rather than on whichever ran during a busy spell.
 */
async function sampleRounds(runs, cases) {
  const samples = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (let round = 0; round <= runs; round++) {
    for (const [key, once] of Object.entries(cases)) {
      const ms = await once();
      if (round > 0) samples[key].push(ms);
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summary(v)]));
}

/**
 * Measures the built CLI's start-up (see the top of this file). Needs `npm run build` first. `node` is the floor:
 * `node -e 0` spawned the same way. `urlInspector` is `{ medianMs: null, …, skipped }` where `script`
 * (util-linux) is not installed.
 */
export async function measureStartup({ runs = 7 } = {}) {
  const target = createServer((req, res) => res.end('ok'));
  await new Promise((resolve, reject) => {
    target.once('error', reject);
    target.listen(0, '127.0.0.1', resolve);
  });
  const { port } = target.address();
  process.on('exit', cleanUpNow);
  try {
    const cases = {
      node: () => timeToExit(['-e', '0'], false),
      version: () => timeToExit(['--version']),
      help: () => timeToExit(['--help']),
      urlEmbedded: () => urlEmbeddedOnce(port),
    };
    const inspector = hasScript();
    if (inspector) cases.urlInspector = () => urlInspectorOnce(port);
    const figures = await sampleRounds(runs, cases);
    const urlInspector = figures.urlInspector ?? { medianMs: null, minMs: null, maxMs: null, samplesMs: [], skipped: 'no `script` (util-linux) on PATH' };
    return { runs, node: figures.node, version: figures.version, help: figures.help, urlEmbedded: figures.urlEmbedded, urlInspector, targets: { ...STARTUP_TARGETS } };
  } finally {
    process.off('exit', cleanUpNow);
    target.closeAllConnections();
    await new Promise((resolve) => target.close(resolve));
  }
}

function table(result) {
  const rows = [['figure', 'median ms', 'min', 'max', 'target', '']];
  for (const key of ['node', 'version', 'help', 'urlEmbedded', 'urlInspector']) {
    const r = result[key];
    const t = result.targets[key];
    const verdict = t === undefined ? '(node -e 0: the floor)' : r.medianMs === null ? `skipped: ${r.skipped}` : r.medianMs < t ? 'met' : 'MISSED';
    rows.push([key, String(r.medianMs ?? '-'), String(r.minMs ?? '-'), String(r.maxMs ?? '-'), t === undefined ? '' : `< ${t}`, verdict]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const raw = process.env.BENCH_STARTUP_RUNS;
  const runs = raw === undefined || raw === '' ? 7 : Number(raw);
  if (!Number.isInteger(runs) || runs < 1 || runs > 50) {
    process.stderr.write('BENCH_STARTUP_RUNS must be a whole number from 1 to 50\n');
    process.exit(1);
  }
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));
  try {
    const result = await measureStartup({ runs });
    process.stdout.write(`${table(result)}\n\n${JSON.stringify(result, null, 2)}\n`);
  } catch (err) {
    process.stderr.write(`startup benchmark failed: ${err?.stack ?? err}\n`);
    process.exit(1);
  }
}
