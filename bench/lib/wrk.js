// The 1 KiB POST load: one wrk run, its parsed figures (errors counted), and rounds that take paths in turn.
import { LUA, ROUNDS, SECONDS } from './config.js';
import { cpuSeconds, median, run } from './proc.js';

function toMs(text) {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text);
  if (!m) throw new Error(`cannot read the wrk duration "${text}"`);
  return Number(m[1]) * { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2]];
}

/** Reads wrk --latency output: percentiles, counts, and every kind of failure it reports. */
export function parseWrk(out) {
  const pct = {};
  for (const m of out.matchAll(/^\s*(50|75|90|99)(?:\.0+)?%\s+([\d.]+(?:us|ms|s|m|h))\s*$/gm)) pct[m[1]] = toMs(m[2]);
  const total = /(\d+) requests in ([\d.]+(?:us|ms|s|m|h)),/.exec(out);
  if (!total || pct['50'] === undefined) throw new Error(`cannot read wrk's output:\n${out}`);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const se = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = se ? Number(se[1]) + Number(se[2]) + Number(se[3]) + Number(se[4]) : 0;
  const requests = Number(total[1]);
  const durationS = toMs(total[2]) / 1000;
  return { requests, durationS, okRps: (requests - non2xx) / durationS, p50Ms: pct['50'], p99Ms: pct['99'], non2xx, errors };
}

/**
 * One wrk run of the 1 KiB POST against `path` (its `url`, and a `host` header for peers routed by Host); the
 * CPU time of the processes in `path.watch` is read before and after.
 */
export async function wrk(path, connections, seconds) {
  const watch = Object.entries(path.watch ?? {});
  const before = watch.map(([, c]) => cpuSeconds(c.pid));
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '5s', '--latency', '-s', LUA];
  if (path.host) args.push('-H', `Host: ${path.host}`);
  args.push(`${path.url}/hook`);
  const r = await run('wrk', args, (seconds + 20) * 1000);
  if (r.code !== 0) throw new Error(`wrk ${args.join(' ')} failed (${r.signal ?? r.code}): ${r.err}${r.out}`);
  const result = parseWrk(r.out);
  result.cpuUs = {};
  watch.forEach(([k, c], i) => {
    result.cpuUs[k] = result.requests > 0 ? ((cpuSeconds(c.pid) - before[i]) / result.requests) * 1e6 : NaN;
  });
  return result;
}

/**
 * Measures every path for SECONDS in all, in ROUNDS rounds that take them in turn, so that a ratio compares runs
 * made under the same conditions (a shared machine's speed drifts within seconds). Counts, rates, errors and CPU
 * are totals over the rounds; percentiles are the median of the rounds'.
 */
export async function alternating(connections, paths) {
  const seconds = Math.max(1, Math.round(SECONDS / ROUNDS));
  const runs = paths.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < paths.length; i++) runs[i].push(await wrk(paths[i], connections, seconds));
  }
  return Object.fromEntries(paths.map((p, i) => [p.key, combine(runs[i])]));
}

/** Totals of several runs of one path (see alternating). */
export function combine(list) {
  const sum = (f) => list.reduce((a, r) => a + f(r), 0);
  const requests = sum((r) => r.requests);
  const durationS = sum((r) => r.durationS);
  const non2xx = sum((r) => r.non2xx);
  const cpuUs = {};
  for (const k of Object.keys(list[0].cpuUs)) cpuUs[k] = requests > 0 ? sum((r) => r.cpuUs[k] * r.requests) / requests : NaN;
  return {
    requests,
    durationS,
    okRps: (requests - non2xx) / durationS,
    p50Ms: median(list.map((r) => r.p50Ms)),
    p99Ms: median(list.map((r) => r.p99Ms)),
    non2xx,
    errors: sum((r) => r.errors),
    cpuUs,
    rounds: list.map((r) => ({ seconds: r.durationS, okRps: r.okRps, p50Ms: r.p50Ms, p99Ms: r.p99Ms, non2xx: r.non2xx, errors: r.errors })),
  };
}
