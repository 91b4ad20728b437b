// hooktunnel benchmark: direct to a local target vs through the tunnel (relay and agent as separate processes).
//
//   npm run bench            (builds, then runs this file)
//   node bench/run.js        (uses the existing dist/)
//
// The run also puts the same load through bench/floor-proxy.js, the smallest Node reverse proxy (a reference).
//
// Environment knobs: BENCH_SECONDS (wrk seconds per figure, default 8), BENCH_ROUNDS (direct and tunnel measured
// alternately in this many rounds of BENCH_SECONDS / BENCH_ROUNDS each, default 2), BENCH_WARMUP_SECONDS (default 3),
// BENCH_BODY_REPS (50 MiB transfers per direction and path, default 3), BENCH_IDLE_TUNNELS (default 1000).
//
// Everything listens on 127.0.0.1, ports are ephemeral, every wait is bounded, and every child process is killed
// by its PID at the end, on errors and on SIGINT/SIGTERM. Prints a table; writes bench/results/latest.json.
// Exits 0 when the measurement completed (targets met or not), 1 when the benchmark itself failed.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH_DIR);
const CLI = join(ROOT, 'bin', 'hooktunnel.js');
const LUA = join(BENCH_DIR, 'post-1k.lua');
const RESULTS = join(BENCH_DIR, 'results', 'latest.json');

const envInt = (name, def, min, max) => {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    process.stderr.write(`${name} must be a whole number from ${min} to ${max}\n`);
    process.exit(1);
  }
  return n;
};
const SECONDS = envInt('BENCH_SECONDS', 8, 1, 60);
const WARMUP_SECONDS = envInt('BENCH_WARMUP_SECONDS', 3, 0, 30);
const ROUNDS = Math.min(envInt('BENCH_ROUNDS', 2, 1, 8), SECONDS);
const BODY_REPS = envInt('BENCH_BODY_REPS', 3, 1, 10);
const IDLE_TUNNELS = envInt('BENCH_IDLE_TUNNELS', 1000, 1, 5000);
const BODY_BYTES = 50 * 1024 * 1024;
const MiB = 1024 * 1024;

// The relay's defaults (6,000 requests per minute and 10 tunnels per token, or per agent address without tokens)
// would answer most of the load with 429, and refuse the idle tunnels: the benchmark lifts those two limits only.
const RELAY_LOAD_FLAGS = ['--requests-per-minute', '10000000'];
const RELAY_IDLE_FLAGS = ['--tunnels-per-token', String(Math.max(IDLE_TUNNELS + 10, 10))];

const TARGETS = {
  addedP50Ms: 0.4,
  cpuUsPerRequest: 40,
  throughputRatio: 0.3,
  bodyTimeRatio: 3,
  idleRssMiB: 150,
  bodyRssGrowthMiB: 64,
};

// ---------------------------------------------------------------------------------------------- child processes

const children = new Set();
let tmp;

class Child {
  constructor(name, command, args, { env, stdin = 'pipe' } = {}) {
    this.name = name;
    this.stderrTail = '';
    this.stdoutLines = []; // lines not yet consumed by waitLine (line mode only)
    this.partial = '';
    this.waiters = [];
    this.discard = false; // once true, stdout is only counted, never kept (the agent's one line per request)
    this.counts = { lines: 0, status4xx: 0, status5xx: 0, state: 0, other: 0 };
    this.exited = false;
    this.exitInfo = undefined;
    this.proc = spawn(command, args, { cwd: ROOT, env: env ?? childEnv(), stdio: [stdin, 'pipe', 'pipe'] });
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
    this.proc.stdin?.on('error', () => {});
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
      this.onLine(line);
    }
  }

  onLine(line) {
    const i = this.waiters.findIndex((w) => w.match(line));
    if (i === -1) {
      this.stdoutLines.push(line);
      if (this.stdoutLines.length > 1000) this.stdoutLines.shift();
      return;
    }
    const [w] = this.waiters.splice(i, 1);
    clearTimeout(w.timer);
    w.resolve(line);
  }

  /** Counts lines and a few markers without decoding: cheap enough not to slow the run down. */
  count(chunk) {
    this.counts.lines += occurrences(chunk, NL);
    this.counts.status4xx += occurrences(chunk, STATUS4);
    this.counts.status5xx += occurrences(chunk, STATUS5);
    this.counts.state += occurrences(chunk, STATE);
    this.counts.other += occurrences(chunk, MISSED) + occurrences(chunk, DROPPED);
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
    try {
      process.kill(this.pid, 'SIGTERM');
    } catch {}
    const timer = setTimeout(() => {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {}
    }, graceMs);
    await this.exitPromise;
    clearTimeout(timer);
  }
}

const NL = Buffer.from('\n');
const STATUS4 = Buffer.from('"status":4');
const STATUS5 = Buffer.from('"status":5');
const STATE = Buffer.from('"type":"state"');
const MISSED = Buffer.from('"type":"missed"');
const DROPPED = Buffer.from('"type":"dropped"');

function occurrences(buf, needle) {
  let n = 0;
  for (let i = buf.indexOf(needle); i !== -1; i = buf.indexOf(needle, i + needle.length)) n++;
  return n;
}

function childEnv() {
  const env = { ...process.env, HOOKTUNNEL_HOME: join(tmp, 'home'), NO_COLOR: '1' };
  delete env.HOOKTUNNEL_RELAY;
  delete env.HOOKTUNNEL_TOKEN;
  delete env.PORT;
  delete env.NODE_OPTIONS;
  return env;
}

