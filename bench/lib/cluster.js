// The cluster phase (issue 12): a redis-server, two `hooktunnel relay --redis …` nodes and one --no-capture agent
// connected to node B. The same 1 KiB POST load is sent to node B (the tunnel is connected there: no Redis round
// trip) and to node A (the request crosses to B over the signed node-to-node HTTP hop), taken in turn. Reported:
// p50 at c=1, throughput at c=64, CPU per exchange of each node, the agent and Redis, and Redis commands per
// exchange (from INFO's total_commands_processed, which includes the nodes' heartbeat renewals). Then what the
// state costs in Redis: used_memory and commands per second with CLUSTER_IDLE idle tunnels held through node A
// (bench/idle-agents.js), and used_memory per kept 1 KiB request once the agent is gone.
import { createServer, connect } from 'node:net';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR, CLI, RELAY_LOAD_FLAGS, ROUNDS, SECONDS, WARMUP_SECONDS } from './config.js';
import { agentProblems, startAgent, startTarget } from './parts.js';
import { Child, childEnv, progress, sleep, tmpDir } from './proc.js';
import { combine, wrk } from './wrk.js';

const SECRET = 'bench-cluster-secret-0123456789abcdef';
/** Idle tunnels held through one node for the footprint figures. */
const CLUSTER_IDLE = 1000;
/** Requests kept for the absent agent for the footprint figures. */
const CLUSTER_KEPT = 500;

/** A port that was free a moment ago: a node's --cluster-url must be known before it starts. */
async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** One inline Redis command over a plain socket (no client library in the benchmark); resolves with the reply. */
function redisCommand(port, command) {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis ${command}: no answer within 3 s`));
    }, 3000);
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('data', (d) => {
      text += d.toString('utf8');
      // A bulk reply: $<len>\r\n<body>\r\n; a status reply: +…\r\n.
      const m = /^\$(\d+)\r\n/.exec(text);
      if ((m && Buffer.byteLength(text) >= m[0].length + Number(m[1]) + 2) || (/^[+-]/.test(text) && text.endsWith('\r\n'))) {
        clearTimeout(timer);
        socket.end();
        resolve(text);
      }
    });
    socket.write(`${command}\r\n`);
  });
}

async function commandsProcessed(port) {
  const info = await redisCommand(port, 'INFO stats');
  return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? NaN);
}

async function usedMemory(port) {
  const info = await redisCommand(port, 'INFO memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN);
}

/** Redis memory and command rate per idle tunnel, then per kept request (the agent stopped). */
async function footprint(redis, a, agent, crossing) {
  progress(`cluster footprint: ${CLUSTER_IDLE} idle tunnels through node A, then ${CLUSTER_KEPT} requests kept for an absent agent`);
  const idle = new Child('cluster idle-agents', process.execPath, [join(BENCH_DIR, 'idle-agents.js'), String(a.port)]);
  try {
    await sleep(500);
    const mem0 = await usedMemory(redis.port);
    idle.send(`open ${CLUSTER_IDLE}`);
    const line = await idle.waitLine((l) => /"type":"(open|error)"/.test(l), 120_000, `${CLUSTER_IDLE} ready tunnels`);
    if (JSON.parse(line).type === 'error') throw new Error(`cluster idle tunnels: ${line}`);
    await sleep(1000);
    const mem1 = await usedMemory(redis.port);
    // Commands while nothing but heartbeats happen: 3 heartbeats of 5 s with the tunnels held.
    const c0 = await commandsProcessed(redis.port);
    const quiet = 15_000;
    await sleep(quiet);
    const c1 = await commandsProcessed(redis.port);
    idle.send('close');
    await idle.exitPromise;
    await agent.stop();
    await sleep(1000);
    const mem2 = await usedMemory(redis.port);
    const body = JSON.stringify({ type: 'invoice.paid', pad: 'x'.repeat(1000) }).slice(0, 1024);
    let kept = 0;
    for (let i = 0; i < CLUSTER_KEPT; i++) {
      const res = await fetch(`${crossing}/kept`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(5000) });
      await res.arrayBuffer();
      if (res.status === 503) kept++;
    }
    const mem3 = await usedMemory(redis.port);
    return {
      idleTunnels: CLUSTER_IDLE,
      redisBytesPerTunnel: (mem1 - mem0) / CLUSTER_IDLE,
      redisCommandsPerTunnelPerSecond: (c1 - c0 - 1) / CLUSTER_IDLE / (quiet / 1000),
      keptRequests: kept,
      keptBodyBytes: Buffer.byteLength(body),
      redisBytesPerKeptRequest: kept > 0 ? (mem3 - mem2) / kept : NaN,
    };
  } finally {
    await idle.stop().catch(() => {});
  }
}

async function startRedisServer() {
  const port = await freePort();
  const dir = join(tmpDir(), 'redis');
  mkdirSync(dir, { recursive: true });
  const r = new Child('redis-server', 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no']);
  for (let i = 0; i < 200; i++) {
    if (r.exited) throw new Error(`redis-server exited: ${r.stderrTail}`);
    if (await redisCommand(port, 'PING').then((t) => t.startsWith('+PONG'), () => false)) {
      r.port = port;
      return r;
    }
    await sleep(25);
  }
  throw new Error('redis-server did not answer PING within 5 s');
}

async function startNode(name, redisPort) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = [CLI, 'relay', '--host', '127.0.0.1', '--port', String(port), '--redis', `redis://127.0.0.1:${redisPort}/0`, '--cluster-url', url, ...RELAY_LOAD_FLAGS, '--offline-wait', '0', '--offline-max', String(CLUSTER_KEPT * 2), '--tunnels-per-token', String(CLUSTER_IDLE + 10)];
  const n = new Child(name, process.execPath, args, { env: childEnv({ HOOKTUNNEL_CLUSTER_SECRET: SECRET }) });
  await n.waitLine((l) => /^hooktunnel relay listening on 127\.0\.0\.1:\d+/.test(l), 15_000, '"listening" line');
  n.port = port;
  return n;
}

