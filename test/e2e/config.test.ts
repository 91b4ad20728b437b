import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { send, splitPublicUrl } from '../helpers/http.js';
import { EventEmitter } from 'node:events';
import type { AgentEventMap } from '../../src/agent/events.js';
import { parseTarget } from '../../src/agent/target.js';
import { attachReporter } from '../../src/ui/reporter.js';
import { readBody, runCli, startAgent, startRelay, startTarget } from '../helpers/servers.js';
import { cli, lines } from './capture-fixtures.js';

function project(yaml: string): { dir: string; data: string } {
  const dir = mkdtempSync(join(tmpdir(), 'hooktunnel-project-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'hooktunnel.yaml'), yaml);
  return { dir, data: join(dir, '.captures') };
}

/** A local service that answers with its name and what it got. */
async function service(name: string, hits: string[]): Promise<number> {
  const target = await startTarget(async (req, res) => {
    const body = await readBody(req);
    hits.push(`${name} ${req.method} ${req.url} ${body.toString()}`);
    res.end(`${name}:${req.url}`);
  });
  return target.port;
}

describe('hooktunnel with a config file', () => {
  it('two tunnels, routes by path, header, JSON body field and default to three services; mock and fail; ${VAR}; one store', { timeout: 40_000 }, async () => {
    const hits: string[] = [];
    const [a, b, c] = [await service('a', hits), await service('b', hits), await service('c', hits)];
    const { dir, data } = project(`
dataDir: .captures
tunnels:
  hooks:
    routes:
      - name: stripe-invoices
        match: { path: /stripe, body: { type: "invoice.*" } }
        to: \${PORT_B}
      - name: gh-push
        match: { header: { X-GitHub-Event: push } }
        to: 127.0.0.1:${c}
      - name: slack-check
        match: { method: GET, path: /slack }
        mode: mock
        mock: { status: 200, headers: { Content-Type: text/plain }, body: challenge-ok }
      - name: broken
        match: { path: /broken }
        mode: fail
        fail: { status: 500 }
      - name: default
        to: ${a}
  admin:
    routes:
      - match: { path: /admin }
        to: ${a}
    noMatch: { status: 418, body: teapot }
`);
    const agent = runCli(['--json'], { PORT_B: String(b) }, dir);
    const readies = [JSON.parse(await agent.waitForLine(/"type":"ready".*"name":"hooks"|"name":"hooks".*"type":"ready"/)), JSON.parse(await agent.waitForLine(/"name":"admin".*"type":"ready"/))] as Array<{ url: string; name: string }>;
    const hooks = splitPublicUrl(readies[0]!.url);
    const admin = splitPublicUrl(readies[1]!.url);

    const answers = [
      await send(hooks.base, `${hooks.prefix}/stripe`, { method: 'POST', body: '{"type":"invoice.paid"}', headers: { 'content-type': 'application/json' } }),
      await send(hooks.base, `${hooks.prefix}/stripe`, { method: 'POST', body: '{"type":"charge.succeeded"}' }),
      await send(hooks.base, `${hooks.prefix}/gh`, { method: 'POST', body: 'push!', headers: { 'x-github-event': 'push' } }),
      await send(hooks.base, `${hooks.prefix}/slack`),
      await send(hooks.base, `${hooks.prefix}/broken`, { method: 'POST', body: 'x' }),
      await send(admin.base, `${admin.prefix}/admin/x`),
      await send(admin.base, `${admin.prefix}/other`),
    ];
    await agent.waitForLine(/"path":"\/other"/);

    expect(answers.map((r) => `${r.status} ${r.body.toString()}`)).toEqual([
      '200 b:/stripe', '200 a:/stripe', '200 c:/gh', '200 challenge-ok', '500 ', '200 a:/admin/x', '418 teapot',
    ]);
    expect(hits.sort()).toEqual(['a GET /admin/x ', 'a POST /stripe {"type":"charge.succeeded"}', 'b POST /stripe {"type":"invoice.paid"}', 'c POST /gh push!'].sort());
    const events = lines(agent.stdout()).filter((e) => e.type === 'request');
    expect(events.map((e) => `${e.name} ${e.path} ${e.route}`)).toEqual([
      'hooks /stripe stripe-invoices', 'hooks /stripe default', 'hooks /gh gh-push', 'hooks /slack slack-check', 'hooks /broken broken', 'admin /admin/x #1', 'admin /other no route',
    ]);
    expect(events.map((e) => e.mode)).toEqual(['passthrough', 'passthrough', 'passthrough', 'mock', 'fail', 'passthrough', 'fail']);
    const rows = lines((await cli(['requests', '--json', '--limit', '20'], data)).out);
    expect(rows.map((r) => `${r.path} ${r.status}`)).toEqual(['/stripe 200', '/stripe 200', '/gh 200', '/slack 200', '/broken 500', '/admin/x 200', '/other 418']);

    // Each capture knows its tunnel (name and id), route, mode and target.
    expect(rows.map((r) => `${r.name} ${r.route} ${r.mode} ${r.target}`)).toEqual([
      `hooks stripe-invoices passthrough http://localhost:${b}`, `hooks default passthrough http://localhost:${a}`, `hooks gh-push passthrough http://127.0.0.1:${c}`,
      'hooks slack-check mock mock (route slack-check)', 'hooks broken fail fail (route broken)', `admin #1 passthrough http://localhost:${a}`, 'admin no route fail fail (route no route)',
    ]);
    expect(new Set(rows.filter((r) => r.name === 'admin').map((r) => r.tunnel))).toEqual(new Set([admin.prefix.split('/').pop()]));
    const byRoute = lines((await cli(['requests', '--json', '--route', 'gh-push'], data)).out);
    expect(byRoute.map((r) => `${r.path} ${r.route}`)).toEqual(['/gh gh-push']);
    const byTunnel = lines((await cli(['requests', '--json', '--tunnel', 'admin'], data)).out);
    expect(byTunnel.map((r) => r.path)).toEqual(['/admin/x', '/other']);
    const both = lines((await cli(['requests', '--json', '--tunnel', 'admin', '--route', 'stripe-invoices'], data)).out);
    expect(both).toEqual([]);
    const text = (await cli(['requests', '--route', 'slack-check'], data)).out;
    expect(text.trim().split('\n')).toHaveLength(1);
    expect(text).toContain('hooks/slack-check mock');
    const shown = JSON.parse((await cli(['show', '--json', String(rows[0]!.id)], data)).out) as Record<string, unknown>;
    expect(shown).toMatchObject({ name: 'hooks', route: 'stripe-invoices', mode: 'passthrough', target: `http://localhost:${b}` });
    const shownText = (await cli(['show', String(rows[3]!.id)], data)).out;
    expect(shownText).toMatch(/tunnel hooks \([a-z0-9]+\) +target mock \(route slack-check\) +route slack-check \(mock\)/);
  });

  it('ack: the sender gets 202 at once; the target, down for two attempts, gets it on the third; every attempt captured', { timeout: 40_000 }, async () => {
    let calls = 0;
    const got: string[] = [];
    const target = await startTarget(async (req, res) => {
      const body = await readBody(req);
      calls++;
      if (calls <= 2) return void res.writeHead(503).end('not yet');
      got.push(body.toString());
      res.end('done');
    });
    const { dir, data } = project(`
dataDir: .captures
tunnels:
  slack:
    routes:
      - name: commands
        to: ${target.port}
        mode: ack
        ack: { status: 200, body: "on it" }
        retry: { attempts: 4, delays: [100ms, 200ms] }
`);
    const agent = runCli(['--json'], {}, dir);
    const { url } = JSON.parse(await agent.waitForLine(/"type":"ready"/)) as { url: string };
    const { base, prefix } = splitPublicUrl(url);
    const answer = await send(base, `${prefix}/cmd`, { method: 'POST', body: 'text=deploy' });
    await agent.waitForLine(/"status":200.*"replayOf"|"replayOf".*"status":200/);

    expect(`${answer.status} ${answer.body.toString()}`).toBe('200 on it');
    expect(calls).toBe(3);
    expect(got).toEqual(['text=deploy']);
    const requests = lines(agent.stdout()).filter((e) => e.type === 'request');
    const acked = requests.find((e) => e.replayOf === undefined)!;
    expect(requests.map((e) => e.status)).toEqual([200, 503, 503, 200]);
    expect(requests.slice(1).every((e) => e.replayOf === acked.id)).toBe(true);
    const rows = lines((await cli(['requests', '--json', '--limit', '20'], data)).out);
    expect(rows.map((r) => `${r.status} ${r.replayOf === null ? '-' : 'retry'}`)).toEqual(['200 -', '503 retry', '503 retry', '200 retry']);
    expect(rows.map((r) => (r.ackAttempt ? `${(r.ackAttempt as { n: number }).n}/${(r.ackAttempt as { of: number }).of} ${r.delivery}` : '-'))).toEqual(['-', '1/4 retrying', '2/4 retrying', '3/4 delivered']);
    expect(requests.slice(1).map((e) => e.delivery)).toEqual(['retrying', 'retrying', 'delivered']);
  });

  it('ack: a delivery that fails every attempt ends "failed, replayable" in requests and show', { timeout: 40_000 }, async () => {
    const target = await startTarget((_req, res) => void res.writeHead(500).end('broken'));
    const { dir, data } = project(`
dataDir: .captures
tunnels:
  jobs:
    routes:
      - name: queue
        to: ${target.port}
        mode: ack
        retry: { attempts: 2, delays: [50ms] }
`);
    const agent = runCli(['--json'], {}, dir);
    const { url } = JSON.parse(await agent.waitForLine(/"type":"ready"/)) as { url: string };
    const { base, prefix } = splitPublicUrl(url);
    const answer = await send(base, `${prefix}/job`, { method: 'POST', body: 'x' });
    await agent.waitForLine(/"delivery":"failed"/);

    expect(answer.status).toBe(202);
    const rows = lines((await cli(['requests', '--json'], data)).out);
    expect(rows.map((r) => `${r.status} ${r.delivery ?? '-'}`)).toEqual(['202 -', '500 retrying', '500 failed']);
    const text = (await cli(['requests'], data)).out.trim().split('\n');
    expect(text[1]).toContain('attempt 1/2, retrying');
    expect(text[2]).toContain('attempt 2/2, failed, replayable');
    expect((await cli(['show', String(rows[2]!.id)], data)).out).toContain('delivery attempt 2/2, failed, replayable');
  });

  it('a config mistake exits 2 naming file, line and field; init writes a starter file and refuses to overwrite it', async () => {
    const { dir } = project('tunnels:\n  a:\n    to: 3000\n    hostheader: keep\n');
    const bad = runCli([], {}, dir);
    expect(await bad.exited()).toBe(2);
    expect(bad.stderr()).toContain('hooktunnel.yaml:4:5: tunnels.a: unknown key "hostheader" (did you mean "hostHeader"?)');

    const empty = mkdtempSync(join(tmpdir(), 'hooktunnel-init-'));
    onTestFinished(() => rmSync(empty, { recursive: true, force: true }));
    const none = runCli([], {}, empty);
    expect(await none.exited()).toBe(2);
    expect(none.stderr()).toContain('hooktunnel init');
    const init = runCli(['init'], {}, empty);
    expect(await init.exited()).toBe(0);
    const again = runCli(['init'], {}, empty);
    expect(await again.exited()).toBe(1);
    expect(again.stderr()).toContain('exists already');
    const both = runCli(['3000', '--config', join(empty, 'hooktunnel.yaml')], {}, empty);
    expect(await both.exited()).toBe(2);
  });

  it('a route mode switched at run time applies to the next request, is reported as a mode line, and is refused where it cannot run', async () => {
    const target = await startTarget((req, res) => void res.end(`target:${req.url}`));
    const relay = await startRelay();
    const events = new EventEmitter<AgentEventMap>();
    const out: string[] = [];
    events.once('ready', (ready) => attachReporter(events, ready, { json: true, embedded: false }, { out: { write: (t) => void out.push(t) }, err: { write: () => {} } }));
    const agent = await startAgent(relay, target.url, {
      events,
      routes: [
        { name: 'main', when: { path: '/main' }, mode: 'passthrough', target: parseTarget(target.url), answers: { mock: { status: 201, headers: [], body: Buffer.from('mocked') } } },
        { name: 'canned', when: {}, mode: 'mock', answer: { status: 200, headers: [], body: Buffer.from('canned') } },
      ],
    });
    const { base, prefix } = splitPublicUrl(agent.publicUrl);
    const answer = async (path: string): Promise<string> => {
      const r = await send(base, `${prefix}${path}`);
      return `${r.status} ${r.body.toString()}`;
    };

    expect(await answer('/main/1')).toBe('200 target:/main/1');
    agent.setMode('main', 'mock');
    expect(await answer('/main/2')).toBe('201 mocked');
    agent.setMode('main', 'fail');
    expect(await answer('/main/3')).toBe('503 ');
    agent.setMode('main', 'passthrough');
    expect(await answer('/main/4')).toBe('200 target:/main/4');

    expect(agent.routes()).toEqual([
      { name: 'main', mode: 'passthrough', modes: ['passthrough', 'ack', 'mock', 'fail'] },
      { name: 'canned', mode: 'mock', modes: ['mock', 'fail'] },
    ]);
    expect(() => agent.setMode('canned', 'passthrough')).toThrow(/route canned cannot passthrough: it has no "to"/);
    expect(() => agent.setMode('nope', 'mock')).toThrow(/no route "nope"/);
    const modes = out.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.type === 'mode');
    expect(modes).toEqual([
      { type: 'mode', route: 'main', mode: 'mock', previous: 'passthrough' },
      { type: 'mode', route: 'main', mode: 'fail', previous: 'mock' },
      { type: 'mode', route: 'main', mode: 'passthrough', previous: 'fail' },
    ]);
    const requests = out.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.type === 'request');
    expect(requests.map((e) => `${e.route} ${e.mode} ${e.status}`)).toEqual(['main passthrough 200', 'main mock 201', 'main fail 503', 'main passthrough 200']);
  });
});
