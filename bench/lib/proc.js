// Child processes of the benchmark (each stopped by its PID, on success, failure and signals), short commands
// run to completion, and the /proc readers for CPU time and memory.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './config.js';

const children = new Set();
let tmp;

/** The run's temporary directory (created on first use, removed at exit). */
export function tmpDir() {
  tmp ??= mkdtempSync(join(tmpdir(), 'hooktunnel-bench-'));
  return tmp;
}

/** The environment children get: no relay, token or port of the user's, a private HOOKTUNNEL_HOME. */
export function childEnv(extra = {}) {
  const env = { ...process.env, HOOKTUNNEL_HOME: join(tmpDir(), 'home'), NO_COLOR: '1', ...extra };
  delete env.HOOKTUNNEL_RELAY;
  delete env.HOOKTUNNEL_TOKEN;
  delete env.PORT;
  delete env.NODE_OPTIONS;
  return env;
}

const NL = Buffer.from('\n');
const MARKERS = {
  status4xx: Buffer.from('"status":4'),
  status5xx: Buffer.from('"status":5'),
  state: Buffer.from('"type":"state"'),
  missed: Buffer.from('"type":"missed"'),
  dropped: Buffer.from('"type":"dropped"'),
};

function occurrences(buf, needle) {
  let n = 0;
  for (let i = buf.indexOf(needle); i !== -1; i = buf.indexOf(needle, i + needle.length)) n++;
  return n;
}

/** A long-running child: stdout read as lines until `discard`, then only counted; stderr's tail kept. */
export class Child {
  constructor(name, command, args, { env, cwd = ROOT } = {}) {
    this.name = name;
    this.stderrTail = '';
    this.stdoutLines = [];
    this.partial = '';
    this.waiters = [];
    this.discard = false;
    this.counts = { lines: 0, status4xx: 0, status5xx: 0, state: 0, missed: 0, dropped: 0 };
    this.exited = false;
    this.exitInfo = undefined;
    this.proc = spawn(command, args, { cwd, env: env ?? childEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    this.pid = this.proc.pid;
    children.add(this);
    this.exitPromise = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        this.exited = true;
        this.exitInfo = { code, signal };
        children.delete(this);
        for (const w of this.waiters.splice(0)) w.reject(new Error(`${this.name} exited (${signal ?? code}) before printing what was expected; stderr: ${this.stderrTail.trim() || '(empty)'}`));
        resolve(this.exitInfo);
      });
    });
    this.proc.on('error', (err) => {
      this.exited = true;
      children.delete(this);
      for (const w of this.waiters.splice(0)) w.reject(err);
    });
    this.proc.stdin.on('error', () => {});
    this.proc.stderr.on('data', (d) => {
      this.stderrTail = (this.stderrTail + d.toString('utf8')).slice(-8192);
    });
    this.proc.stdout.on('data', (d) => this.onStdout(d));
  }

  onStdout(chunk) {
    if (this.discard) return this.count(chunk);
    this.partial += chunk.toString('utf8');
    let nl;
    while ((nl = this.partial.indexOf('\n')) !== -1) {
      const line = this.partial.slice(0, nl);
      this.partial = this.partial.slice(nl + 1);
      const i = this.waiters.findIndex((w) => w.match(line));
      if (i === -1) {
        this.stdoutLines.push(line);
        if (this.stdoutLines.length > 1000) this.stdoutLines.shift();
        continue;
      }
      const [w] = this.waiters.splice(i, 1);
      clearTimeout(w.timer);
      w.resolve(line);
    }
  }

  /** Counts lines and a few markers without decoding: cheap enough not to slow the run down. */
  count(chunk) {
    this.counts.lines += occurrences(chunk, NL);
    for (const [k, needle] of Object.entries(MARKERS)) this.counts[k] += occurrences(chunk, needle);
  }

  /** From now on stdout is only counted (the agent's one line per exchange). */
  startCounting() {
    this.discard = true;
    for (const l of this.stdoutLines.splice(0)) this.count(Buffer.from(`${l}\n`));
  }

  /** Resolves with the first stdout line (already seen or coming) for which `match` is true. */
  waitLine(match, timeoutMs, what) {
    const seen = this.stdoutLines.findIndex((l) => match(l));
    if (seen !== -1) return Promise.resolve(this.stdoutLines.splice(seen, 1)[0]);
    if (this.exited) return Promise.reject(new Error(`${this.name} is not running; stderr: ${this.stderrTail.trim()}`));
    return new Promise((resolve, reject) => {
      const w = { match, resolve, reject };
      w.timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`${this.name}: no ${what} within ${timeoutMs} ms; stderr: ${this.stderrTail.trim() || '(empty)'}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  send(line) {
    this.proc.stdin.write(`${line}\n`);
  }

  /** SIGTERM by PID, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 3000) {
    if (this.exited) return;
    killPid(this.pid, 'SIGTERM');
    const timer = setTimeout(() => killPid(this.pid), graceMs);
    await this.exitPromise;
    clearTimeout(timer);
  }
}

/** Runs a short-lived command to completion (bounded), collecting its output. */
export function run(command, args, timeoutMs, { env, cwd = ROOT } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(command, args, { cwd, env: env ?? childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const entry = { name: command, pid: proc.pid, exited: false, stop: async () => killPid(proc.pid) };
    children.add(entry);
    let out = '';
    let err = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => {
      killPid(proc.pid);
      reject(new Error(`${command} ${args.join(' ')} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    proc.on('error', (e) => {
      clearTimeout(timer);
      children.delete(entry);
      reject(e);
    });
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      entry.exited = true;
      children.delete(entry);
      resolve({ code, signal, out, err });
    });
  });
}