/** Runs a short-lived command to completion (bounded), collecting its output. */
function run(command, args, timeoutMs) {
  return new Promise((resolve, reject) => {
    const proc = spawn(command, args, { cwd: ROOT, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
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

function killPid(pid, signal = 'SIGKILL') {
  try {
    process.kill(pid, signal);
  } catch {}
}

async function stopAll() {
  await Promise.all([...children].map((c) => c.stop()));
}

function killAllNow() {
  for (const c of children) if (!c.exited) killPid(c.pid);
  children.clear();
  if (tmp) {
    try {
      rmSync(tmp, { recursive: true, force: true });
    } catch {}
  }
}

process.on('exit', killAllNow);
let interrupted = false;
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

// ------------------------------------------------------------------------------------------------- /proc readers

const CLK_TCK = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isInteger(n) && n > 0 ? n : 100;
})();

/** utime + stime of a process, in seconds (all its threads). */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After "pid (comm) ", fields[0] is field 3 (state); utime is field 14, stime field 15.
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** VmRSS and VmHWM in bytes. */
function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** Resets VmHWM to the current RSS (Linux >= 4.0); true when the kernel accepted it and it took effect. */
function resetHwm(pid) {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    return false;
  }
  const m = memory(pid);
  return m.hwm <= m.rss * 1.05 + 1024 * 1024;
}

// ----------------------------------------------------------------------------------------------------- wrk runs

function toMs(text) {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text);
  if (!m) throw new Error(`cannot read the wrk duration "${text}"`);
  const factor = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2]];
  return Number(m[1]) * factor;
}

function parseWrk(out) {
  const pct = {};
  for (const m of out.matchAll(/^\s*(50|75|90|99)(?:\.0+)?%\s+([\d.]+(?:us|ms|s|m|h))\s*$/gm)) pct[m[1]] = toMs(m[2]);
  const total = /(\d+) requests in ([\d.]+(?:us|ms|s|m|h)),/.exec(out);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!total || !rps || pct['50'] === undefined || pct['99'] === undefined) throw new Error(`cannot read wrk's output:\n${out}`);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const se = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = se ? { connect: +se[1], read: +se[2], write: +se[3], timeout: +se[4] } : { connect: 0, read: 0, write: 0, timeout: 0 };
  const requests = Number(total[1]);
  const durationS = toMs(total[2]) / 1000;
  return {
    requests,
    durationS,
    rps: Number(rps[1]),
    okRps: (requests - non2xx) / durationS,
    p50Ms: pct['50'],
    p75Ms: pct['75'],
    p90Ms: pct['90'],
    p99Ms: pct['99'],
    non2xx,
    socketErrors,
  };
}

/** One wrk run of the 1 KiB POST; CPU of the watched processes is read before and after. */
async function wrk(url, connections, seconds, watch = {}) {
  const before = Object.fromEntries(Object.entries(watch).map(([k, c]) => [k, cpuSeconds(c.pid)]));
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '5s', '--latency', '-s', LUA, url];
  const r = await run('wrk', args, (seconds + 20) * 1000);
  if (r.code !== 0) throw new Error(`wrk ${args.join(' ')} failed (${r.signal ?? r.code}): ${r.err}${r.out}`);
  const result = parseWrk(r.out);
  result.cpuUsPerRequest = {};
  for (const [k, c] of Object.entries(watch)) {
    const used = cpuSeconds(c.pid) - before[k];
    result.cpuUsPerRequest[k] = result.requests > 0 ? (used / result.requests) * 1e6 : NaN;
  }
  return result;
}

/**
 * Measures each of `cases` (url, watched processes) for SECONDS in all, in ROUNDS rounds that take them in turn,
 * so that a ratio compares runs made under the same conditions (this shared machine's speed drifts within
 * seconds). Counts, rates and CPU are totals over the rounds; percentiles are the median of the rounds'.
 */
async function alternating(connections, cases) {
  const seconds = Math.max(1, Math.round(SECONDS / ROUNDS));
  const runs = cases.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < cases.length; i++) runs[i].push(await wrk(cases[i][0], connections, seconds, cases[i][1]));
  }
  return runs.map(combineRuns);
}

function combineRuns(list) {
  const sum = (f) => list.reduce((a, r) => a + f(r), 0);
  const requests = sum((r) => r.requests);
  const durationS = sum((r) => r.durationS);
  const non2xx = sum((r) => r.non2xx);
  const cpuUsPerRequest = {};
  for (const k of Object.keys(list[0].cpuUsPerRequest)) cpuUsPerRequest[k] = requests > 0 ? sum((r) => r.cpuUsPerRequest[k] * r.requests) / requests : NaN;
  const socketErrors = {};
  for (const k of Object.keys(list[0].socketErrors)) socketErrors[k] = sum((r) => r.socketErrors[k]);
  return {
    requests,
    durationS,
    rps: requests / durationS,
    okRps: (requests - non2xx) / durationS,
    p50Ms: median(list.map((r) => r.p50Ms)),
    p75Ms: median(list.map((r) => r.p75Ms)),
    p90Ms: median(list.map((r) => r.p90Ms)),
    p99Ms: median(list.map((r) => r.p99Ms)),
    non2xx,
    socketErrors,
    cpuUsPerRequest,
    rounds: list.map((r) => ({ seconds: r.durationS, okRps: r.okRps, p50Ms: r.p50Ms, p99Ms: r.p99Ms })),
  };
}

// ------------------------------------------------------------------------------------------ 50 MiB transfers

/** Samples VmRSS of the watched processes every ~20 ms (plus VmHWM after a reset) while `fn` runs. */
async function withPeakMemory(watch, fn) {
  const base = {};
  const peak = {};
  const hwmReset = {};
  const cpu0 = {};
  for (const [k, c] of Object.entries(watch)) {
    hwmReset[k] = resetHwm(c.pid);
    base[k] = memory(c.pid).rss;
    peak[k] = base[k];
    cpu0[k] = cpuSeconds(c.pid);
  }
  const sample = () => {
    for (const [k, c] of Object.entries(watch)) {
      try {
        peak[k] = Math.max(peak[k], memory(c.pid).rss);
      } catch {}
    }
  };
  const timer = setInterval(sample, 20);
  let result;
  try {
    result = await fn();
  } finally {
    clearInterval(timer);
  }
  sample();
  const growth = {};
  for (const [k, c] of Object.entries(watch)) {
    const m = memory(c.pid);
    if (hwmReset[k]) peak[k] = Math.max(peak[k], m.hwm);
    growth[k] = { beforeBytes: base[k], peakBytes: peak[k], growthBytes: peak[k] - base[k], hwmReset: hwmReset[k], cpuMs: (cpuSeconds(c.pid) - cpu0[k]) * 1000 };
  }
  return { result, memory: growth };
}

