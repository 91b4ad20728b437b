// Idle tunnels on one fresh relay: IDLE_TUNNELS lean WebSocket agents (bench/idle-agents.js) spread over
// IDLE_PROCESSES processes, opened all at once; the relay's RSS with 1 and with all of them, and after a heartbeat.
import { join } from 'node:path';
import { BENCH_DIR, IDLE_PROCESSES, IDLE_TUNNELS, MiB, RELAY_IDLE_FLAGS } from './config.js';
import { startRelay, relayStderr } from './parts.js';
import { Child, fetchJson, memory, progress, sleep } from './proc.js';

async function open(client, n) {
  client.send(`open ${n}`);
  const line = await client.waitLine((l) => /"type":"(open|error)"/.test(l), 120_000, `${n} ready tunnels`);
  const msg = JSON.parse(line);
  if (msg.type === 'error') throw new Error(`idle tunnels: ${msg.message} (after ${msg.ready} ready in ${client.name})`);
  return msg;
}

/** Runs the idle phase; returns its figures and the problems it saw. */
export async function idlePhase() {
  const problems = [];
  progress(`idle tunnels: fresh relay, 1 then ${IDLE_TUNNELS} idle connections from ${IDLE_PROCESSES} process(es)`);
  const relay = await startRelay('idle relay', RELAY_IDLE_FLAGS);
  const clients = Array.from({ length: IDLE_PROCESSES }, (_, i) => new Child(`idle-agents ${i + 1}`, process.execPath, [join(BENCH_DIR, 'idle-agents.js'), String(relay.port)]));
  try {
    await sleep(1000);
    const rss0 = memory(relay.pid).rss;
    await open(clients[0], 1);
    await sleep(1000);
    const rss1 = memory(relay.pid).rss;
    const share = (i) => Math.floor(IDLE_TUNNELS / IDLE_PROCESSES) + (i < IDLE_TUNNELS % IDLE_PROCESSES ? 1 : 0);
    const started = Date.now();
    let peak = rss1;
    const sampler = setInterval(() => (peak = Math.max(peak, memory(relay.pid).rss)), 100);
    try {
      await Promise.all(clients.map((c, i) => open(c, share(i))));
    } finally {
      clearInterval(sampler);
    }
    const openMs = Date.now() - started;
    await sleep(2000);
    const rssN = memory(relay.pid).rss;
    const m1 = await fetchJson(`http://127.0.0.1:${relay.port}/_hooktunnel/metrics`);
    // One heartbeat later (the relay pings every 5 s): still all there, and memory after the pings.
    await sleep(5500);
    const rssBeat = memory(relay.pid).rss;
    const m2 = await fetchJson(`http://127.0.0.1:${relay.port}/_hooktunnel/metrics`);
    let open2 = 0;
    for (const c of clients) {
      c.send('status');
      open2 += JSON.parse(await c.waitLine((l) => l.includes('"type":"status"'), 5000, 'status line')).open;
    }
    if (m1.body.tunnels !== IDLE_TUNNELS) problems.push(`idle relay reported ${m1.body.tunnels} tunnels instead of ${IDLE_TUNNELS}`);
    if (m2.body.tunnels !== IDLE_TUNNELS || open2 !== IDLE_TUNNELS) problems.push(`after one heartbeat the idle relay reported ${m2.body.tunnels} tunnels and the clients had ${open2} open (expected ${IDLE_TUNNELS})`);
    const err = relayStderr(relay);
    if (err.length) problems.push(`idle relay stderr: ${err.slice(-5).join(' | ')}`);
    return {
      figures: {
        tunnels: IDLE_TUNNELS,
        processes: IDLE_PROCESSES,
        openMs,
        rss0MiB: rss0 / MiB,
        rss1MiB: rss1 / MiB,
        rssNMiB: rssN / MiB,
        peakWhileOpeningMiB: peak / MiB,
        rssAfterHeartbeatMiB: rssBeat / MiB,
        rssMiB: Math.max(rssN, rssBeat) / MiB,
        perTunnelKiB: (rssN - rss1) / 1024 / Math.max(1, IDLE_TUNNELS - 1),
        relayReportedTunnels: m1.body.tunnels,
        relayHeapUsedMiB: m1.body.heapUsedBytes / MiB,
      },
      problems,
    };
  } finally {
    for (const c of clients) c.send('close');
    await Promise.race([Promise.all(clients.map((c) => c.exitPromise)), sleep(3000)]);
    await Promise.all(clients.map((c) => c.stop()));
    await relay.stop();
  }
}
