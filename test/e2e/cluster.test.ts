import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { connectAgent, type AgentHandle } from '../../src/index.js';
import { sign } from '../../src/relay/cluster/auth.js';
import { send, splitPublicUrl } from '../helpers/http.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { CLI, readBody, startTarget } from '../helpers/servers.js';
import { lacks } from '../helpers/tools.js';
import { freePort, listening } from '../helpers/ports.js';

// The README's cluster, really run: a redis-server, three `hooktunnel relay --redis …` processes and Caddy in front
// as the load balancer (round robin), all on loopback. Agents dial Caddy; senders call Caddy or a node directly.

const SECRET = 'cluster-test-secret-0123456789abcdef';
const TOKEN = 'cluster-test-token';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** One relay node process: `hooktunnel relay --redis … --cluster-url …`, the secret from the environment. */
class Node {
  child: ChildProcess | undefined;
  stderr = '';

  constructor(
    readonly port: number,
    private readonly args: string[],
    private readonly home: string,
  ) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn(process.execPath, [CLI, 'relay', ...this.args], {
      env: { ...process.env, HOOKTUNNEL_HOME: this.home, HOOKTUNNEL_CLUSTER_SECRET: SECRET, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`node ${this.port} did not start: ${this.stderr}`)), 15_000);
      child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (/listening/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`node ${this.port} exited ${code}: ${this.stderr}`));
      });
    });
  }

  /** Tunnels whose agents are connected to this node. */
  async tunnels(): Promise<number> {
    const res = await send(this.url, '/_hooktunnel/metrics');
    return (JSON.parse(res.body.toString()) as { tunnels: number }).tunnels;
  }

  /** Sends `signal` by PID and resolves with the exit code (null after SIGKILL). */
  async stop(signal: NodeJS.Signals): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    process.kill(child.pid!, signal);
    return exited;
  }
}

