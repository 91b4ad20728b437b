// The targets, relative to the floor proxy measured in the same run (issue 13), and against localtunnel; each
// check is met, missed, or invalid when a figure it reads was measured on errors (non-2xx, socket errors,
// timeouts, a transfer that failed), or n/a when a figure is missing.

/** Limits: ratios to the floor unless said otherwise. */
export const TARGETS = {
  noCaptureThroughput: 0.85,
  noCaptureCpu: 1.15,
  captureThroughput: 0.75,
  captureAddsAgentUs: 15,
  bodyTime: 1.5,
  addedP50: 2,
  idleRssMiB: 300,
  idleOpenSeconds: 60,
  bodyRssGrowthMiB: 64,
};

const ok = (r) => r !== undefined && r.non2xx === 0 && r.errors === 0;

/** Builds the list of checks from the run's results. */
export function evaluate(results) {
  const checks = [];
  const F = results.load?.figures ?? {};
  const B = results.load?.bodies ?? {};
  const add = (name, value, floor, limit, pass, valid, unit = '') => {
    const status = value === undefined || Number.isNaN(value) ? 'n/a' : !valid ? 'invalid' : pass ? 'met' : 'missed';
    checks.push({ name, value, floor, limit, unit, status });
  };
  const c1 = F.c1 ?? {};
  const c64 = F.c64 ?? {};
  const floorRps = c64.floor?.okRps;
  const floorCpu = c64.floor?.cpuUs?.floor;
  const n = c64.noCapture;
  const c = c64.capture;
  if (n) {
    const r = n.okRps / floorRps;
    add('no capture: c=64 throughput / floor', r, floorRps, `>= ${TARGETS.noCaptureThroughput}x`, r >= TARGETS.noCaptureThroughput, ok(n) && ok(c64.floor), 'x');
    const cpu = n.cpuUs.relay + n.cpuUs.agent;
    add('no capture: relay + agent CPU per exchange (µs) / floor', cpu / floorCpu, floorCpu, `<= ${TARGETS.noCaptureCpu}x`, cpu / floorCpu <= TARGETS.noCaptureCpu, ok(n) && ok(c64.floor), 'x');
  }
  if (c) {
    const r = c.okRps / floorRps;
    add('capture: c=64 throughput / floor', r, floorRps, `>= ${TARGETS.captureThroughput}x`, r >= TARGETS.captureThroughput, ok(c) && ok(c64.floor), 'x');
    if (n) {
      const addUs = c.cpuUs.agent - n.cpuUs.agent;
      add('capture adds, agent CPU per exchange at c=64 (µs)', addUs, undefined, `<= ${TARGETS.captureAddsAgentUs} µs`, addUs <= TARGETS.captureAddsAgentUs, ok(c) && ok(n), 'µs');
    }
  }
  for (const kind of ['post', 'get']) {
    const t = B[kind]?.capture;
    const f = B[kind]?.floor;
    if (t && f) {
      const r = t.medianSeconds / f.medianSeconds;
      add(`capture: 50 MiB ${kind.toUpperCase()} time / floor`, r, f.medianSeconds, `<= ${TARGETS.bodyTime}x`, r <= TARGETS.bodyTime, t.valid && f.valid, 'x');
      for (const part of ['relay', 'agent']) {
        const g = t.maxGrowthMiB[part];
        add(`capture: ${part} RSS growth during a 50 MiB ${kind.toUpperCase()} (MiB)`, g, undefined, `< ${TARGETS.bodyRssGrowthMiB} MiB`, g < TARGETS.bodyRssGrowthMiB, t.valid, 'MiB');
      }
    }
  }
  const direct = c1.direct?.p50Ms;
  const floorAdded = c1.floor?.p50Ms - direct;
  for (const [key, label] of [['capture', 'capture'], ['noCapture', 'no capture']]) {
    if (!c1[key]) continue;
    const added = c1[key].p50Ms - direct;
    add(`${label}: added p50 at c=1 / floor's added p50`, added / floorAdded, floorAdded, `<= ${TARGETS.addedP50}x`, added / floorAdded <= TARGETS.addedP50, ok(c1[key]) && ok(c1.floor) && ok(c1.direct), 'x');
  }
  const I = results.idle;
  if (I) {
    add(`${I.tunnels} idle tunnels: relay RSS (MiB)`, I.rssMiB, undefined, `< ${TARGETS.idleRssMiB} MiB`, I.rssMiB < TARGETS.idleRssMiB, I.relayReportedTunnels === I.tunnels, 'MiB');
    add(`${I.tunnels} idle tunnels: all connected (s)`, I.openMs / 1000, undefined, `< ${TARGETS.idleOpenSeconds} s`, I.openMs / 1000 < TARGETS.idleOpenSeconds, I.relayReportedTunnels === I.tunnels, 's');
  }
  const lt1 = c1.localtunnel;
  const lt64 = c64.localtunnel;
  const ltPost = B.post?.localtunnel;
  if (lt1 && lt64 && ltPost) {
    for (const [key, label] of [['capture', 'hooktunnel'], ['noCapture', 'hooktunnel --no-capture']]) {
      add(`${label} ahead of localtunnel: p50 c=1 (ms)`, c1[key].p50Ms, lt1.p50Ms, '< localtunnel', c1[key].p50Ms < lt1.p50Ms, ok(c1[key]) && ok(lt1), 'ms');
      add(`${label} ahead of localtunnel: c=64 req/s`, c64[key].okRps, lt64.okRps, '> localtunnel', c64[key].okRps > lt64.okRps, ok(c64[key]) && ok(lt64), '/s');
      const post = B.post[key];
      add(`${label} ahead of localtunnel: 50 MiB POST (s)`, post.medianSeconds, ltPost.medianSeconds, '< localtunnel', post.medianSeconds < ltPost.medianSeconds, post.valid && ltPost.valid, 's');
    }
  }
  const S = results.startup?.figures;
  if (S) {
    for (const [key, label] of [['version', '--version'], ['help', '--help'], ['urlEmbedded', 'time to URL, embedded relay'], ['urlInspector', 'time to URL, with the inspector']]) {
      const fig = S[key];
      const limit = S.targets?.[key];
      if (!fig || limit === undefined) continue;
      add(`start-up: ${label}, median (ms)`, fig.medianMs, undefined, `< ${limit} ms`, fig.medianMs < limit, true, 'ms');
    }
  }
  return checks;
}
