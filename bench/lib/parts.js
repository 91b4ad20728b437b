// Starting the parts under test: the target, the relay, an agent (each a process from the built CLI), the floor.
import { join } from 'node:path';
import { BENCH_DIR, CLI } from './config.js';
import { Child, jsonLine, tmpDir } from './proc.js';

/** bench/target.js, the local server every path ends at. */
export async function startTarget() {
  const t = new Child('target', process.execPath, [join(BENCH_DIR, 'target.js')]);
  t.port = JSON.parse(await t.waitLine(jsonLine('listening'), 10_000, 'listening line')).port;
  return t;
}

/** `hooktunnel relay` on 127.0.0.1, port 0, with `flags`. */
export async function startRelay(name, flags) {
  const r = new Child(name, process.execPath, [CLI, 'relay', '--host', '127.0.0.1', '--port', '0', ...flags]);
  const line = await r.waitLine((l) => /^hooktunnel relay listening on 127\.0\.0\.1:\d+/.test(l), 15_000, '"listening" line');
  r.port = Number(/:(\d+)/.exec(line)[1]);
  return r;
}

/** `hooktunnel <target> --relay … --json` with its own data directory; its one line per exchange is counted. */
export async function startAgent(name, targetPort, relayPort, extra = []) {
  const dataDir = join(tmpDir(), `data-${name.replace(/\W+/g, '-')}`);
  const a = new Child(name, process.execPath, [CLI, String(targetPort), '--relay', `http://127.0.0.1:${relayPort}`, '--json', '--data-dir', dataDir, ...extra]);
  a.url = JSON.parse(await a.waitLine(jsonLine('ready'), 15_000, 'ready line')).url;
  a.startCounting();
  return a;
}

/** bench/floor-proxy.js in front of the target. */
export async function startFloor(targetPort) {
  const f = new Child('floor proxy', process.execPath, [join(BENCH_DIR, 'floor-proxy.js'), String(targetPort)]);
  f.port = JSON.parse(await f.waitLine(jsonLine('listening'), 10_000, 'listening line')).port;
  return f;
}

/** What an agent printed that a clean run never shows: reconnects, non-2xx, missed/dropped, stderr, an exit. */
export function agentProblems(agent) {
  const n = agent.name;
  const c = agent.counts;
  const out = [];
  if (c.state > 0) out.push(`${n} printed ${c.state} state change(s) (disconnects/reconnects)`);
  if (c.status5xx > 0) out.push(`${n} reported ${c.status5xx} exchange(s) with a 5xx status`);
  if (c.status4xx > 0) out.push(`${n} reported ${c.status4xx} exchange(s) with a 4xx status`);
  if (c.missed + c.dropped > 0) out.push(`${n} printed ${c.missed + c.dropped} missed/dropped event(s)`);
  const err = agent.stderrTail.split('\n').filter((l) => l.trim());
  if (err.length) out.push(`${n} stderr: ${err.slice(-5).join(' | ')}`);
  if (agent.exited) out.push(`${n} exited during the run (${JSON.stringify(agent.exitInfo)})`);
  return out;
}

/** The relay's stderr, less its one expected notice. */
export function relayStderr(relay) {
  // The relay's start-up notices (no tokens; where its state is kept) are not problems.
  return relay.stderrTail.split('\n').filter((l) => l.trim() && !/^(no tokens: agents are accepted|state in )/.test(l));
}