async function curlTransfer(kind, base, bodyFile) {
  const common = ['-sS', '--max-time', '90', '-H', 'Expect:', '-w', '\n%{http_code} %{time_total} %{size_upload} %{size_download}'];
  const args =
    kind === 'post'
      ? [...common, '-X', 'POST', '-T', bodyFile, '-H', 'content-type: application/octet-stream', '-o', '-', `${base}/sink`]
      : [...common, '-o', '/dev/null', `${base}/big?bytes=${BODY_BYTES}`];
  const r = await run('curl', args, 100_000);
  if (r.code !== 0) throw new Error(`curl ${kind} ${base} failed (${r.signal ?? r.code}): ${r.err}`);
  const lines = r.out.trim().split('\n');
  const [status, time, up, down] = lines.pop().split(' ').map(Number);
  const body = lines.join('\n');
  const problem =
    status !== 200
      ? `HTTP ${status}`
      : kind === 'post' && JSON.parse(body || '{}').bytes !== BODY_BYTES
        ? `the target counted ${body} instead of ${BODY_BYTES} bytes`
        : kind === 'get' && down !== BODY_BYTES
          ? `${down} bytes arrived instead of ${BODY_BYTES}`
          : undefined;
  return { status, seconds: time, uploaded: up, downloaded: down, problem };
}

// --------------------------------------------------------------------------------------------------- helpers

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const jsonLine = (type) => (l) => {
  try {
    return JSON.parse(l).type === type;
  } catch {
    return false;
  }
};

async function startTarget() {
  const t = new Child('target', process.execPath, [join(BENCH_DIR, 'target.js')]);
  const line = await t.waitLine(jsonLine('listening'), 10_000, 'listening line');
  t.port = JSON.parse(line).port;
  return t;
}

async function startRelay(name, flags) {
  const r = new Child(name, process.execPath, [CLI, 'relay', '--host', '127.0.0.1', '--port', '0', ...flags]);
  const line = await r.waitLine((l) => /^hooktunnel relay listening on 127\.0\.0\.1:\d+/.test(l), 15_000, '"listening" line');
  r.port = Number(/:(\d+)/.exec(line)[1]);
  return r;
}

async function startAgent(targetPort, relayPort, extra = [], name = 'agent') {
  const a = new Child(name, process.execPath, [CLI, String(targetPort), '--relay', `http://127.0.0.1:${relayPort}`, '--json', '--data-dir', join(tmp, 'agent-data'), ...extra]);
  const line = await a.waitLine(jsonLine('ready'), 15_000, 'ready line');
  a.url = JSON.parse(line).url;
  // From now on its one line per request is only counted: the agent still pays for printing it.
  a.discard = true;
  for (const l of a.stdoutLines.splice(0)) a.count(Buffer.from(`${l}\n`));
  return a;
}

async function fetchJson(url) {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.json() };
}

function checkTools() {
  const wrkCheck = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  if (wrkCheck.error) {
    process.stderr.write('wrk is not installed, and the benchmark needs it to generate HTTP load.\nInstall it with:  apt-get install -y wrk\n');
    process.exit(1);
  }
  const curlCheck = spawnSync('curl', ['--version'], { encoding: 'utf8' });
  if (curlCheck.error) {
    process.stderr.write('curl is not installed, and the benchmark needs it for the 50 MiB transfers.\nInstall it with:  apt-get install -y curl\n');
    process.exit(1);
  }
  if (!existsSync(join(ROOT, 'dist', 'cli.js'))) {
    process.stderr.write('dist/ is missing: run `npm run build` first (or `npm run bench`, which builds).\n');
    process.exit(1);
  }
  if (!existsSync('/proc/self/stat')) {
    process.stderr.write('the benchmark reads CPU and memory from /proc and needs Linux.\n');
    process.exit(1);
  }
  return { wrkVersion: /wrk\s+(\S+)/.exec(`${wrkCheck.stdout}${wrkCheck.stderr}`)?.[1] ?? 'unknown', curlVersion: /curl\s+(\S+)/.exec(curlCheck.stdout)?.[1] ?? 'unknown' };
}

/** True when this build's agent records captures and takes --no-capture (measured both ways then). */
function detectCaptureFlag() {
  const r = spawnSync(process.execPath, [CLI, '--help'], { cwd: ROOT, encoding: 'utf8', timeout: 15_000 });
  return /--no-capture\b/.test(`${r.stdout ?? ''}`);
}
let CAPTURE_FLAG = false;

function progress(text) {
  process.stderr.write(`[bench] ${text}\n`);
}

// ------------------------------------------------------------------------------------------------------ phases