export function killPid(pid, signal = 'SIGKILL') {
  try {
    process.kill(pid, signal);
  } catch {}
}

/** Stops every child still running (SIGTERM, then SIGKILL). */
export async function stopAll() {
  await Promise.all([...children].map((c) => c.stop()));
}

/** SIGKILLs what is left and removes the temporary directory; safe to call more than once. */
export function killAllNow() {
  for (const c of children) if (!c.exited) killPid(c.pid);
  children.clear();
  if (tmp) {
    try {
      rmSync(tmp, { recursive: true, force: true });
    } catch {}
  }
}

let interrupted = false;
/** True once SIGINT/SIGTERM/SIGHUP arrived (the handler then stops everything and exits 130). */
export const wasInterrupted = () => interrupted;

/** Installs the exit and signal handlers that stop the children. */
export function installCleanup() {
  process.on('exit', killAllNow);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      if (interrupted) process.exit(130);
      interrupted = true;
      process.stderr.write(`\n${sig}: stopping the benchmark's processes\n`);
      const hard = setTimeout(() => process.exit(130), 4000);
      void stopAll().finally(() => {
        clearTimeout(hard);
        process.exit(130);
      });
    });
  }
}

export const CLK_TCK = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isInteger(n) && n > 0 ? n : 100;
})();

/** utime + stime of a process, in seconds (all its threads). */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After "pid (comm) ", fields[0] is field 3 (state); utime is field 14, stime field 15.
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** VmRSS and VmHWM in bytes. */
export function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** Resets VmHWM to the current RSS (Linux >= 4.0); true when the kernel accepted it and it took effect. */
export function resetHwm(pid) {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    return false;
  }
  const m = memory(pid);
  return m.hwm <= m.rss * 1.05 + 1024 * 1024;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function median(xs) {
  const s = xs.filter((x) => typeof x === 'number' && !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** A line matcher for newline-delimited JSON: true for an object whose `type` is `type`. */
export const jsonLine = (type) => (l) => {
  try {
    return JSON.parse(l).type === type;
  } catch {
    return false;
  }
};

export async function fetchJson(url) {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.json() };
}

/** A progress line on stderr. */
export function progress(text) {
  process.stderr.write(`[bench] ${text}\n`);
}
