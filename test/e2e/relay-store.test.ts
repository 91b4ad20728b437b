import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, onTestFinished } from 'vitest';
import { connectAgent } from '../../src/index.js';
import { DEFAULT_OFFLINE_LIMITS } from '../../src/relay/offline.js';
import { memoryStore } from '../../src/relay/store/open.js';
import type { RelayStore } from '../../src/relay/store/types.js';
import { readBody, runCli, startRelay, startTarget, type CliProcess } from '../helpers/servers.js';
import { send } from '../helpers/http.js';

const LIMITS = { tunnelsPerToken: 10, requestsPerMinute: 6000 };
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function tempHome(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hooktunnel-home-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** `hooktunnel relay` as a process on loopback; `port` 0 picks one. */
async function relayProcess(port: number, extra: string[]): Promise<{ cli: CliProcess; port: number; url: string }> {
  const cli = runCli(['relay', '--host', '127.0.0.1', '--port', String(port), '--offline-wait', '0', ...extra]);
  const bound = Number(/:(\d+)$/.exec(await cli.waitForLine(/listening/))![1]);
  return { cli, port: bound, url: `http://127.0.0.1:${bound}` };
}

async function kill9(cli: CliProcess): Promise<void> {
  cli.child.kill('SIGKILL');
  await cli.exited();
}

/** Polls the relay's metrics until `done` holds (bounded: 10 s). */
async function metricsUntil(url: string, done: (m: Record<string, number>) => boolean): Promise<Record<string, number>> {
  for (let i = 0; i < 500; i++) {
    const m = JSON.parse((await send(url, '/_hooktunnel/metrics')).body.toString()) as Record<string, number>;
    if (done(m)) return m;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`relay metrics at ${url} never matched`);
}

/** Every JSON line an agent printed so far. */
function jsonLines(cli: CliProcess): Array<Record<string, unknown>> {
  return cli.stdout().trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('the relay keeps its state in --data-dir', () => {
  it('a request kept for an away agent survives kill -9 of the relay, is delivered once byte for byte to the restarted relay, and is gone after the ack', { timeout: 60_000 }, async () => {
    const home = tempHome();
    const dataDir = join(home, 'relay-state');
    const received: Array<{ path: string; sha: string }> = [];
    const target = await startTarget(async (req, res) => {
      received.push({ path: req.url!, sha: sha256(await readBody(req)) });
      res.end('ok');
    });
    const agentArgs = (url: string): string[] => [String(target.port), '--json', '--forward-missed', '--relay', url, '--subdomain', 'durable'];

    const first = await relayProcess(0, ['--data-dir', dataDir]);
    const agent = runCli(agentArgs(first.url), { HOOKTUNNEL_HOME: home });
    await agent.waitForLine(/"type":"ready"/);
    await kill9(agent);
    await metricsUntil(first.url, (m) => m.tunnels === 0);

    const body = randomBytes(200 * 1024);
    const answer = await send(first.url, '/t/durable/hook?n=1', { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } });
    expect(answer.status).toBe(503);
    expect(answer.headers['x-hooktunnel-error']).toBe('agent_offline');
    expect(answer.body.toString()).toMatch(/this request was kept/);
    // Answered "kept" means committed: the relay dies at once, without a chance to write anything more.
    await kill9(first.cli);

    const second = await relayProcess(first.port, ['--data-dir', dataDir]);
    expect((await send(second.url, '/_hooktunnel/metrics')).body.toString()).toMatch(/"kept":1/);
    // The id is still its owner's: someone else's agent is refused.
    const stranger = runCli([String(target.port), '--json', '--relay', second.url, '--subdomain', 'durable']);
    expect(await stranger.exited()).toBe(1);
    expect(stranger.stderr() + stranger.stdout()).toMatch(/tunnel_taken|in use by another agent/);

    const back = runCli(agentArgs(second.url), { HOOKTUNNEL_HOME: home });
    const missed = JSON.parse(await back.waitForLine(/"type":"missed"/)) as Record<string, unknown>;
    expect(missed).toMatchObject({ path: '/hook?n=1', requestBytes: body.length });
    await back.waitForLine(/"path":"\/hook\?n=1".*"replayOf"/);
    expect(received).toEqual([{ path: '/hook?n=1', sha: sha256(body) }]);
    // Acknowledged, then deleted from the store.
    await metricsUntil(second.url, (m) => m.kept === 0);

    back.child.kill('SIGINT');
    await back.exited();
    await kill9(second.cli);
    const third = await relayProcess(first.port, ['--data-dir', dataDir]);
    const again = runCli(agentArgs(third.url), { HOOKTUNNEL_HOME: home });
    await again.waitForLine(/"type":"ready"/);
    await send(third.url, '/t/durable/live');
    await again.waitForLine(/"path":"\/live"/);
    expect(jsonLines(again).filter((e) => e.type === 'missed')).toEqual([]);
    expect(received.map((r) => r.path)).toEqual(['/hook?n=1', '/live']);
    await kill9(third.cli);

    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, 'relay.db')).mode & 0o777).toBe(0o600);
    const db = new Database(join(dataDir, 'relay.db'), { readonly: true });
    onTestFinished(() => void db.close());
    expect(db.prepare('SELECT COUNT(*) AS n FROM kept').get()).toEqual({ n: 0 });
  });

  it('keeps a request still waiting for its agent when the relay is stopped with SIGTERM, and delivers it after the restart', { timeout: 30_000 }, async () => {
    const home = tempHome();
    const dataDir = join(home, 'relay-state');
    const target = await startTarget((_req, res) => res.end('ok'));
    const agentArgs = (url: string): string[] => [String(target.port), '--json', '--relay', url, '--subdomain', 'patient'];
    const first = await relayProcess(0, ['--data-dir', dataDir, '--offline-wait', '30']);
    const agent = runCli(agentArgs(first.url), { HOOKTUNNEL_HOME: home });
    await agent.waitForLine(/"type":"ready"/);
    await kill9(agent);
    await metricsUntil(first.url, (m) => m.tunnels === 0);

    const answer = send(first.url, '/t/patient/waiting', { method: 'POST', body: 'wait for me' });
    await metricsUntil(first.url, (m) => m.waiting === 1);
    first.cli.child.kill('SIGTERM');
    const res = await answer;
    expect(res.status).toBe(503);
    expect(res.body.toString()).toMatch(/this request was kept/);
    expect(await first.cli.exited()).toBe(0);

    const second = await relayProcess(first.port, ['--data-dir', dataDir]);
    const back = runCli(agentArgs(second.url), { HOOKTUNNEL_HOME: home });
    expect(JSON.parse(await back.waitForLine(/"type":"missed"/))).toMatchObject({ path: '/waiting', requestBytes: 11 });
  });

  it('by default in a relay/ folder of the data directory; with --memory, a kill -9 forgets the tunnel and what was kept', { timeout: 30_000 }, async () => {
    const home = tempHome();
    const target = await startTarget((_req, res) => res.end('ok'));
    const durable = runCli(['relay', '--host', '127.0.0.1', '--port', '0'], { HOOKTUNNEL_HOME: home });
    await durable.waitForLine(/listening/);
    expect(durable.stderr()).toContain(`state in ${join(home, 'relay', 'relay.db')}`);
    expect(statSync(join(home, 'relay')).mode & 0o777).toBe(0o700);
    // A second relay on the same data directory is refused, with the reason.
    const twin = runCli(['relay', '--host', '127.0.0.1', '--port', '0'], { HOOKTUNNEL_HOME: home });
    expect(await twin.exited()).toBe(1);
    expect(twin.stderr()).toMatch(/another relay process is using it \(one relay per data directory\)/);
    await kill9(durable);

    const first = await relayProcess(0, ['--memory']);
    expect(first.cli.stderr()).toMatch(/state in memory/);
    const agent = runCli([String(target.port), '--json', '--relay', first.url, '--subdomain', 'fleeting'], { HOOKTUNNEL_HOME: home });
    await agent.waitForLine(/"type":"ready"/);
    await kill9(agent);
    await metricsUntil(first.url, (m) => m.tunnels === 0);
    expect((await send(first.url, '/t/fleeting/x', { method: 'POST', body: 'gone' })).headers['x-hooktunnel-error']).toBe('agent_offline');
    await kill9(first.cli);
    const second = await relayProcess(first.port, ['--memory']);
    expect((await send(second.url, '/t/fleeting/x')).headers['x-hooktunnel-error']).toBe('tunnel_not_found');
    expect(() => statSync(join(home, 'relay', 'relay.db'))).not.toThrow();
  });

  it('refuses --memory with --data-dir, and imports a --state-file into the store with a message', { timeout: 30_000 }, async () => {
    const home = tempHome();
    const both = runCli(['relay', '--port', '0', '--memory', '--data-dir', join(home, 'd')]);
    expect(await both.exited()).toBe(2);
    expect(both.stderr()).toMatch(/--memory and --data-dir go apart/);
    const file = join(home, 'a-file');
    writeFileSync(file, '');
    const underFile = runCli(['relay', '--port', '0', '--data-dir', join(file, 'relay')]);
    expect(await underFile.exited()).toBe(1);
    expect(underFile.stderr()).toMatch(/cannot create the relay data directory .*a-file\/relay: ENOTDIR/);

    const stateFile = join(home, 'relay-state.json');
    const target = await startTarget((_req, res) => res.end('ok'));
    const old = await relayProcess(0, ['--memory', '--state-file', stateFile]);
    const agent = runCli([String(target.port), '--json', '--relay', old.url, '--subdomain', 'moved'], { HOOKTUNNEL_HOME: home });
    await agent.waitForLine(/"type":"ready"/);
    agent.child.kill('SIGINT');
    await agent.exited();
    old.cli.child.kill('SIGTERM');
    expect(await old.cli.exited()).toBe(0);

    const next = await relayProcess(old.port, ['--data-dir', join(home, 'relay-data'), '--state-file', stateFile]);
    expect(next.cli.stderr()).toMatch(/imported 1 tunnel id\(s\) from the state file .*relay-state\.json into .*relay\.db; the file is now .*relay-state\.json\.migrated/);
    const stranger = runCli([String(target.port), '--json', '--relay', next.url, '--subdomain', 'moved']);
    expect(await stranger.exited()).toBe(1);
    const owner = runCli([String(target.port), '--json', '--relay', next.url, '--subdomain', 'moved'], { HOOKTUNNEL_HOME: home });
    expect(JSON.parse(await owner.waitForLine(/"type":"ready"/))).toMatchObject({ tunnel: 'moved' });
  });

  it('answers clearly when its store fails: a request it cannot keep is said not to be kept, a failed lookup is 503 relay_store_unavailable', async () => {
    const base = memoryStore({ reservationMs: 60_000, offline: { ...DEFAULT_OFFLINE_LIMITS, waitMs: 0 }, limits: LIMITS, onNotice: () => {}, onStateError: () => {} });
    const broken = new Error('disk I/O error');
    const store: RelayStore = {
      ...base,
      directory: { ...base.directory, claim: (...a) => base.directory.claim(...a), release: (...a) => base.directory.release(...a), sweep: () => base.directory.sweep(), lookup: async (id) => (id === 'unreadable' ? Promise.reject(broken) : base.directory.lookup(id)) },
      inbox: { ...base.inbox, keep: () => Promise.reject(broken), refuse: () => Promise.resolve(), pending: (t) => base.inbox.pending(t), ack: () => Promise.resolve(), forget: () => Promise.resolve(), expire: () => Promise.resolve(0), counts: () => base.inbox.counts() },
    };
    const errors: string[] = [];
    const relay = await startRelay({ store, offline: { waitMs: 0 }, onStateError: (err) => errors.push(err.message) });
    const target = await startTarget((_req, res) => res.end('ok'));
    const agent = await connectAgent({ relay: relay.url, target: target.url, subdomain: 'fragile' });
    await agent.close();
    for (let i = 0; i < 300 && relay.stats().tunnels > 0; i++) await new Promise((r) => setTimeout(r, 10));

    const notKept = await send(relay.url, '/t/fragile/x', { method: 'POST', body: 'lost?' });
    expect(notKept.status).toBe(503);
    expect(notKept.headers['x-hooktunnel-error']).toBe('agent_offline');
    expect(notKept.body.toString()).toMatch(/could not store this request; it was not kept/);
    const unknown = await send(relay.url, '/t/unreadable/x');
    expect(unknown.status).toBe(503);
    expect(unknown.headers['x-hooktunnel-error']).toBe('relay_store_unavailable');
    expect(errors).toEqual(['disk I/O error', 'disk I/O error']);
  });
});
