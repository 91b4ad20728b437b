// The load phase: every path to the same target measured side by side in one run. Paths: direct, the floor
// (bench/floor-proxy.js), hooktunnel with capture (the default) and with --no-capture, and the peers.
import { BODY_REPS, PEERS, RELAY_LOAD_FLAGS, SECONDS, ROUNDS, WARMUP_SECONDS } from './config.js';
import { agentProblems, relayStderr, startAgent, startFloor, startRelay, startTarget } from './parts.js';
import { startLocaltunnel, startNginx, startSsh } from './peers.js';
import { fetchJson, median, progress, sleep } from './proc.js';
import { makeBodyFile, transfer } from './transfer.js';
import { alternating, wrk } from './wrk.js';

/** Paths whose 50 MiB GET is measured too (the targets cover the body each way; the peers' table POST only). */
const GET_PATHS = new Set(['direct', 'floor', 'capture', 'noCapture']);

/** One POST through `path` answered by the target. fetch cannot set Host: peers routed by Host are checked when they start. */
async function sanity(path) {
  if (path.host) return;
  const res = await fetch(`${path.url}/hook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"hello":1}', signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  if (res.status !== 200 || text !== '{"ok":true}') throw new Error(`sanity request ${path.key} answered ${res.status} ${text.slice(0, 200)}`);
}

function wrkProblems(label, key, r) {
  const out = [];
  if (r.non2xx > 0) out.push(`${label} ${key}: ${r.non2xx} of ${r.requests} responses were not 2xx/3xx`);
  if (r.errors > 0) out.push(`${label} ${key}: ${r.errors} socket errors/timeouts`);
  return out;
}

/** Starts everything, measures c=1, c=64 and the 50 MiB bodies on every path, stops everything. */
export async function loadPhase() {
  const problems = [];
  const skipped = [];
  const stops = [];
  const target = await startTarget();
  const relay = await startRelay('relay', RELAY_LOAD_FLAGS);
  try {
    const agent = await startAgent('agent', target.port, relay.port);
    const bare = await startAgent('agent --no-capture', target.port, relay.port, ['--no-capture']);
    const floor = await startFloor(target.port);
    const paths = [
      { key: 'direct', label: 'direct to the target', url: `http://127.0.0.1:${target.port}`, watch: { target } },
      { key: 'floor', label: 'floor: bench/floor-proxy.js, one Node hop', url: `http://127.0.0.1:${floor.port}`, watch: { floor } },
      { key: 'capture', label: 'hooktunnel (default, capture on)', url: agent.url, watch: { relay, agent } },
      { key: 'noCapture', label: 'hooktunnel --no-capture', url: bare.url, watch: { relay, agent: bare } },
    ];
    const peers = {};
    if (PEERS) {
      for (const [name, start] of [['localtunnel', startLocaltunnel], ['ssh', startSsh], ['nginx', startNginx]]) {
        progress(`peer: starting ${name}`);
        try {
          const p = await start(target.port);
          if (p.skipped) skipped.push(p.skipped);
          else {
            paths.push(p.path);
            peers[p.path.key] = { label: p.path.label, version: p.version };
            stops.push(p.stop);
          }
        } catch (err) {
          skipped.push(`${name}: not measured, it failed to start: ${err.message}`);
        }
      }
    } else skipped.push('peers: not measured (BENCH_PEERS=0)');
    for (const p of paths) await sanity(p);

    if (WARMUP_SECONDS > 0) {
      progress(`warm-up: ${WARMUP_SECONDS} s per path at c=16 (${paths.map((p) => p.key).join(', ')})`);
      for (const p of paths) await wrk(p, 16, WARMUP_SECONDS);
    }
    const figures = {};
    for (const c of [1, 64]) {
      progress(`c=${c}: ${SECONDS} s per path in ${ROUNDS} round(s) taking the ${paths.length} paths in turn`);
      figures[`c${c}`] = await alternating(c, paths);
      for (const [key, r] of Object.entries(figures[`c${c}`])) problems.push(...wrkProblems(`c=${c}`, key, r));
    }

    progress(`50 MiB bodies: ${BODY_REPS} x POST on every path, GET on ${[...GET_PATHS].join(', ')}`);
    const bodyFile = makeBodyFile();
    const bodies = { post: {}, get: {} };
    for (let rep = 0; rep < BODY_REPS; rep++) {
      for (const kind of ['post', 'get']) {
        for (const p of paths) {
          if (kind === 'get' && !GET_PATHS.has(p.key)) continue;
          const t = await transfer(kind, p, bodyFile);
          if (t.problem) problems.push(`50 MiB ${kind.toUpperCase()} ${p.key}: ${t.problem}`);
          (bodies[kind][p.key] ??= []).push(t);
          await sleep(150);
        }
      }
    }
    const bodySummary = {};
    for (const kind of ['post', 'get']) {
      bodySummary[kind] = {};
      for (const [key, runs] of Object.entries(bodies[kind])) {
        const watchKeys = Object.keys(runs[0].mem);
        bodySummary[kind][key] = {
          medianSeconds: median(runs.map((r) => r.seconds)),
          valid: runs.every((r) => !r.problem),
          maxGrowthMiB: Object.fromEntries(watchKeys.map((k) => [k, Math.max(...runs.map((r) => r.mem[k].growthMiB))])),
          medianCpuMs: Object.fromEntries(watchKeys.map((k) => [k, median(runs.map((r) => r.mem[k].cpuMs))])),
          runs: runs.map((r) => ({ seconds: r.seconds, problem: r.problem })),
        };
      }
    }

    await sleep(300);
    for (const a of [agent, bare]) problems.push(...agentProblems(a));
    const metrics = await fetchJson(`http://127.0.0.1:${relay.port}/_hooktunnel/metrics`).catch(() => undefined);
    if (metrics?.body?.violations > 0) problems.push(`the relay counted ${metrics.body.violations} protocol violation(s)`);
    for (const c of [relay, target, floor]) if (c.exited) problems.push(`${c.name} exited during the run (${JSON.stringify(c.exitInfo)})`);
    const err = relayStderr(relay);
    if (err.length) problems.push(`relay stderr: ${err.slice(-5).join(' | ')}`);
    return { paths: paths.map(({ key, label }) => ({ key, label })), peers, skipped, figures, bodies: bodySummary, agentOutput: { capture: agent.counts, noCapture: bare.counts }, relayMetrics: metrics?.body, problems };
  } finally {
    for (const stop of stops) await stop().catch(() => {});
    await relay.stop();
    await target.stop();
  }
}
