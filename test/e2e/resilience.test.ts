import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, Socket, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { describe, expect, it, onTestFinished } from 'vitest';
import { connectAgent, type AgentHandle } from '../../src/index.js';
import type { RequestEvent, StateEvent } from '../../src/agent/events.js';
import { readBody, runCli, startRelay, startTarget, startTunnel, type CliProcess } from '../helpers/servers.js';
import { send, splitPublicUrl } from '../helpers/http.js';

/** A private data directory for CLI agents that must share one across restarts. */
function tempHome(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hooktunnel-home-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function relayProcess(port = 0, extra: string[] = []): Promise<{ cli: CliProcess; port: number; url: string }> {
  const cli = runCli(['relay', '--host', '127.0.0.1', '--port', String(port), ...extra]);
  const bound = Number(/:(\d+)$/.exec(await cli.waitForLine(/listening/))![1]);
  return { cli, port: bound, url: `http://127.0.0.1:${bound}` };
}

/** Every JSON line an agent printed so far. */
function jsonLines(cli: CliProcess): Array<Record<string, unknown>> {
  return cli.stdout().trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Resolves with the first match of `pattern` in what `cli` printed on stderr (waits for content, bounded). */
async function stderrMatching(cli: CliProcess, pattern: RegExp, timeoutMs = 15_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const m = pattern.exec(cli.stderr());
    if (m) return m[0];
    if (Date.now() > until) throw new Error(`no stderr matching ${pattern} within ${timeoutMs} ms; stderr: ${cli.stderr()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Resolves with the next `state` event of `agent` that matches `state`. */
function nextState<S extends StateEvent['state']>(agent: AgentHandle, state: S): Promise<Extract<StateEvent, { state: S }>> {
  return new Promise((resolve) => {
    const on = (e: StateEvent): void => {
      if (e.state !== state) return;
      agent.events.off('state', on);
      resolve(e as Extract<StateEvent, { state: S }>);
    };
    agent.events.on('state', on);
  });
}

/**
 * A TCP proxy on loopback whose open connections can be frozen (bytes no longer forwarded, nothing closed), cut
 * (both sides closed), or reset on the agent's side only.
 */
async function stallingProxy(to: number): Promise<{ port: number; freeze(): void; cutAgentSide(): void; cut(): void }> {
  const pairs: Array<[Socket, Socket]> = [];
  const server: Server = createServer((inbound) => {
    const outbound = new Socket().connect(to, '127.0.0.1');
    pairs.push([inbound, outbound]);
    inbound.on('data', (d) => outbound.write(d));
    outbound.on('data', (d) => inbound.write(d));
    inbound.on('error', () => outbound.destroy());
    outbound.on('error', () => inbound.destroy());
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  onTestFinished(() => {
    for (const [a, b] of pairs) {
      a.destroy();
      b.destroy();
    }
    server.close();
  });
  return {
    port: (server.address() as AddressInfo).port,
    freeze() {
      // Only the connections open now stall (bytes are read and thrown away, nothing is closed); new ones are
      // forwarded normally.
      for (const [a, b] of pairs) {
        for (const s of [a, b]) {
          s.removeAllListeners('data');
          s.removeAllListeners('close');
          s.on('data', () => {});
        }
      }
    },
    cut() {
      for (const [a, b] of pairs.splice(0)) {
        a.destroy();
        b.destroy();
      }
    },
    cutAgentSide() {
      // The agent's side is reset (a network change on the laptop), the relay's side stays open and silent, as a
      // NAT that forgot the connection leaves it: the relay still holds the old connection when the agent is back.
      for (const [a, b] of pairs.splice(0)) {
        b.removeAllListeners('data');
        b.removeAllListeners('close');
        b.on('data', () => {});
        a.removeAllListeners('close');
        a.removeAllListeners('error');
        a.on('error', () => {});
        a.destroy();
        pairs.push([a, b]);
      }
    },
  };
}

/**
 * A relay that accepts every hello and answers pings with `owned: false` on its first connection (it forgot the
 * tunnel but keeps the connection open) and `owned: true` on later ones.
 */
async function forgetfulRelay(): Promise<{ url: string; connections: () => number }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/_hooktunnel/connect' });
  await new Promise((r) => wss.once('listening', r));
  onTestFinished(() => {
    for (const ws of wss.clients) ws.terminate();
    wss.close();
  });
  const { port } = wss.address() as AddressInfo;
  let connections = 0;
  wss.on('connection', (ws) => {
    const owned = connections++ > 0;
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as { type: string };
      if (msg.type === 'hello') ws.send(JSON.stringify({ type: 'ready', tunnel: 'deaf', url: `http://127.0.0.1:${port}/t/deaf`, secret: 's' }));
      if (msg.type === 'ping') ws.send(JSON.stringify({ type: 'pong', owned }));
    });
  });
  return { url: `http://127.0.0.1:${port}`, connections: () => connections };
}

