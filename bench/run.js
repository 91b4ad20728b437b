// hooktunnel benchmark, the supervisor: starts the phases, collects their figures, evaluates the targets,
// prints the report and writes bench/results/latest.json.
//
//   npm run bench            (builds, then runs this file)
//   node bench/run.js        (uses the existing dist/)
//
// The phases (bench/lib/): load.js puts the same 1 KiB POST load and 50 MiB bodies through every path to one
// target (direct, the floor proxy, hooktunnel with and without capture, localtunnel, ssh -R, nginx), idle.js
// opens the idle tunnels, cluster.js measures a request that crosses two relay nodes sharing Redis,
// startup-phase.js runs bench/startup.js. targets.js holds the targets, report.js prints.
// Knobs: see bench/lib/config.js and bench/README.md.
//
// Everything listens on 127.0.0.1, ports are ephemeral, every wait is bounded, and every child process is killed
// by its PID at the end, on errors and on SIGINT/SIGTERM. Exits 0 when the measurement completed (targets met or
// not), 1 when the benchmark itself failed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { BODY_REPS, PHASES, RELAY_IDLE_FLAGS, RELAY_LOAD_FLAGS, RESULTS, ROOT, ROUNDS, SECONDS, WARMUP_SECONDS } from './lib/config.js';
import { clusterPhase } from './lib/cluster.js';
import { idlePhase } from './lib/idle.js';
import { loadPhase } from './lib/load.js';
import { CLK_TCK, installCleanup, killAllNow, sleep, stopAll, wasInterrupted } from './lib/proc.js';
import { report } from './lib/report.js';
import { startupPhase } from './lib/startup-phase.js';
import { evaluate, TARGETS } from './lib/targets.js';

function need(cmd, args, why, install) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) {
    process.stderr.write(`${cmd} is not installed, and the benchmark needs it ${why}.\nInstall it with:  ${install}\n`);
    process.exit(1);
  }
  return `${r.stdout}${r.stderr}`;
}

function checkTools() {
  const wrk = need('wrk', ['--version'], 'to generate HTTP load', 'apt-get install -y wrk');
  const curl = need('curl', ['--version'], 'for the 50 MiB transfers', 'apt-get install -y curl');
  if (!existsSync(join(ROOT, 'dist', 'cli.js'))) {
    process.stderr.write('dist/ is missing: run `npm run build` first (or `npm run bench`, which builds).\n');
    process.exit(1);
  }
  if (!existsSync('/proc/self/stat')) {
    process.stderr.write('the benchmark reads CPU and memory from /proc and needs Linux.\n');
    process.exit(1);
  }
  return { wrk: /wrk\s+(\S+)/.exec(wrk)?.[1] ?? 'unknown', curl: /curl\s+(\S+)/.exec(curl)?.[1] ?? 'unknown' };
}

async function main() {
  const tools = checkTools();
  const started = Date.now();
  const results = {
    meta: {
      date: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model?.trim() ?? 'unknown',
      loadavgBefore: loadavg(),
      wrk: tools.wrk,
      curl: tools.curl,
      clkTck: CLK_TCK,
      secondsPerFigure: SECONDS,
      rounds: ROUNDS,
      warmupSeconds: WARMUP_SECONDS,
      bodyReps: BODY_REPS,
      requestBodyBytes: 1024,
      relayFlags: RELAY_LOAD_FLAGS,
      idleFlags: RELAY_IDLE_FLAGS,
    },
    targets: TARGETS,
  };
  const load = PHASES.has('load') ? await loadPhase() : undefined;
  const idle = PHASES.has('idle') ? await idlePhase() : undefined;
  results.load = load;
  results.idle = idle?.figures;
  const cluster = PHASES.has('cluster') ? await clusterPhase() : undefined;
  results.cluster = cluster;
  results.startup = PHASES.has('startup') ? await startupPhase() : { missing: 'start-up: not measured (BENCH_PHASES)' };
  results.problems = [...(load?.problems ?? []), ...(idle?.problems ?? []), ...(cluster?.problems ?? [])];
  results.checks = evaluate(results);
  results.meta.elapsedSeconds = (Date.now() - started) / 1000;
  results.meta.loadavgAfter = loadavg();
  const text = report(results);
  mkdirSync(dirname(RESULTS), { recursive: true });
  writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\n${text}\n\nFinished in ${results.meta.elapsedSeconds.toFixed(0)} s; figures in ${RESULTS.slice(ROOT.length + 1)}\n`);
}

installCleanup();
try {
  await main();
  await stopAll();
  killAllNow();
  process.exit(0);
} catch (err) {
  // Interrupted: the signal handler stops the processes and exits 130; what failed here is only its consequence.
  if (wasInterrupted()) await new Promise(() => {});
  process.stderr.write(`\nbenchmark failed: ${err?.stack ?? err}\n`);
  await Promise.race([stopAll(), sleep(5000)]);
  killAllNow();
  process.exit(1);
}
