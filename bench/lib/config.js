// The benchmark's paths, knobs (environment variables) and fixed sizes, read once.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** bench/ */
export const BENCH_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
/** The repository root. */
export const ROOT = dirname(BENCH_DIR);
/** The built CLI the relay and the agents are started from. */
export const CLI = join(ROOT, 'bin', 'hooktunnel.js');
/** wrk's script: a 1 KiB JSON POST on keep-alive connections. */
export const LUA = join(BENCH_DIR, 'post-1k.lua');
/** Where the figures of the latest run go. */
export const RESULTS = join(BENCH_DIR, 'results', 'latest.json');

function envInt(name, def, min, max) {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    process.stderr.write(`${name} must be a whole number from ${min} to ${max}\n`);
    process.exit(1);
  }
  return n;
}

/** wrk seconds per figure and path, split over ROUNDS rounds that take the paths in turn. */
export const SECONDS = envInt('BENCH_SECONDS', 6, 1, 60);
/** Rounds per figure; every path is measured once per round, so ratios compare runs made side by side. */
export const ROUNDS = Math.min(envInt('BENCH_ROUNDS', 3, 1, 8), SECONDS);
export const WARMUP_SECONDS = envInt('BENCH_WARMUP_SECONDS', 2, 0, 30);
/** 50 MiB transfers per direction and path. */
export const BODY_REPS = envInt('BENCH_BODY_REPS', 3, 1, 10);
export const IDLE_TUNNELS = envInt('BENCH_IDLE_TUNNELS', 10_000, 1, 20_000);
/** Processes the idle tunnels are spread over (each a lean WebSocket client, bench/idle-agents.js). */
export const IDLE_PROCESSES = envInt('BENCH_IDLE_PROCESSES', 4, 1, 16);
/** Whole-process start-up runs per command (bench/startup.js). */
export const STARTUP_RUNS = envInt('BENCH_STARTUP_RUNS', 7, 1, 50);
/** The phases to run, comma-separated (default all): load, idle, startup. For development; a full run has all. */
export const PHASES = new Set((process.env.BENCH_PHASES || 'load,idle,cluster,startup').split(',').map((s) => s.trim()));
/** Set BENCH_PEERS=0 to leave out localtunnel, ssh -R and nginx. */
export const PEERS = process.env.BENCH_PEERS !== '0';

export const MiB = 1024 * 1024;
export const BODY_BYTES = 50 * MiB;

// The relay's defaults (6,000 requests per minute per token, 10 tunnels per token or per agent address without
// tokens) are a shared relay's protection, not the data path: they would answer the load with 429 and refuse the
// idle tunnels. The benchmark lifts those two only (c=64 stays under --max-in-flight's 256).
export const RELAY_LOAD_FLAGS = ['--requests-per-minute', '10000000'];
export const RELAY_IDLE_FLAGS = ['--tunnels-per-token', String(IDLE_TUNNELS + 10)];