/** Runs the phase; resolves with its figures, or with `missing` when redis-server is not installed. */
export async function clusterPhase() {
  if (spawnSync('redis-server', ['--version']).error) {
    return { missing: 'cluster: not measured, redis-server is not installed (apt-get install -y redis-server)' };
  }
  const problems = [];
  const target = await startTarget();
  const redis = await startRedisServer();
  const started = [target, redis];
  try {
    const a = await startNode('node A', redis.port);
    const b = await startNode('node B', redis.port);
    started.push(a, b);
    const agent = await startAgent('cluster agent', target.port, b.port, ['--no-capture']);
    started.push(agent);
    const local = agent.url;
    const crossing = local.replace(`:${b.port}/`, `:${a.port}/`);
    if (crossing === local) throw new Error(`cannot place the tunnel URL ${local} on node A`);
    const res = await fetch(`${crossing}/hook`, { method: 'POST', body: '{"hello":1}', signal: AbortSignal.timeout(5000) });
    if (res.status !== 200) throw new Error(`a request through node A answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
    const watch = { nodeA: a, nodeB: b, agent, redis };
    const paths = [
      { key: 'local', label: 'tunnel connected to the node asked (B)', url: local, watch },
      { key: 'crossing', label: 'request to node A, tunnel on node B', url: crossing, watch },
    ];
    if (WARMUP_SECONDS > 0) for (const p of paths) await wrk(p, 16, WARMUP_SECONDS);
    const figures = {};
    const seconds = Math.max(1, Math.round(SECONDS / ROUNDS));
    for (const c of [1, 64]) {
      progress(`cluster c=${c}: ${SECONDS} s per path in ${ROUNDS} round(s), node B direct and through node A, in turn`);
      const runs = { local: [], crossing: [] };
      const commands = { local: 0, crossing: 0 };
      for (let round = 0; round < ROUNDS; round++) {
        for (const p of paths) {
          const before = await commandsProcessed(redis.port);
          runs[p.key].push(await wrk(p, c, seconds));
          // The INFO that reads `before` counts itself after it ran: one command of ours per pair.
          commands[p.key] += (await commandsProcessed(redis.port)) - before - 1;
        }
      }
      figures[`c${c}`] = {};
      for (const p of paths) {
        const fig = combine(runs[p.key]);
        fig.redisCommandsPerExchange = fig.requests > 0 ? Math.max(0, commands[p.key]) / fig.requests : NaN;
        figures[`c${c}`][p.key] = fig;
        if (fig.non2xx > 0 || fig.errors > 0) problems.push(`cluster c=${c} ${p.key}: ${fig.non2xx} non-2xx, ${fig.errors} socket errors`);
      }
    }
    problems.push(...agentProblems(agent));
    const costs = await footprint(redis, a, agent, crossing);
    if (costs.keptRequests !== CLUSTER_KEPT) problems.push(`cluster: ${costs.keptRequests} of ${CLUSTER_KEPT} requests for the absent agent were answered 503 (kept)`);
    for (const c of [a, b, redis, target]) if (c.exited) problems.push(`${c.name} exited during the cluster phase (${JSON.stringify(c.exitInfo)})`);
    return { paths: paths.map(({ key, label }) => ({ key, label })), figures, footprint: costs, problems };
  } finally {
    for (const c of started.reverse()) await c.stop().catch(() => {});
  }
}
