// The printed report: the run's conditions, every target with its measured value, floor and status, every path
// side by side with ratios to direct, the idle and start-up figures, and what went wrong.

const f = (x, d) => (x === undefined || Number.isNaN(x) ? 'n/a' : x.toFixed(d));
const ratio = (x) => (x === undefined || Number.isNaN(x) ? 'n/a' : `${x.toFixed(2)}x`);

function tableText(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function value(c) {
  if (c.unit === 'x') return ratio(c.value);
  if (c.unit === 'ms') return f(c.value, c.value >= 10 ? 0 : 3);
  return f(c.value, c.unit === 's' ? 3 : 1);
}

function floorCell(c) {
  if (c.floor === undefined) return '';
  if (c.name.includes('localtunnel')) return `localtunnel ${f(c.floor, c.unit === '/s' ? 0 : 3)}`;
  if (c.name.includes('throughput')) return `${f(c.floor, 0)} req/s`;
  if (c.name.includes('CPU')) return `${f(c.floor, 1)} µs`;
  if (c.name.includes('p50')) return `+${f(c.floor, 3)} ms`;
  if (c.name.includes('50 MiB')) return `${f(c.floor, 3)} s`;
  return f(c.floor, 3);
}

/** The targets table: [target, measured, floor or reference, limit, status]. */
export function targetRows(checks) {
  return checks.map((c) => [c.name, value(c), floorCell(c), c.limit, c.status]);
}

/** One row per path: latency, throughput, bodies, CPU, errors. */
export function pathRows(load) {
  const F = load.figures;
  const B = load.bodies;
  const d1 = F.c1.direct.p50Ms;
  const d64 = F.c64.direct.okRps;
  const dPost = B.post.direct?.medianSeconds;
  const dGet = B.get.direct?.medianSeconds;
  return load.paths.map(({ key, label }) => {
    const a = F.c1[key];
    const b = F.c64[key];
    const post = B.post[key];
    const get = B.get[key];
    const cpu = Object.entries(b.cpuUs).map(([k, v]) => `${k} ${f(v, 1)}`).join(', ');
    const bad = a.non2xx + b.non2xx + a.errors + b.errors;
    return [
      label,
      f(a.p50Ms, 3),
      ratio(a.p50Ms / d1),
      f(b.okRps, 0),
      ratio(b.okRps / d64),
      post ? f(post.medianSeconds, 3) : '-',
      post ? ratio(post.medianSeconds / dPost) : '-',
      get ? f(get.medianSeconds, 3) : '-',
      get ? ratio(get.medianSeconds / dGet) : '-',
      cpu,
      bad === 0 && (post?.valid ?? true) && (get?.valid ?? true) ? '0' : `${bad}${post?.valid === false || get?.valid === false ? ' +body' : ''} INVALID`,
    ];
  });
}

/** The whole report as text. */
export function report(results) {
  const m = results.meta;
  const out = [];
  out.push(`hooktunnel benchmark — ${m.date}`);
  out.push(`node ${m.node}, ${m.cpus} CPU(s) (${m.cpuModel}), load average ${m.loadavgBefore.map((x) => x.toFixed(2)).join(' ')} at start`);
  out.push(`wrk ${m.wrk} -t1 --latency, 1 KiB JSON POST on keep-alive connections; ${m.secondsPerFigure} s per figure and path in ${m.rounds} round(s) taking the paths in turn; 50 MiB: median of ${m.bodyReps} curl runs`);
  out.push(`relay ${m.relayFlags.join(' ')} (the per-token request cap lifted for the load); agents: hooktunnel <port> --relay … --json --data-dir <tmp>`);
  out.push('');
  out.push('Targets (the floor is bench/floor-proxy.js, measured in this run)');
  out.push(tableText(['target', 'measured', 'floor / reference', 'limit', 'status'], targetRows(results.checks)));
  if (results.load) {
    out.push('');
    out.push('Paths to the same target (ratios to direct; CPU is µs per exchange at c=64 of the processes named)');
    out.push(tableText(['path', 'p50 c=1 ms', 'x', 'c=64 req/s', 'x', 'POST 50MiB s', 'x', 'GET 50MiB s', 'x', 'CPU µs/exchange', 'non-2xx+errors'], pathRows(results.load)));
    for (const s of results.load.skipped) out.push(`skipped: ${s}`);
  }
  const I = results.idle;
  if (I) {
    out.push('');
    out.push(`Idle tunnels: ${I.tunnels} from ${I.processes} process(es) connected in ${f(I.openMs / 1000, 1)} s; relay RSS ${f(I.rss0MiB, 1)} MiB with none, ${f(I.rss1MiB, 1)} with 1, ${f(I.rssNMiB, 1)} with all (${f(I.perTunnelKiB, 1)} KiB each), ${f(I.rssAfterHeartbeatMiB, 1)} after a heartbeat, ${f(I.peakWhileOpeningMiB, 1)} peak while opening`);
  }
  const C = results.cluster;
  if (C?.figures) {
    out.push('');
    out.push('Cluster (two nodes on one redis-server, agent --no-capture on node B; CPU µs per exchange at c=64)');
    const rows = C.paths.map(({ key, label }) => {
      const a = C.figures.c1[key];
      const b = C.figures.c64[key];
      const cpu = Object.entries(b.cpuUs).map(([k, v]) => `${k} ${f(v, 1)}`).join(', ');
      return [label, f(a.p50Ms, 3), f(b.okRps, 0), f(b.redisCommandsPerExchange, 3), cpu, a.non2xx + b.non2xx + a.errors + b.errors];
    });
    out.push(tableText(['path', 'p50 c=1 ms', 'c=64 req/s', 'Redis cmds/exchange', 'CPU µs/exchange', 'non-2xx+errors'], rows));
    const l = C.figures.c1.local;
    const x = C.figures.c1.crossing;
    out.push(`crossing nodes adds ${f(x.p50Ms - l.p50Ms, 3)} ms at p50 (c=1); c=64 throughput ${ratio(C.figures.c64.crossing.okRps / C.figures.c64.local.okRps)} of the local path`);
    const P = C.footprint;
    if (P) out.push(`in Redis: ${f(P.redisBytesPerTunnel, 0)} bytes and ${f(P.redisCommandsPerTunnelPerSecond, 3)} commands/s per held tunnel (${P.idleTunnels} idle); ${f(P.redisBytesPerKeptRequest, 0)} bytes per kept request of ${P.keptBodyBytes} body bytes (${P.keptRequests} kept)`);
  } else if (C?.missing) out.push('', C.missing);
  out.push('');
  const S = results.startup;
  if (S?.figures) {
    const rows = ['version', 'help', 'urlEmbedded', 'urlInspector'].filter((k) => S.figures[k]).map((k) => [k, f(S.figures[k].medianMs, 0), f(S.figures[k].minMs, 0), f(S.figures[k].maxMs, 0), `< ${S.figures.targets?.[k] ?? '?'}`]);
    out.push('Start-up (whole process, ms)');
    out.push(tableText(['command', 'median', 'min', 'max', 'target'], rows));
  } else out.push(S?.missing ?? S?.failed ?? 'start-up: not measured');
  out.push('');
  const by = (s) => results.checks.filter((c) => c.status === s);
  const missed = by('missed');
  const invalid = by('invalid');
  out.push(`Targets: ${by('met').length} of ${results.checks.length} met${missed.length ? `; missed: ${missed.map((c) => c.name).join('; ')}` : ''}${invalid.length ? `; INVALID (measured on errors): ${invalid.map((c) => c.name).join('; ')}` : ''}`);
  out.push(results.problems.length ? `Problems seen (${results.problems.length}):` : 'Problems seen: none (no non-2xx, no socket errors or timeouts, no reconnects, no violations)');
  for (const p of results.problems) out.push(`  - ${p}`);
  return out.join('\n');
}