describe('never lose a webhook', () => {
  it('drops a link whose relay no longer routes the tunnel to it (pong owned: false) and replaces it', async () => {
    const relay = await forgetfulRelay();
    const agent = await connectAgent({ relay: relay.url, target: '3000', heartbeatMs: 200 });
    onTestFinished(() => agent.close());
    const states: StateEvent[] = [];
    agent.events.on('state', (e) => states.push(e));

    await nextState(agent, 'online');

    expect(states.map((e) => e.state)).toEqual(['reconnecting', 'online']);
    expect(states[0]).toMatchObject({ reason: expect.stringMatching(/no longer routes the tunnel to this connection/) });
    expect(relay.connections()).toBe(2);
  });

  it('keeps the URL when the relay is killed with SIGKILL and restarted on the same port', { timeout: 60_000 }, async () => {
    const target = await startTarget((_req, res) => res.end('back'));
    const first = await relayProcess();
    const agent = runCli([String(target.port), '--json', '--relay', first.url]);
    const ready = JSON.parse(await agent.waitForLine(/"type":"ready"/)) as { url: string };

    first.cli.child.kill('SIGKILL');
    await first.cli.exited();
    await agent.waitForLine(/"state":"reconnecting"/);
    await relayProcess(first.port);
    const online = JSON.parse(await agent.waitForLine(/"state":"online"/, 40_000)) as { url: string };

    expect(online.url).toBe(ready.url);
    const { base, prefix } = splitPublicUrl(ready.url);
    expect((await send(base, `${prefix}/again`)).body.toString()).toBe('back');
  });

  it('without --json, says on screen that it is reconnecting (attempt, next try) and when it is back online', { timeout: 60_000 }, async () => {
    const target = await startTarget((_req, res) => res.end('back'));
    const first = await relayProcess();
    const agent = runCli([String(target.port), '--no-ui', '--relay', first.url]);
    const url = /(http:\/\/\S+\/t\/[a-z0-9]+)/.exec(await agent.waitForLine(/\/t\/[a-z0-9]+ -> /))![1]!;

    first.cli.child.kill('SIGKILL');
    await first.cli.exited();
    expect(await stderrMatching(agent, /^reconnecting attempt 1, next try in [\d.]+ m?s: .+$/m)).toBeTruthy();
    await relayProcess(first.port);

    expect(await stderrMatching(agent, /^online (\S+)$/m, 40_000)).toBe(`online ${url}`);
  });

  it('Ctrl-C on the agent answers what is in flight with 502, exits 0, and leaves the exchange complete in the store with that status', async () => {
    let arrived!: () => void;
    const atTarget = new Promise<void>((r) => (arrived = r));
    // The target takes the request and never answers.
    const target = await startTarget(() => arrived());
    const relay = await startRelay();
    const home = tempHome();
    const agent = runCli([String(target.port), '--json', '--relay', relay.url], { HOOKTUNNEL_HOME: home });
    const { url } = JSON.parse(await agent.waitForLine(/"type":"ready"/)) as { url: string };
    const { base, prefix } = splitPublicUrl(url);
    const pending = send(base, `${prefix}/inflight`, { method: 'POST', body: 'x' });
    await atTarget;

    agent.child.kill('SIGINT');
    const res = await pending;

    expect(res.status).toBe(502);
    expect(res.headers['x-hooktunnel-error']).toBe('agent_disconnected');
    expect(await agent.exited()).toBe(0);
    const event = jsonLines(agent).find((e) => e.path === '/inflight');
    expect(event).toMatchObject({ type: 'request', status: 502, error: 'agent_disconnected' });
    // The store was closed cleanly: the exchange is complete, with the error; the target never answered.
    const show = runCli(['show', String(event!.id), '--json'], { HOOKTUNNEL_HOME: home });
    expect(await show.exited()).toBe(0);
    expect(JSON.parse(show.stdout())).toMatchObject({ id: event!.id, complete: true, error: 'agent_disconnected', response: null });
    const list = runCli(['requests', '--json'], { HOOKTUNNEL_HOME: home });
    expect(await list.exited()).toBe(0);
    expect(JSON.parse(list.stdout().trim())).toMatchObject({ id: event!.id, path: '/inflight', status: 502 });
  });

  it('answers 502 agent_disconnected quickly when the agent process is killed mid-request', async () => {
    let arrived: () => void = () => {};
    const got = new Promise<void>((r) => (arrived = r));
    const target = await startTarget(() => arrived());
    const relay = await startRelay();
    const agent = runCli([String(target.port), '--json', '--relay', relay.url]);
    const { url } = JSON.parse(await agent.waitForLine(/"type":"ready"/)) as { url: string };
    const { base, prefix } = splitPublicUrl(url);

    const pending = send(base, `${prefix}/slow`, { method: 'POST', body: '{}' });
    await got;
    const killedAt = Date.now();
    agent.child.kill('SIGKILL');
    const res = await pending;

    expect(res.status).toBe(502);
    expect(res.headers['x-hooktunnel-error']).toBe('agent_disconnected');
    expect(Date.now() - killedAt).toBeLessThan(3000);
  });

  it('detects a connection that stalls without closing, within 15 s, and recovers', { timeout: 40_000 }, async () => {
    const target = await startTarget((_req, res) => res.end('ok'));
    const relay = await startRelay();
    const proxy = await stallingProxy(relay.port);
    const agent = await connectAgent({ relay: `http://127.0.0.1:${proxy.port}`, target: target.url });
    onTestFinished(() => agent.close());
    const reconnecting = nextState(agent, 'reconnecting');

    const frozenAt = Date.now();
    proxy.freeze();
    const lost = await reconnecting;
    const detectedMs = Date.now() - frozenAt;
    const online = await nextState(agent, 'online');

    expect(lost.reason).toMatch(/has not confirmed the tunnel/);
    expect(detectedMs).toBeLessThan(15_000);
    expect(online.url).toBe(agent.publicUrl);
    const { base, prefix } = splitPublicUrl(agent.publicUrl);
    expect((await send(base, `${prefix}/`)).body.toString()).toBe('ok');
  });

  it('the relay drops an agent whose connection stalls silently within two heartbeats, and keeps its requests', async () => {
    const relay = await startRelay({ heartbeatMs: 250, offline: { waitMs: 0 } });
    const proxy = await stallingProxy(relay.port);
    // The agent's own heartbeat is slow here, so that only the relay can notice.
    const agent = await connectAgent({ relay: `http://127.0.0.1:${proxy.port}`, target: '3000', heartbeatMs: 60_000 });
    onTestFinished(() => agent.close());

    const frozenAt = Date.now();
    proxy.freeze();
    for (let i = 0; i < 300 && relay.stats().tunnels > 0; i++) await new Promise((r) => setTimeout(r, 10));
    const detectedMs = Date.now() - frozenAt;
    const { base, prefix } = splitPublicUrl(agent.publicUrl);
    const res = await send(base, `${prefix}/while-stalled`, { method: 'POST', body: 'x' });

    expect(relay.stats().tunnels).toBe(0);
    expect(detectedMs).toBeLessThan(2 * 250 + 200);
    expect(res.status).toBe(503);
    expect(res.headers['x-hooktunnel-error']).toBe('agent_offline');
    expect(relay.stats().kept).toBe(1);
  });

  it('acknowledges requests kept while it reconnected by itself, so the relay forgets them; shows them after online', async () => {
    const relay = await startRelay({ offline: { waitMs: 0 } });
    const proxy = await stallingProxy(relay.port);
    const agent = await connectAgent({ relay: `http://127.0.0.1:${proxy.port}`, target: '3000' });
    onTestFinished(() => agent.close());
    const order: string[] = [];
    agent.events.on('state', (e) => order.push(e.state));
    agent.events.on('missed', (e) => order.push(`missed ${e.path}`));

    proxy.cut();
    for (let i = 0; i < 300 && relay.stats().tunnels > 0; i++) await new Promise((r) => setTimeout(r, 10));
    const { base, prefix } = splitPublicUrl(agent.publicUrl);
    expect((await send(base, `${prefix}/during`, { method: 'POST', body: 'x' })).status).toBe(503);
    await new Promise<void>((resolve) => agent.events.once('missed', () => resolve()));
    for (let i = 0; i < 300 && relay.stats().kept > 0; i++) await new Promise((r) => setTimeout(r, 10));

    expect(relay.stats().kept).toBe(0);
    expect(order).toEqual(['reconnecting', 'online', 'missed /during']);
  });

  it('comes back at once when its old connection is still held on the relay, even at the tunnels-per-token limit', { timeout: 20_000 }, async () => {
    const target = await startTarget((_req, res) => res.end('ok'));
    const relay = await startRelay({ tokens: ['t'], limits: { tunnelsPerToken: 1 } });
    const proxy = await stallingProxy(relay.port);
    const agent = await connectAgent({ relay: `http://127.0.0.1:${proxy.port}`, target: target.url, token: 't' });
    onTestFinished(() => agent.close());
    const states: StateEvent[] = [];
    agent.events.on('state', (e) => states.push(e));

    proxy.cutAgentSide();
    await Promise.race([nextState(agent, 'online'), nextState(agent, 'offline')]);

    expect(states.map((e) => e.state)).toEqual(['reconnecting', 'online']);
    expect(states[1]).toMatchObject({ url: agent.publicUrl });
    expect(relay.stats().tunnels).toBe(1);
    const { base, prefix } = splitPublicUrl(agent.publicUrl);
    expect((await send(base, `${prefix}/`)).body.toString()).toBe('ok');
  });

  it('a second agent with the same data directory takes the tunnel over; the first stops instead of flapping', async () => {
    const target = await startTarget((_req, res) => res.end('ok'));
    const relay = await startRelay();
    const home = tempHome();
    const first = runCli([String(target.port), '--json', '--relay', relay.url], { HOOKTUNNEL_HOME: home });
    const { url } = JSON.parse(await first.waitForLine(/"type":"ready"/)) as { url: string };
    const second = runCli([String(target.port), '--json', '--relay', relay.url], { HOOKTUNNEL_HOME: home });
    const ready = JSON.parse(await second.waitForLine(/"type":"ready"/)) as { url: string };

    expect(await first.exited()).toBe(1);
    expect(jsonLines(first).filter((e) => e.type === 'state')).toEqual([
      expect.objectContaining({ state: 'offline', reason: expect.stringMatching(/another agent took this tunnel over/) }),
    ]);
    expect(ready.url).toBe(url);
    const { base, prefix } = splitPublicUrl(url);
    expect((await send(base, `${prefix}/`)).body.toString()).toBe('ok');
    expect(jsonLines(second).filter((e) => e.type === 'state')).toEqual([]);
  });

  it('keeps requests sent while the agent is away and hands each over once when it returns', { timeout: 40_000 }, async () => {
    const seen: string[] = [];
    const target = await startTarget((req, res) => {
      seen.push(req.url!);
      res.end('ok');
    });
    const relay = await startRelay({ offline: { waitMs: 200 } });
    const home = tempHome();
    const first = runCli([String(target.port), '--json', '--relay', relay.url], { HOOKTUNNEL_HOME: home });
    const { url } = JSON.parse(await first.waitForLine(/"type":"ready"/)) as { url: string };
    first.child.kill('SIGKILL');
    await first.exited();
    const { base, prefix } = splitPublicUrl(url);

    // One after another, so that the order of arrival at the relay is known.
    const answers = [];
    for (const i of [1, 2, 3, 4, 5]) answers.push(await send(base, `${prefix}/hook/${i}`, { method: 'POST', body: `event ${i}` }));
    const second = runCli([String(target.port), '--json', '--forward-missed', '--relay', relay.url], { HOOKTUNNEL_HOME: home });
    const ready = JSON.parse(await second.waitForLine(/"type":"ready"/)) as { url: string };
    await second.waitForLine(/"path":"\/hook\/5".*"replayOf"/);

    for (const a of answers) {
      expect(a.status).toBe(503);
      expect(a.headers['x-hooktunnel-error']).toBe('agent_offline');
      expect(a.headers['retry-after']).toBe('30');
    }
    expect(ready.url).toBe(url);
    const missed = jsonLines(second).filter((e) => e.type === 'missed');
    expect(missed.map((e) => e.path)).toEqual(['/hook/1', '/hook/2', '/hook/3', '/hook/4', '/hook/5']);
    expect(new Set(missed.map((e) => e.id)).size).toBe(5);
    expect(seen).toEqual(['/hook/1', '/hook/2', '/hook/3', '/hook/4', '/hook/5']);

    // A third run gets nothing again: the relay forgot what the agent acknowledged.
    second.child.kill('SIGINT');
    await second.exited();
    const third = runCli([String(target.port), '--json', '--relay', relay.url], { HOOKTUNNEL_HOME: home });
    await third.waitForLine(/"type":"ready"/);
    await send(base, `${prefix}/live`);
    await third.waitForLine(/"path":"\/live"/);
    expect(jsonLines(third).filter((e) => e.type === 'missed')).toEqual([]);
  });

  it('with --memory --state-file, a relay killed with SIGKILL still refuses the id to others after its restart, and keeps its requests for the owner', { timeout: 30_000 }, async () => {
    const home = tempHome();
    const stateFile = join(home, 'relay-state.json');
    const target = await startTarget((req, res) => res.end(`got ${req.url}`));
    const first = await relayProcess(0, ['--memory', '--state-file', stateFile, '--offline-wait', '0']);
    const agent = runCli([String(target.port), '--json', '--relay', first.url, '--subdomain', 'survives'], { HOOKTUNNEL_HOME: home });
    await agent.waitForLine(/"type":"ready"/);
    // The claim is written at the end of the relay's event-loop turn: wait for it to be on disk, not for a time.
    for (let i = 0; i < 200 && !(existsSync(stateFile) && readFileSync(stateFile, 'utf8').includes('"survives"')); i++) await new Promise((r) => setTimeout(r, 10));
    const [{ secret }] = Object.values(JSON.parse(readFileSync(join(home, 'tunnels.json'), 'utf8')) as Record<string, { secret: string }>);
    expect(readFileSync(stateFile, 'utf8')).not.toContain(secret);
    expect(statSync(stateFile).mode & 0o777).toBe(0o600);

    first.cli.child.kill('SIGKILL');
    await first.cli.exited();
    agent.child.kill('SIGINT');
    await agent.exited();
    const second = await relayProcess(first.port, ['--memory', '--state-file', stateFile, '--offline-wait', '0']);

    // Someone else asking for the id right after the restart is refused: the relay remembers it has an owner.
    await expect(connectAgent({ relay: second.url, target: target.url, subdomain: 'survives' })).rejects.toMatchObject({ code: 'tunnel_taken' });
    // A webhook for it meanwhile is kept for the owner (503 agent_offline), not answered 404 and lost.
    const res = await send(second.url, '/t/survives/after-restart', { method: 'POST', body: 'kept' });
    expect(res.status).toBe(503);
    expect(res.headers['x-hooktunnel-error']).toBe('agent_offline');

    const back = runCli([String(target.port), '--json', '--relay', second.url, '--subdomain', 'survives'], { HOOKTUNNEL_HOME: home });
    const missed = JSON.parse(await back.waitForLine(/"type":"missed"/)) as Record<string, unknown>;
    expect(missed).toMatchObject({ path: '/after-restart', requestBytes: 4 });
    expect(JSON.parse(await back.waitForLine(/"type":"ready"/))).toMatchObject({ tunnel: 'survives' });
  });

  it('delivers a request normally when the agent returns within the wait', async () => {
    const target = await startTarget((req, res) => res.end(`got ${req.url}`));
    const relay = await startRelay({ offline: { waitMs: 10_000 } });
    const agent = await connectAgent({ relay: relay.url, target: target.url, subdomain: 'comes-back' });
    const { base, prefix } = splitPublicUrl(agent.publicUrl);
    const secret = agent.secret;
    await agent.close();

    const pending = send(base, `${prefix}/late`, { method: 'POST', body: 'x' });
    await new Promise((r) => setTimeout(r, 300));
    const again = await connectAgent({ relay: relay.url, target: target.url, subdomain: 'comes-back', secret });
    onTestFinished(() => again.close());
    const res = await pending;

    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('got /late');
  });

  it('drops the oldest kept request when the queue is full, and says so', async () => {
    const relay = await startRelay({ offline: { waitMs: 0, maxCount: 2 } });
    const target = await startTarget((_req, res) => res.end());
    const agent = await connectAgent({ relay: relay.url, target: target.url, subdomain: 'small-queue' });
    const { base, prefix } = splitPublicUrl(agent.publicUrl);
    const secret = agent.secret;
    await agent.close();
    for (const i of [1, 2, 3]) await send(base, `${prefix}/q${i}`);

    const again = await connectAgent({ relay: relay.url, target: target.url, subdomain: 'small-queue', secret });
    onTestFinished(() => again.close());
    const missed: string[] = [];
    const dropped = await new Promise<number>((resolve) => {
      again.events.on('missed', (e) => missed.push(e.path));
      again.events.on('dropped', (e) => resolve(e.count));
    });
    await new Promise((r) => setTimeout(r, 100));

    expect(dropped).toBe(1);
    expect(missed).toEqual(['/q2', '/q3']);
    expect(relay.stats().dropped).toBe(1);
  });

  it('holds at most --offline-max-bytes of body for an away agent across its waiting requests; one that does not fit is dropped, and reported', async () => {
    const target = await startTarget((req, res) => void readBody(req).then((b) => res.end(`got ${b.length}`)));
    const relay = await startRelay({ offline: { waitMs: 30_000, maxBytes: 1000 } });
    const agent = await connectAgent({ relay: relay.url, target: target.url, subdomain: 'budget' });
    const { base, prefix } = splitPublicUrl(agent.publicUrl);
    const secret = agent.secret;
    await agent.close();

    const first = send(base, `${prefix}/first`, { method: 'POST', body: Buffer.alloc(800) });
    for (let i = 0; i < 300 && relay.stats().waiting === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const second = await send(base, `${prefix}/second`, { method: 'POST', body: Buffer.alloc(800) });
    const again = await connectAgent({ relay: relay.url, target: target.url, subdomain: 'budget', secret });
    onTestFinished(() => again.close());
    const dropped = await new Promise<number>((resolve) => again.events.once('dropped', (e) => resolve(e.count)));

    expect(second.status).toBe(503);
    expect(second.headers['x-hooktunnel-error']).toBe('agent_offline');
    expect(second.body.toString()).toMatch(/this request was not kept/);
    expect((await first).body.toString()).toBe('got 800');
    expect(dropped).toBe(1);
    expect(relay.stats()).toMatchObject({ waiting: 0, kept: 0, dropped: 1 });
  });

  it('answers requests waiting for an agent that is away when the relay shuts down, instead of cutting them', async () => {
    const relay = await startRelay({ offline: { waitMs: 30_000 } });
    const agent = await connectAgent({ relay: relay.url, target: '3000' });
    const { base, prefix } = splitPublicUrl(agent.publicUrl);
    await agent.close();
    const pending = send(base, `${prefix}/waiting`, { method: 'POST', body: 'x' });
    for (let i = 0; i < 300 && relay.stats().waiting === 0; i++) await new Promise((r) => setTimeout(r, 10));

    const stoppedAt = Date.now();
    await relay.close();
    const res = await pending;

    expect(res.status).toBe(503);
    expect(res.headers['x-hooktunnel-error']).toBe('agent_offline');
    expect(res.headers['retry-after']).toBe('30');
    expect(res.body.toString()).toMatch(/shutting down; this request was not kept/);
    expect(Date.now() - stoppedAt).toBeLessThan(1000);
  });

  it('answers a request still unanswered when the relay shuts down with 502 naming the shutdown; the agent records the 502', async () => {
    let arrived!: () => void;
    const atTarget = new Promise<void>((r) => (arrived = r));
    // The target takes the request and never answers: it is still in flight when the relay's grace runs out.
    const { relay, agent } = await startTunnel(() => arrived(), { relay: { shutdownGraceMs: 200 } });
    const ended = new Promise<RequestEvent>((resolve) => agent.events.on('request', resolve));
    const { base, prefix } = splitPublicUrl(agent.publicUrl);
    const pending = send(base, `${prefix}/slow`, { method: 'POST', body: 'x' });
    await atTarget;

    await relay.close();
    const res = await pending;

    expect(res.status).toBe(502);
    expect(res.headers['x-hooktunnel-error']).toBe('agent_disconnected');
    expect(res.body.toString()).toMatch(/the relay shut down before the agent answered/);
    expect(await ended).toMatchObject({ path: '/slow', status: 502, error: 'agent_disconnected' });
  });

  it('answers every one of 200 requests in flight while the relay restarts; none hangs', { timeout: 60_000 }, async () => {
    let arrivedAtTarget = 0;
    let someArrived: () => void = () => {};
    const inFlight = new Promise<void>((resolve) => (someArrived = resolve));
    const target = await startTarget((_req, res) => {
      if (++arrivedAtTarget === 20) someArrived();
      setTimeout(() => res.end('done'), 300);
    });
    const first = await relayProcess();
    const agent = runCli([String(target.port), '--json', '--relay', first.url]);
    const { url } = JSON.parse(await agent.waitForLine(/"type":"ready"/)) as { url: string };
    const { base, prefix } = splitPublicUrl(url);

    const outcomes = Array.from({ length: 200 }, (_, i) =>
      Promise.race([
        send(base, `${prefix}/r${i}`, { method: 'POST', body: String(i) }).then(
          (r) => `status ${r.status}`,
          (e: NodeJS.ErrnoException) => `error ${e.code}`,
        ),
        new Promise<string>((r) => setTimeout(() => r('hung'), 30_000)),
      ]),
    );
    // Stopped once some requests are surely in flight (at the target, answering in 300 ms), however busy the machine.
    await Promise.race([inFlight, new Promise((r) => setTimeout(r, 10_000))]);
    expect(arrivedAtTarget).toBeGreaterThanOrEqual(20);
    first.cli.child.kill('SIGTERM');
    await first.cli.exited();
    const second = await relayProcess(first.port);
    await agent.waitForLine(/"state":"online"/, 30_000);
    const results = await Promise.all(outcomes);

    expect(results.filter((r) => r === 'hung')).toEqual([]);
    for (const r of results) expect(r).toMatch(/^(status (200|502|503)|error (ECONNREFUSED|ECONNRESET|EPIPE))$/);
    // The requests that were in flight when the relay stopped were allowed to finish.
    expect(results.filter((r) => r === 'status 200').length).toBeGreaterThan(0);
    expect((await send(second.url, `${prefix}/after`)).body.toString()).toBe('done');
  });
});