async function loadPhases(results, problems) {
  const target = await startTarget();
  const relay = await startRelay('relay', RELAY_LOAD_FLAGS);
  const agent = await startAgent(target.port, relay.port);
  const direct = `http://127.0.0.1:${target.port}`;
  const tunnel = agent.url;
  results.meta.relayFlags = RELAY_LOAD_FLAGS;
  // RSS of the relay and the agent between phases: growth that stays after the load is visible here.
  results.rssTimeline = [];
  const snapshot = (label, a = agent) => {
    results.rssTimeline.push({ label, relayMiB: memory(relay.pid).rss / MiB, agentMiB: memory(a.pid).rss / MiB });
  };
  snapshot('started');

  // Sanity: one request each way, and the answer is the target's.
  for (const [name, base] of [['direct', direct], ['tunnel', tunnel]]) {
    const res = await fetch(`${base}/hook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"hello":1}', signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    if (res.status !== 200 || text !== '{"ok":true}') throw new Error(`sanity request ${name} answered ${res.status} ${text.slice(0, 200)}`);
  }

  let warmupTunnelRequests = 0;
  if (WARMUP_SECONDS > 0) {
    progress(`warm-up: ${WARMUP_SECONDS} s direct, ${WARMUP_SECONDS} s tunnel (c=16)`);
    await wrk(`${direct}/hook`, 16, WARMUP_SECONDS);
    warmupTunnelRequests = (await wrk(`${tunnel}/hook`, 16, WARMUP_SECONDS)).requests;
  }

  const runs = {};
  for (const c of [1, 16, 64]) {
    progress(`c=${c}: ${SECONDS} s direct, ${SECONDS} s tunnel, alternating in ${ROUNDS} round(s)`);
    const [d, t] = await alternating(c, [[`${direct}/hook`, { target }], [`${tunnel}/hook`, { relay, agent, target }]]);
    runs[c] = { direct: d, tunnel: t };
    snapshot(`after c=${c}`);
    for (const [name, r] of [['direct', d], ['tunnel', t]]) {
      if (r.non2xx > 0) problems.push(`c=${c} ${name}: ${r.non2xx} of ${r.requests} responses were not 2xx/3xx`);
      const se = r.socketErrors;
      if (se.connect + se.read + se.write + se.timeout > 0) problems.push(`c=${c} ${name}: socket errors connect ${se.connect}, read ${se.read}, write ${se.write}, timeout ${se.timeout}`);
    }
  }
  results.latency = {
    connections: 1,
    direct: runs[1].direct,
    tunnel: runs[1].tunnel,
    addedP50Ms: runs[1].tunnel.p50Ms - runs[1].direct.p50Ms,
    addedP99Ms: runs[1].tunnel.p99Ms - runs[1].direct.p99Ms,
  };
  results.throughput = {};
  results.cpu = {};
  for (const c of [1, 16, 64]) {
    const { direct: d, tunnel: t } = runs[c];
    if (c !== 1) results.throughput[`c${c}`] = { direct: d, tunnel: t, ratio: t.okRps / d.okRps };
    results.cpu[`c${c}`] = {
      relayUs: t.cpuUsPerRequest.relay,
      agentUs: t.cpuUsPerRequest.agent,
      targetDirectUs: d.cpuUsPerRequest.target,
      targetTunnelUs: t.cpuUsPerRequest.target,
    };
  }

  // The floor: the smallest Node reverse proxy (node:http + undici dispatch, one process, no WebSocket), the same
  // load through it. Not hooktunnel: it shows what one Node HTTP hop costs here, against which the targets read.
  progress(`reference: one Node HTTP hop (bench/floor-proxy.js), c=1 and c=64, ${SECONDS} s each`);
  const floor = new Child('floor proxy', process.execPath, [join(BENCH_DIR, 'floor-proxy.js'), String(target.port)]);
  floor.port = JSON.parse(await floor.waitLine(jsonLine('listening'), 10_000, 'listening line')).port;
  const floorBase = `http://127.0.0.1:${floor.port}`;
  if (WARMUP_SECONDS > 0) await wrk(`${floorBase}/hook`, 16, WARMUP_SECONDS);
  const f1 = await wrk(`${floorBase}/hook`, 1, SECONDS, { floor });
  const f64 = await wrk(`${floorBase}/hook`, 64, SECONDS, { floor });
  for (const [c, r] of [[1, f1], [64, f64]]) if (r.non2xx > 0) problems.push(`floor proxy c=${c}: ${r.non2xx} of ${r.requests} responses were not 2xx/3xx`);
  results.floor = {
    c1: f1,
    c64: f64,
    addedP50Ms: f1.p50Ms - runs[1].direct.p50Ms,
    ratioC64: f64.okRps / runs[64].direct.okRps,
    cpuUsC64: f64.cpuUsPerRequest.floor,
  };

  // 50 MiB each way.
  progress(`50 MiB bodies: ${BODY_REPS} x (POST, GET) x (direct, tunnel, one Node hop)`);
  const bodyFile = join(tmp, 'body-50MiB.bin');
  const fd = openSync(bodyFile, 'w');
  const chunk = Buffer.alloc(MiB, 0x62);
  for (let i = 0; i < BODY_BYTES / MiB; i++) writeSync(fd, chunk);
  closeSync(fd);
  const bodies = {};
  for (const kind of ['post', 'get']) {
    bodies[kind] = {
      direct: { seconds: [], targetGrowthMiB: [], targetCpuMs: [] },
      tunnel: { seconds: [], relayGrowthMiB: [], agentGrowthMiB: [], targetGrowthMiB: [], relayCpuMs: [], agentCpuMs: [], targetCpuMs: [] },
      hop: { seconds: [], floorGrowthMiB: [], floorCpuMs: [] },
    };
  }
  let hwmReset = true;
  for (let rep = 0; rep < BODY_REPS; rep++) {
    for (const kind of ['post', 'get']) {
      for (const [name, base, watch] of [['direct', direct, { target }], ['tunnel', tunnel, { relay, agent, target }], ['hop', floorBase, { floor }]]) {
        const { result, memory: mem } = await withPeakMemory(watch, () => curlTransfer(kind, base, bodyFile));
        if (result.problem) problems.push(`50 MiB ${kind.toUpperCase()} ${name}: ${result.problem}`);
        const b = bodies[kind][name];
        b.seconds.push(result.seconds);
        for (const [k, m] of Object.entries(mem)) {
          b[`${k}GrowthMiB`].push(m.growthBytes / MiB);
          b[`${k}CpuMs`].push(m.cpuMs);
          hwmReset &&= m.hwmReset;
        }
        await sleep(200);
      }
    }
  }
  for (const kind of ['post', 'get']) {
    const b = bodies[kind];
    for (const side of ['direct', 'tunnel', 'hop']) {
      b[side].medianSeconds = median(b[side].seconds);
      for (const k of Object.keys(b[side])) {
        if (k.endsWith('GrowthMiB')) b[side][`max${k[0].toUpperCase()}${k.slice(1)}`] = Math.max(...b[side][k]);
        if (k.endsWith('CpuMs')) b[side][`median${k[0].toUpperCase()}${k.slice(1)}`] = median(b[side][k]);
      }
    }
    b.ratio = b.tunnel.medianSeconds / b.direct.medianSeconds;
    b.hopRatio = b.hop.medianSeconds / b.direct.medianSeconds;
  }
  await floor.stop();
  results.bodies = { bytes: BODY_BYTES, reps: BODY_REPS, peakMethod: hwmReset ? 'VmHWM reset via clear_refs + VmRSS sampled every 20 ms' : 'VmRSS sampled every 20 ms', ...bodies };
  snapshot('after 50 MiB bodies');
  await sleep(2000);
  snapshot('2 s later');

  // What the agent printed: one line per request, nothing else expected.
  await sleep(300);
  // wrk counts the requests it completed; those cut off at the end of a run may still reach the agent.
  const totalTunnelRequests = 1 + warmupTunnelRequests + Object.values(runs).reduce((n, r) => n + r.tunnel.requests, 0) + 2 * BODY_REPS;
  results.agentOutput = { ...agent.counts, expectedAtLeast: totalTunnelRequests };
  if (agent.counts.lines < totalTunnelRequests) problems.push(`the agent printed ${agent.counts.lines} request lines for at least ${totalTunnelRequests} requests through the tunnel`);
  agentProblems(agent, problems);
  await agent.stop();

  // The same tunnel with the agent's capture store switched off (when this build has one): what capture costs.
  if (CAPTURE_FLAG) {
    progress(`agent --no-capture: warm-up, then c=1 and c=64, ${SECONDS} s each`);
    const bare = await startAgent(target.port, relay.port, ['--no-capture'], 'agent --no-capture');
    if (WARMUP_SECONDS > 0) await wrk(`${bare.url}/hook`, 16, WARMUP_SECONDS);
    const c1 = await wrk(`${bare.url}/hook`, 1, SECONDS, { relay, agent: bare, target });
    const c64 = await wrk(`${bare.url}/hook`, 64, SECONDS, { relay, agent: bare, target });
    for (const [c, r] of [[1, c1], [64, c64]]) {
      if (r.non2xx > 0) problems.push(`--no-capture c=${c}: ${r.non2xx} of ${r.requests} responses were not 2xx/3xx`);
      const se = r.socketErrors;
      if (se.connect + se.read + se.write + se.timeout > 0) problems.push(`--no-capture c=${c}: socket errors connect ${se.connect}, read ${se.read}, write ${se.write}, timeout ${se.timeout}`);
    }
    const bodyRuns = { post: [], get: [] };
    for (let rep = 0; rep < BODY_REPS; rep++) {
      for (const kind of ['post', 'get']) {
        const { result, memory: mem } = await withPeakMemory({ relay, agent: bare }, () => curlTransfer(kind, bare.url, bodyFile));
        if (result.problem) problems.push(`--no-capture 50 MiB ${kind.toUpperCase()}: ${result.problem}`);
        bodyRuns[kind].push({ seconds: result.seconds, relayGrowthMiB: mem.relay.growthBytes / MiB, agentGrowthMiB: mem.agent.growthBytes / MiB, relayCpuMs: mem.relay.cpuMs, agentCpuMs: mem.agent.cpuMs });
        await sleep(200);
      }
    }
    const bodySummary = (kind) => {
      const xs = bodyRuns[kind];
      const medianSeconds = median(xs.map((x) => x.seconds));
      return {
        runs: xs,
        medianSeconds,
        ratio: medianSeconds / bodies[kind].direct.medianSeconds,
        maxRelayGrowthMiB: Math.max(...xs.map((x) => x.relayGrowthMiB)),
        maxAgentGrowthMiB: Math.max(...xs.map((x) => x.agentGrowthMiB)),
        medianRelayCpuMs: median(xs.map((x) => x.relayCpuMs)),
        medianAgentCpuMs: median(xs.map((x) => x.agentCpuMs)),
      };
    };
    await sleep(300);
    snapshot('agent --no-capture: after its runs', bare);
    agentProblems(bare, problems);
    results.noCapture = {
      post: bodySummary('post'),
      get: bodySummary('get'),
      c1,
      c64,
      addedP50Ms: c1.p50Ms - runs[1].direct.p50Ms,
      ratioC64: c64.okRps / runs[64].direct.okRps,
      relayUsC64: c64.cpuUsPerRequest.relay,
      agentUsC64: c64.cpuUsPerRequest.agent,
    };
    await bare.stop();
  }

  const metrics = await fetchJson(`http://127.0.0.1:${relay.port}/_hooktunnel/metrics`).catch(() => undefined);
  results.relayMetrics = metrics?.body;
  if (metrics?.body?.violations > 0) problems.push(`the relay counted ${metrics.body.violations} protocol violation(s)`);
  results.meta.tunnelRequestsSent = totalTunnelRequests;

  for (const c of [relay, target]) {
    if (c.exited) problems.push(`${c.name} exited during the run (${JSON.stringify(c.exitInfo)})`);
  }
  const relayErr = relay.stderrTail.split('\n').filter((l) => l.trim() && !/^no tokens: agents are accepted/.test(l));
  if (relayErr.length) problems.push(`relay stderr: ${relayErr.slice(-5).join(' | ')}`);

  await relay.stop();
  await target.stop();
}

function agentProblems(agent, problems) {
  const n = agent.name;
  if (agent.counts.state > 0) problems.push(`${n} printed ${agent.counts.state} state change(s) (disconnects/reconnects) during the run`);
  if (agent.counts.status5xx > 0) problems.push(`${n} reported ${agent.counts.status5xx} request(s) with a 5xx status`);
  if (agent.counts.status4xx > 0) problems.push(`${n} reported ${agent.counts.status4xx} request(s) with a 4xx status`);
  if (agent.counts.other > 0) problems.push(`${n} printed ${agent.counts.other} missed/dropped event(s)`);
  const err = agent.stderrTail.split('\n').filter((l) => l.trim());
  if (err.length) problems.push(`${n} stderr: ${err.slice(-5).join(' | ')}`);
  if (agent.exited) problems.push(`${n} exited during the run (${JSON.stringify(agent.exitInfo)})`);
}

async function idlePhase(results, problems) {
  progress(`idle tunnels: fresh relay, 1 then ${IDLE_TUNNELS} idle connections`);
  const relay = await startRelay('idle relay', RELAY_IDLE_FLAGS);
  const clients = new Child('idle-agents', process.execPath, [join(BENCH_DIR, 'idle-agents.js'), String(relay.port)]);
  await sleep(1000);
  const rss0 = memory(relay.pid).rss;
  const open = async (n) => {
    clients.send(`open ${n}`);
    const line = await clients.waitLine((l) => /"type":"(open|error)"/.test(l), 90_000, `${n} ready tunnels`);
    const msg = JSON.parse(line);
    if (msg.type === 'error') throw new Error(`idle tunnels: ${msg.message} (after ${msg.ready} ready)`);
    return msg;
  };
  await open(1);
  await sleep(1500);
  const rss1 = memory(relay.pid).rss;
  const opened = await open(IDLE_TUNNELS);
  await sleep(2000);
  const rssN = memory(relay.pid).rss;
  const m1 = await fetchJson(`http://127.0.0.1:${relay.port}/_hooktunnel/metrics`);
  // One heartbeat later (the relay pings every 5 s): still all there, and memory after the pings.
  await sleep(5500);
  const rssBeat = memory(relay.pid).rss;
  const m2 = await fetchJson(`http://127.0.0.1:${relay.port}/_hooktunnel/metrics`);
  clients.send('status');
  const status = JSON.parse(await clients.waitLine((l) => l.includes('"type":"status"'), 5000, 'status line'));
  if (m1.body.tunnels !== IDLE_TUNNELS) problems.push(`idle relay reported ${m1.body.tunnels} tunnels instead of ${IDLE_TUNNELS}`);
  if (m2.body.tunnels !== IDLE_TUNNELS || status.open !== IDLE_TUNNELS) {
    problems.push(`after one heartbeat the idle relay reported ${m2.body.tunnels} tunnels and the client had ${status.open} open (expected ${IDLE_TUNNELS})`);
  }
  results.idle = {
    tunnels: IDLE_TUNNELS,
    openMs: opened.ms,
    rss0MiB: rss0 / MiB,
    rss1MiB: rss1 / MiB,
    rssNMiB: rssN / MiB,
    rssAfterHeartbeatMiB: rssBeat / MiB,
    perTunnelKiB: (rssN - rss1) / 1024 / Math.max(1, IDLE_TUNNELS - 1),
    relayReportedTunnels: m1.body.tunnels,
    relayHeapUsedMiB: m1.body.heapUsedBytes / MiB,
  };
  const relayErr = relay.stderrTail.split('\n').filter((l) => l.trim() && !/^no tokens: agents are accepted/.test(l));
  if (relayErr.length) problems.push(`idle relay stderr: ${relayErr.slice(-5).join(' | ')}`);
  clients.send('close');
  await Promise.race([clients.exitPromise, sleep(3000)]);
  await clients.stop();
  await relay.stop();
}

// ------------------------------------------------------------------------------------------------------ report

function table(results, problems) {
  const out = [];
  const W = [46, 11, 11, 9, 12, 6];
  const row = (...cells) => out.push(cells.map((c, i) => (i === 0 ? String(c ?? '').padEnd(W[i]) : String(c ?? '').padStart(W[i]))).join(' ').trimEnd());
  const f = (x, d) => (x === undefined || Number.isNaN(x) ? 'n/a' : x.toFixed(d));
  const ratio = (x) => (x === undefined || Number.isNaN(x) ? '' : `${x.toFixed(2)}x`);
  const mark = (ok) => (ok ? 'PASS' : 'FAIL');
  const checks = [];
  const check = (name, value, limit, ok) => {
    checks.push({ name, value, limit, pass: ok });
    return mark(ok);
  };
  const m = results.meta;
  out.push(`hooktunnel benchmark — ${m.date}`);
  out.push(`node ${m.node}, ${m.cpus} CPU(s) (${m.cpuModel}), load average ${m.loadavgBefore.map((x) => x.toFixed(2)).join(' ')} at start`);
  out.push(`wrk ${m.wrk} -t1 --latency, ${SECONDS} s per figure (direct and tunnel alternating in ${ROUNDS} round(s); the floor and --no-capture in one), 1 KiB JSON POST; relay ${m.relayFlags.join(' ')}; CLK_TCK ${CLK_TCK}`);
  out.push(`agent: hooktunnel <port> --relay … --json${m.captureStore ? ' (its capture store on, the default, in a temporary --data-dir)' : ''}; stdout piped and discarded`);
  out.push('client, relay, agent and target share the machine: through the tunnel 4 processes compete for the CPUs, direct only 2.');
  out.push('');
  row('', 'direct', 'tunnel', 'tun/dir', 'target', '');
  const L = results.latency;
  out.push('Latency, 1 KiB POST, c=1 (ms)');
  row('  p50', f(L.direct.p50Ms, 3), f(L.tunnel.p50Ms, 3), ratio(L.tunnel.p50Ms / L.direct.p50Ms));
  row('  p99', f(L.direct.p99Ms, 3), f(L.tunnel.p99Ms, 3), ratio(L.tunnel.p99Ms / L.direct.p99Ms));
  row('  added latency p50 (tunnel - direct)', '', f(L.addedP50Ms, 3), '', `< ${TARGETS.addedP50Ms} ms`, check('added p50 latency (ms)', L.addedP50Ms, TARGETS.addedP50Ms, L.addedP50Ms < TARGETS.addedP50Ms));
  row('  added latency p99', '', f(L.addedP99Ms, 3));
  row('  req/s at c=1', f(L.direct.okRps, 0), f(L.tunnel.okRps, 0), ratio(L.tunnel.okRps / L.direct.okRps));
  out.push('Throughput, 1 KiB POST (2xx responses/s)');
  for (const c of [16, 64]) {
    const T = results.throughput[`c${c}`];
    const ok = T.ratio >= TARGETS.throughputRatio;
    row(`  c=${c}`, f(T.direct.okRps, 0), f(T.tunnel.okRps, 0), ratio(T.ratio), c === 64 ? `>= ${TARGETS.throughputRatio.toFixed(2)}x` : '', c === 64 ? check('throughput c=64 tunnel/direct', T.ratio, TARGETS.throughputRatio, ok) : '');
    row(`  c=${c} p50 / p99 latency (ms)`, `${f(T.direct.p50Ms, 2)}/${f(T.direct.p99Ms, 1)}`, `${f(T.tunnel.p50Ms, 2)}/${f(T.tunnel.p99Ms, 1)}`);
  }
  out.push('CPU per request (µs, utime+stime / wrk requests)');
  for (const c of [64, 16, 1]) {
    const C = results.cpu[`c${c}`];
    const headline = c === 64;
    row(`  relay, c=${c}`, '', f(C.relayUs, 1), '', headline ? `< ${TARGETS.cpuUsPerRequest} µs` : '', headline ? check('relay CPU per request c=64 (µs)', C.relayUs, TARGETS.cpuUsPerRequest, C.relayUs < TARGETS.cpuUsPerRequest) : '');
    row(`  agent, c=${c}`, '', f(C.agentUs, 1), '', headline ? `< ${TARGETS.cpuUsPerRequest} µs` : '', headline ? check('agent CPU per request c=64 (µs)', C.agentUs, TARGETS.cpuUsPerRequest, C.agentUs < TARGETS.cpuUsPerRequest) : '');
    row(`  target (reference), c=${c}`, f(C.targetDirectUs, 1), f(C.targetTunnelUs, 1), ratio(C.targetTunnelUs / C.targetDirectUs));
  }
  const B = results.bodies;
  out.push(`50 MiB bodies (median of ${B.reps} curl runs; RSS growth = peak during the transfer - RSS before, worst run)`);
  for (const kind of ['post', 'get']) {
    const b = B[kind];
    const label = kind === 'post' ? 'POST 50 MiB to the target' : 'GET 50 MiB from the target';
    row(`  ${label} (s)`, f(b.direct.medianSeconds, 3), f(b.tunnel.medianSeconds, 3), ratio(b.ratio), `<= ${TARGETS.bodyTimeRatio}x`, check(`${kind.toUpperCase()} 50 MiB time tunnel/direct`, b.ratio, TARGETS.bodyTimeRatio, b.ratio <= TARGETS.bodyTimeRatio));
    row(`    MiB/s`, f(50 / b.direct.medianSeconds, 0), f(50 / b.tunnel.medianSeconds, 0));
    row(`    relay RSS growth (MiB)`, '', f(b.tunnel.maxRelayGrowthMiB, 1), '', `< ${TARGETS.bodyRssGrowthMiB} MiB`, check(`relay RSS growth, ${kind.toUpperCase()} 50 MiB (MiB)`, b.tunnel.maxRelayGrowthMiB, TARGETS.bodyRssGrowthMiB, b.tunnel.maxRelayGrowthMiB < TARGETS.bodyRssGrowthMiB));
    row(`    agent RSS growth (MiB)`, '', f(b.tunnel.maxAgentGrowthMiB, 1), '', `< ${TARGETS.bodyRssGrowthMiB} MiB`, check(`agent RSS growth, ${kind.toUpperCase()} 50 MiB (MiB)`, b.tunnel.maxAgentGrowthMiB, TARGETS.bodyRssGrowthMiB, b.tunnel.maxAgentGrowthMiB < TARGETS.bodyRssGrowthMiB));
    row(`    target RSS growth (MiB, reference)`, f(b.direct.maxTargetGrowthMiB, 1), f(b.tunnel.maxTargetGrowthMiB, 1));
    row(`    CPU ms: relay / agent / target`, f(b.direct.medianTargetCpuMs, 0), `${f(b.tunnel.medianRelayCpuMs, 0)}/${f(b.tunnel.medianAgentCpuMs, 0)}/${f(b.tunnel.medianTargetCpuMs, 0)}`);
  }
  out.push('Relay / agent RSS between phases (MiB)');
  for (const t of results.rssTimeline) row(`  ${t.label}`, '', `${f(t.relayMiB, 1)}/${f(t.agentMiB, 1)}`);
  const F = results.floor;
  out.push('Reference: one Node HTTP hop (bench/floor-proxy.js: node:http + undici, one process, no WebSocket; not hooktunnel)');
  row('  added latency p50, c=1 (ms)', '', f(F.addedP50Ms, 3));
  row('  throughput c=64, hop/direct', f(results.throughput.c64.direct.okRps, 0), f(F.c64.okRps, 0), ratio(F.ratioC64));
  row('  its CPU per request, c=64 (µs)', '', f(F.cpuUsC64, 1));
  for (const kind of ['post', 'get']) {
    const b = results.bodies[kind];
    row(`  ${kind.toUpperCase()} 50 MiB, hop/direct time (s)`, f(b.direct.medianSeconds, 3), f(b.hop.medianSeconds, 3), ratio(b.hopRatio));
  }
  const I = results.idle;
  out.push(`Idle tunnels (fresh relay, ${results.meta.idleFlags.join(' ')}; RSS in MiB)`);
  row('  relay RSS, no tunnel', '', f(I.rss0MiB, 1));
  row('  relay RSS, 1 idle tunnel', '', f(I.rss1MiB, 1));
  row(`  relay RSS, ${I.tunnels} idle tunnels`, '', f(I.rssNMiB, 1), '', `< ${TARGETS.idleRssMiB} MiB`, check(`relay RSS with ${I.tunnels} idle tunnels (MiB)`, I.rssNMiB, TARGETS.idleRssMiB, I.rssNMiB < TARGETS.idleRssMiB));
  row(`  relay RSS, ${I.tunnels} tunnels, after 1 heartbeat`, '', f(I.rssAfterHeartbeatMiB, 1));
  row('  per idle tunnel (KiB)', '', f(I.perTunnelKiB, 1));
  const N = results.noCapture;
  if (N) {
    out.push('Same tunnel, agent --no-capture (reference: what the capture store costs; the targets above use the default agent)');
    row('  p50, c=1 (ms)', f(L.direct.p50Ms, 3), f(N.c1.p50Ms, 3), ratio(N.c1.p50Ms / L.direct.p50Ms));
    row('  added latency p50 (ms)', '', f(N.addedP50Ms, 3), '', `< ${TARGETS.addedP50Ms} ms`, N.addedP50Ms < TARGETS.addedP50Ms ? '(pass)' : '(fail)');
    row('  throughput, c=64 (2xx/s)', f(results.throughput.c64.direct.okRps, 0), f(N.c64.okRps, 0), ratio(N.ratioC64), `>= ${TARGETS.throughputRatio.toFixed(2)}x`, N.ratioC64 >= TARGETS.throughputRatio ? '(pass)' : '(fail)');
    row('  relay CPU per request, c=64 (µs)', '', f(N.relayUsC64, 1), '', `< ${TARGETS.cpuUsPerRequest} µs`, N.relayUsC64 < TARGETS.cpuUsPerRequest ? '(pass)' : '(fail)');
    row('  agent CPU per request, c=64 (µs)', '', f(N.agentUsC64, 1), '', `< ${TARGETS.cpuUsPerRequest} µs`, N.agentUsC64 < TARGETS.cpuUsPerRequest ? '(pass)' : '(fail)');
    for (const kind of ['post', 'get']) {
      const b = N[kind];
      row(`  ${kind.toUpperCase()} 50 MiB (s)`, f(results.bodies[kind].direct.medianSeconds, 3), f(b.medianSeconds, 3), ratio(b.ratio), `<= ${TARGETS.bodyTimeRatio}x`, b.ratio <= TARGETS.bodyTimeRatio ? '(pass)' : '(fail)');
      row(`    relay / agent RSS growth (MiB)`, '', `${f(b.maxRelayGrowthMiB, 1)}/${f(b.maxAgentGrowthMiB, 1)}`);
      row(`    relay / agent CPU (ms)`, '', `${f(b.medianRelayCpuMs, 0)}/${f(b.medianAgentCpuMs, 0)}`);
    }
  } else {
    out.push('(this build has no --no-capture flag: no capture-less reference run)');
  }
  out.push('');
  const failed = checks.filter((c) => !c.pass);
  out.push(`Targets: ${checks.length - failed.length} of ${checks.length} met${failed.length ? `; missed: ${failed.map((c) => c.name).join('; ')}` : ''}`);
  out.push(problems.length ? `Problems seen (${problems.length}):` : 'Problems seen: none (no non-2xx, no socket errors, no reconnects, no violations)');
  for (const p of problems) out.push(`  - ${p}`);
  return { text: out.join('\n'), checks };
}

// -------------------------------------------------------------------------------------------------------- main

async function main() {
  const tools = checkTools();
  CAPTURE_FLAG = detectCaptureFlag();
  tmp = mkdtempSync(join(tmpdir(), 'hooktunnel-bench-'));
  const started = Date.now();
  const results = {
    meta: {
      date: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model?.trim() ?? 'unknown',
      loadavgBefore: loadavg(),
      wrk: tools.wrkVersion,
      curl: tools.curlVersion,
      clkTck: CLK_TCK,
      secondsPerRun: SECONDS,
      rounds: ROUNDS,
      warmupSeconds: WARMUP_SECONDS,
      requestBodyBytes: 1024,
      idleFlags: RELAY_IDLE_FLAGS,
      agentFlags: ['--json', '--data-dir <temporary directory>'],
      captureStore: CAPTURE_FLAG,
    },
    targets: TARGETS,
  };
  const problems = [];
  await loadPhases(results, problems);
  await idlePhase(results, problems);
  results.meta.elapsedSeconds = (Date.now() - started) / 1000;
  results.meta.loadavgAfter = loadavg();
  const { text, checks } = table(results, problems);
  results.checks = checks;
  results.problems = problems;
  mkdirSync(dirname(RESULTS), { recursive: true });
  writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\n${text}\n\nFinished in ${results.meta.elapsedSeconds.toFixed(0)} s; figures in ${RESULTS.slice(ROOT.length + 1)}\n`);
}

try {
  await main();
  await stopAll();
  killAllNow();
  process.exit(0);
} catch (err) {
  // Interrupted: the signal handler stops the processes and exits 130; what failed here is only its consequence.
  if (interrupted) await new Promise(() => {});
  process.stderr.write(`\nbenchmark failed: ${err?.stack ?? err}\n`);
  await Promise.race([stopAll(), sleep(5000)]);
  killAllNow();
  process.exit(1);
}