describe.skipIf(lacks('the cluster tests', 'redis-server', 'caddy'))('a cluster: three relay processes on one Redis, behind Caddy', () => {
  let redis: TestRedis;
  let dir: string;
  let caddy: ChildProcess | undefined;
  let lb: string;
  const nodes: Node[] = [];
  let n = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hooktunnel-cluster-'));
    redis = await startRedis();
    const lbPort = await freePort();
    lb = `http://127.0.0.1:${lbPort}`;
    const ports = [await freePort(), await freePort(), await freePort()];
    for (const port of ports) {
      const args = ['--host', '127.0.0.1', '--port', String(port), '--redis', redis.url, '--cluster-url', `http://127.0.0.1:${port}`,
        '--token', TOKEN, '--trust-proxy', '--public-url', lb, '--offline-wait', '5'];
      nodes.push(new Node(port, args, dir));
    }
    await Promise.all(nodes.map((node) => node.start()));
    const caddyfile = join(dir, 'Caddyfile');
    writeFileSync(caddyfile, `{
	admin off
	auto_https off
	storage file_system ${join(dir, 'caddy-data')}
}

http://:${lbPort} {
	bind 127.0.0.1
	reverse_proxy ${ports.map((p) => `127.0.0.1:${p}`).join(' ')} {
		lb_policy round_robin
		lb_try_duration 5s
		lb_try_interval 100ms
		fail_duration 10s
		flush_interval -1
		transport http {
			dial_timeout 1s
		}
	}
}
`);
    const env = { ...process.env, HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') };
    caddy = spawn('caddy', ['run', '--config', caddyfile, '--adapter', 'caddyfile'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    caddy.stderr!.setEncoding('utf8').on('data', (d: string) => (log = (log + d).slice(-4000)));
    await Promise.race([listening(lbPort), new Promise((_, reject) => caddy!.on('exit', (code) => reject(new Error(`caddy exited ${code}: ${log}`))))]);
  }, 60_000);

  afterAll(async () => {
    if (caddy && caddy.exitCode === null) caddy.kill('SIGKILL');
    await Promise.all(nodes.map((node) => node.stop('SIGKILL')));
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** An agent dialling the load balancer; closed when the test ends. */
  const agentThroughLb = async (target: string, options: { subdomain?: string; secret?: string } = {}): Promise<AgentHandle> => {
    const agent = await connectAgent({ relay: lb, target, token: TOKEN, subdomain: options.subdomain ?? `t${++n}-${process.pid}`, secret: options.secret });
    onTestFinished(() => agent.close());
    return agent;
  };

  /** The node the agent of a tunnel is connected to. */
  const holder = async (): Promise<Node> => {
    const live = nodes.filter((node) => node.running);
    const counts = await Promise.all(live.map((node) => node.tunnels()));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(1);
    return live[counts.indexOf(1)]!;
  };

  /** A test that stops a node: it runs again on its port when the test ends, whatever the outcome. */
  const restartAfter = (node: Node): void => {
    onTestFinished(async () => {
      await node.stop('SIGKILL');
      await node.start();
    });
  };

  it('a request reaching any node (or Caddy) reaches the agent, whichever node it is connected to: 5 MiB each way byte for byte, status and headers as the target sent them', { timeout: 30_000 }, async () => {
    const seen: Array<{ sha: string; xfh: string; custom: string }> = [];
    const answers = new Map<string, Buffer>();
    const target = await startTarget((req: IncomingMessage, res: ServerResponse) => {
      void readBody(req).then((body) => {
        seen.push({ sha: sha256(body), xfh: String(req.headers['x-forwarded-host']), custom: String(req.headers['x-custom']) });
        const out = randomBytes(5 * 1024 * 1024);
        answers.set(String(req.headers['x-request']), out);
        res.writeHead(201, 'Made It', { 'x-answer': 'yes', 'content-type': 'application/octet-stream' });
        res.end(out);
      });
    });
    const agent = await agentThroughLb(target.url);
    const { prefix } = splitPublicUrl(agent.publicUrl);
    expect(agent.publicUrl.startsWith(`${lb}/t/`)).toBe(true);
    const on = await holder();
    expect(nodes.filter((node) => node !== on)).toHaveLength(2);

    for (const [i, base] of [...nodes.map((node) => node.url), lb].entries()) {
      const body = randomBytes(5 * 1024 * 1024);
      const res = await send(base, `${prefix}/upload?n=${i}`, { method: 'POST', body, headers: { 'x-request': String(i), 'x-custom': 'kept', host: 'hooks.example' } });
      expect(res.status, `through ${base}`).toBe(201);
      expect(res.headers['x-answer']).toBe('yes');
      expect(sha256(res.body)).toBe(sha256(answers.get(String(i))!));
      expect(seen[i]).toEqual({ sha: sha256(body), xfh: 'hooks.example', custom: 'kept' });
    }
    expect(seen).toHaveLength(4);
    for (const node of nodes) {
      expect(node.stderr).toMatch(new RegExp(`cluster node reached at ${node.url}`));
      expect(node.stderr).not.toContain(SECRET);
    }
  });

  it('kill -9 of the node holding an agent: the agent is back through Caddy with the same URL, and requests sent meanwhile arrive once', { timeout: 40_000 }, async () => {
    const arrived: string[] = [];
    const target = await startTarget((req, res) => {
      void readBody(req).then((body) => {
        arrived.push(body.toString());
        res.end(`got ${body.toString()}`);
      });
    });
    const agent = await agentThroughLb(target.url);
    const { prefix } = splitPublicUrl(agent.publicUrl);
    const on = await holder();
    const others = nodes.filter((node) => node !== on);
    const back = new Promise<string>((resolve) => agent.events.on('ready', (e) => resolve(e.url)));

    restartAfter(on);
    expect(await on.stop('SIGKILL')).toBe(null);
    // Sent at once, while the agent reconnects: to both surviving nodes directly and through Caddy.
    const meanwhile = [others[0]!.url, others[1]!.url, lb, lb].map((base, i) => send(base, `${prefix}/during`, { method: 'POST', body: `m${i}` }));
    expect(await back).toBe(agent.publicUrl);
    const answered = await Promise.all(meanwhile);
    expect(answered.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(answered.map((r) => r.body.toString())).toEqual(['got m0', 'got m1', 'got m2', 'got m3']);
    expect(arrived.sort()).toEqual(['m0', 'm1', 'm2', 'm3']);
    expect((await send(lb, `${prefix}/after`, { method: 'POST', body: 'after' })).body.toString()).toBe('got after');
  });

  it('kill -9 of the node that kept requests for an absent agent: another node delivers them when the agent comes back', { timeout: 40_000 }, async () => {
    const target = await startTarget((_req, res) => res.end('ok'));
    const first = await agentThroughLb(target.url);
    const { subdomain, secret } = { subdomain: first.publicUrl.split('/t/')[1]!, secret: first.secret };
    await first.close();
    await until(async () => (await Promise.all(nodes.map((node) => node.tunnels()))).every((c) => c === 0), 'the agent to leave');

    const keeper = nodes[0]!;
    const bodies = [randomBytes(1000), randomBytes(70_000)];
    const kept = await Promise.all(bodies.map((body, i) => send(keeper.url, `/t/${subdomain}/kept/${i}`, { method: 'POST', body })));
    for (const res of kept) {
      expect(res.status).toBe(503);
      expect(res.headers['x-hooktunnel-error']).toBe('agent_offline');
      expect(res.body.toString()).toMatch(/was kept/);
    }
    restartAfter(keeper);
    expect(await keeper.stop('SIGKILL')).toBe(null);

    const missed: Array<{ path: string; sha: string }> = [];
    const agent = await connectAgent({ relay: lb, target: target.url, token: TOKEN, subdomain, secret });
    onTestFinished(() => agent.close());
    agent.events.on('missed', (e) => missed.push({ path: e.path, sha: sha256(e.body) }));
    await until(() => missed.length >= 2, 'the kept requests');
    expect(missed.sort((a, b) => a.path.localeCompare(b.path))).toEqual([
      { path: '/kept/0', sha: sha256(bodies[0]!) },
      { path: '/kept/1', sha: sha256(bodies[1]!) },
    ]);
    expect(await holder()).not.toBe(keeper);
  });

  it('two agents racing for one id through two nodes: one wins, the other is refused tunnel_taken', { timeout: 20_000 }, async () => {
    const target = await startTarget((_req, res) => res.end('ok'));
    const id = `contested-${process.pid}`;
    const race = await Promise.allSettled(nodes.slice(0, 2).map((node) => connectAgent({ relay: node.url, target: target.url, token: TOKEN, subdomain: id })));
    const won = race.filter((r): r is PromiseFulfilledResult<AgentHandle> => r.status === 'fulfilled');
    const lost = race.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    onTestFinished(() => Promise.all(won.map((r) => r.value.close())).then(() => undefined));
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.reason).toMatchObject({ code: 'tunnel_taken' });
    // The winner is served through the third node, which holds neither.
    expect((await send(nodes[2]!.url, `/t/${id}/x`)).body.toString()).toBe('ok');
  });

  it('a node-to-node request without a valid signature is refused 403 and never reaches the agent; a signed one does', { timeout: 20_000 }, async () => {
    const hits: string[] = [];
    const target = await startTarget((req, res) => {
      hits.push(req.url ?? '');
      res.end('reached');
    });
    const node = nodes[1]!;
    const agent = await connectAgent({ relay: node.url, target: target.url, token: TOKEN, subdomain: `forged-${process.pid}` });
    onTestFinished(() => agent.close());
    const path = `/_hooktunnel/cluster/tunnel/forged-${process.pid}/x`;
    const forged: Array<Record<string, string>> = [
      {},
      { 'x-hooktunnel-cluster-auth': sign('not-the-cluster-secret-at-all', 'GET', path, '203.0.113.9'), 'x-hooktunnel-cluster-remote': '203.0.113.9' },
      { 'x-hooktunnel-cluster-auth': sign(SECRET, 'GET', path, '203.0.113.9', Date.now() - 120_000), 'x-hooktunnel-cluster-remote': '203.0.113.9' },
      { 'x-hooktunnel-cluster-auth': sign(SECRET, 'GET', path, '203.0.113.9'), 'x-hooktunnel-cluster-remote': '198.51.100.1' },
    ];
    for (const headers of forged) {
      const res = await send(node.url, path, { headers });
      expect(res.status).toBe(403);
      expect(res.headers['x-hooktunnel-error']).toBe('forbidden');
    }
    expect(hits).toEqual([]);
    const signed = await send(node.url, path, { headers: { 'x-hooktunnel-cluster-auth': sign(SECRET, 'GET', path, '203.0.113.9'), 'x-hooktunnel-cluster-remote': '203.0.113.9' } });
    expect(signed.body.toString()).toBe('reached');
    expect(hits).toEqual(['/x']);
  });

  it('SIGTERM on a node drains it: the request in flight finishes, its agent reconnects through Caddy to another node with the same URL', { timeout: 30_000 }, async () => {
    let release: () => void = () => {};
    let started: () => void = () => {};
    const inFlight = new Promise<void>((resolve) => (started = resolve));
    const target = await startTarget((req, res) => {
      if (req.url === '/slow') {
        started();
        return void new Promise<void>((resolve) => (release = resolve)).then(() => res.end('slow done'));
      }
      res.end('fast');
    });
    const agent = await agentThroughLb(target.url);
    const { prefix } = splitPublicUrl(agent.publicUrl);
    const on = await holder();
    const slow = send(on.url, `${prefix}/slow`);
    await inFlight;
    const back = new Promise<string>((resolve) => agent.events.on('ready', (e) => resolve(e.url)));
    restartAfter(on);
    const exited = on.stop('SIGTERM');
    setTimeout(() => release(), 300);
    expect((await slow).body.toString()).toBe('slow done');
    expect(await exited).toBe(0);
    expect(await back).toBe(agent.publicUrl);
    expect((await send(lb, `${prefix}/fast`)).body.toString()).toBe('fast');
    expect(await holder()).not.toBe(on);
  });
});
