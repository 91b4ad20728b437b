// Start-up figures from bench/startup.js (whole processes, median of several runs), when that file exists.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR, STARTUP_RUNS } from './config.js';
import { progress } from './proc.js';

/** `{ figures }` from measureStartup, or `{ missing: message }`, or `{ failed: message }`. */
export async function startupPhase() {
  const file = join(BENCH_DIR, 'startup.js');
  if (!existsSync(file)) return { missing: 'start-up: bench/startup.js missing' };
  progress(`start-up: ${STARTUP_RUNS} runs per command (bench/startup.js)`);
  try {
    const mod = await import(file);
    if (typeof mod.measureStartup !== 'function') return { failed: 'start-up: bench/startup.js exports no measureStartup' };
    return { figures: await mod.measureStartup({ runs: STARTUP_RUNS }) };
  } catch (err) {
    return { failed: `start-up: measureStartup failed: ${err?.message ?? err}` };
  }
}
