import { randomBytes } from 'node:crypto';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { attachRecorder, openCaptureStore } from '../../src/index.js';
import { readBody, runCli, startTarget, startTunnel } from '../helpers/servers.js';
import { send, splitPublicUrl, valuesOf } from '../helpers/http.js';
import { agentFor, cli, dataDir, lines, recordingTarget, requestIds } from './capture-fixtures.js';

interface Shown {
  complete: boolean;
  request: { method: string; path: string; headers: string[][]; bodyBase64: string; bodyBytes: number; truncated: boolean };
  response: { status: number; headers: string[][]; bodyBase64: string } | null;
}

const show = async (id: string, dir: string): Promise<Shown> => JSON.parse((await cli(['show', id, '--json'], dir)).out) as Shown;

describe('capture', () => {
  it('records traffic through a relay and an agent (library API); another process lists and shows it', async () => {
    const dir = dataDir();
    const { agent, target } = await startTunnel((req, res) => {
      res.setHeader('content-type', 'application/json');
      req.resume().on('end', () => res.end('{"received":true}'));
    });
    const store = openCaptureStore(dir);
    onTestFinished(() => store.close());
    const ids: string[] = [];
    agent.events.on('request', (e) => ids.push(e.id));
    attachRecorder(agent.events, store, (err) => {
      throw err;
    });
    const { base, prefix } = splitPublicUrl(agent.publicUrl);
    const body = '{"action":"opened","number":1}';
    // Headers as a raw list (repeats kept): node then adds no Host of its own.
    const sent = await send(base, `${prefix}/hooks/github?delivery=1`, { method: 'POST', body, headers: ['Host', new URL(base).host, 'Content-Type', 'application/json', 'X-Hub-Signature-256', 'sha256=abc', 'X-Dup', '1', 'X-Dup', '2'] });
    expect(sent.status).toBe(200);

    const rows = lines((await cli(['requests', '--json'], dir)).out);
    const shown = await show(ids[0]!, dir);
    const text = (await cli(['show', ids[0]!.slice(0, 5)], dir)).out;

    expect(rows).toEqual([{ id: ids[0], time: expect.stringMatching(/^\d{4}-.*Z$/), tunnel: agent.tunnelId, method: 'POST', path: '/hooks/github?delivery=1', status: 200, durationMs: expect.any(Number), replayOf: null, target: target.url }]);
    const ours = new Set(['Host', 'Content-Type', 'X-Hub-Signature-256', 'X-Dup']);
    expect(shown.request.headers.filter(([n]) => ours.has(n!))).toEqual([
      ['Host', new URL(target.url).host],
      ['Content-Type', 'application/json'], ['X-Hub-Signature-256', 'sha256=abc'], ['X-Dup', '1'], ['X-Dup', '2'],
    ]);
    expect(Buffer.from(shown.request.bodyBase64, 'base64').toString()).toBe(body);
    expect(Buffer.from(shown.response!.bodyBase64, 'base64').toString()).toBe('{"received":true}');
    expect(text).toContain('"action": "opened"');
    expect(text).toContain('X-Hub-Signature-256: sha256=abc');
  });

  it('the CLI agent records while another process reads; binary bodies byte-exact; control characters escaped', async () => {
    const dir = dataDir();
    const { target } = await recordingTarget();
    const { agent, base, prefix } = await agentFor(target.port, dir);
    const binary = Buffer.concat([randomBytes(200_000), Buffer.from([0, 0xff])]);
    await send(base, `${prefix}/bin`, { method: 'PUT', body: binary, headers: { 'x-evil': 'a\x9b2Jb' } });
    await agent.waitForLine(/"path":"\/bin"/);
    const [id] = requestIds(agent);

    const human = await cli(['requests'], dir);
    const shown = await show(id!, dir);
    const text = (await cli(['show', id!], dir)).out;

    expect(human.out).toMatch(/PUT\s+\/bin\s+200/);
    expect(Buffer.from(shown.request.bodyBase64, 'base64').equals(binary)).toBe(true);
    expect(text).toMatch(/binary, 195\.3 KB:\n00000000 {2}[0-9a-f]{2} /);
    // \x9b is the one-byte CSI: raw, it would start a terminal escape sequence.
    expect(text).toContain('x-evil: a\\x9b2Jb');
    expect(text).not.toContain('\x9b');
  });

  it('survives kill -9 of the agent: every exchange it reported reads back complete and intact', async () => {
    const dir = dataDir();
    const { target } = await recordingTarget();
    const { agent, base, prefix } = await agentFor(target.port, dir);
    const bodies = Array.from({ length: 30 }, (_, i) => randomBytes(i % 3 === 0 ? 150_000 + i : 500 + i * 37));
    await Promise.all(bodies.map((b, i) => send(base, `${prefix}/e${i}`, { method: 'POST', body: b })));
    for (let i = 0; i < bodies.length; i++) await agent.waitForLine(new RegExp(`"path":"/e${i}"`));

    agent.child.kill('SIGKILL');
    await agent.exited();
    const rows = lines((await cli(['requests', '--json', '--limit', '100'], dir)).out);

    expect(rows.map((r) => r.path).sort()).toEqual(bodies.map((_, i) => `/e${i}`).sort());
    for (const row of rows) {
      const shown = await show(String(row.id), dir);
      expect(shown.complete).toBe(true);
      expect(Buffer.from(shown.request.bodyBase64, 'base64').equals(bodies[Number(String(row.path).slice(2))]!)).toBe(true);
    }
  });

  it('kill -9 mid-upload: earlier exchanges read back intact; the one in flight is incomplete with what arrived, and replay and export say so', async () => {
    const dir = dataDir();
    const arrived = { bytes: 0, enough: () => {} };
    const target = await startTarget((req, res) => {
      if (req.url !== '/inflight') return void readBody(req).then(() => res.end('ok'));
      // Never answered: the agent is killed while this body is still arriving.
      req.on('data', (c: Buffer) => (arrived.bytes += c.length) >= 256 * 1024 && arrived.enough());
    });
    const { agent, base, prefix } = await agentFor(target.port, dir);
    const before = [randomBytes(700), randomBytes(200_000)];
    for (const [i, body] of before.entries()) await send(base, `${prefix}/before${i}`, { method: 'POST', body });
    await agent.waitForLine(/"path":"\/before1"/);
    const { port } = new URL(base);
    const upload = request({ host: '127.0.0.1', port, method: 'POST', path: `${prefix}/inflight`, headers: { 'content-length': String(1024 * 1024) } });
    upload.on('error', () => {});
    const enough = new Promise<void>((resolve) => (arrived.enough = resolve));
    upload.write(randomBytes(320 * 1024));
    // The agent stores each 64 KiB of a large body before it forwards it: what the target has, the store has.
    await enough;

    agent.child.kill('SIGKILL');
    await agent.exited();
    upload.destroy();
    const rows = lines((await cli(['requests', '--json'], dir)).out);
    const inflight = await show(String(rows[2]!.id), dir);
    const text = (await cli(['show', String(rows[2]!.id)], dir)).out;
    const replayed = await cli(['replay', String(rows[2]!.id)], dir);
    const curl = await cli(['export', '--format', 'curl', String(rows[2]!.id)], dir);

    expect(rows.map((r) => r.path)).toEqual(['/before0', '/before1', '/inflight']);
    for (const [i, body] of before.entries()) {
      const shown = await show(String(rows[i]!.id), dir);
      expect(shown.complete).toBe(true);
      expect(Buffer.from(shown.request.bodyBase64, 'base64').equals(body)).toBe(true);
    }
    const stored = Buffer.from(inflight.request.bodyBase64, 'base64');
    expect(inflight.complete).toBe(false);
    expect(stored.length).toBeGreaterThanOrEqual(128 * 1024);
    expect(inflight.request.bodyBytes).toBe(stored.length);
    expect(text).toMatch(/incomplete \(in flight when the agent stopped\)/);
    expect(text).toMatch(/binary, \d+\.\d KB:/);
    expect(replayed).toMatchObject({ code: 1, err: expect.stringMatching(/in flight when the agent stopped: only [\d.]+ KB of its 1\.0 MB body had arrived; pass --body FILE/) });
    expect(curl.code).toBe(0);
    expect(curl.err).toMatch(/warning capture \w+: it was in flight when the agent stopped/);
  });

  it('kill -9 while the target holds a chunked request: one whose body arrived whole replays (with a Content-Length); one cut short is refused', async () => {
    const dir = dataDir();
    const whole = randomBytes(300 * 1024);
    const signals = { whole: () => {}, cut: () => {} };
    let cutBytes = 0;
    // Never answered: the agent is killed while the target holds both requests.
    const target = await startTarget((req) => {
      if (req.url === '/whole') return void readBody(req).then(() => signals.whole());
      req.on('data', (c: Buffer) => (cutBytes += c.length) >= 256 * 1024 && signals.cut());
    });
    const { target: second, seen } = await recordingTarget();
    const { agent, base, prefix } = await agentFor(target.port, dir);
    const { port } = new URL(base);
    const upload = (path: string) => {
      // No Content-Length: node sends the body chunked.
      const r = request({ host: '127.0.0.1', port, method: 'POST', path: `${prefix}${path}` });
      r.on('error', () => {});
      onTestFinished(() => void r.destroy());
      return r;
    };
    const arrived = Promise.all([new Promise<void>((resolve) => (signals.whole = resolve)), new Promise<void>((resolve) => (signals.cut = resolve))]);
    const w = upload('/whole');
    for (let at = 0; at < whole.length; at += 50 * 1024) w.write(whole.subarray(at, at + 50 * 1024));
    w.end();
    upload('/cut').write(randomBytes(320 * 1024));
    // The agent stores the end of a request body before it passes it on: what the target has, the store has.
    await arrived;

    agent.child.kill('SIGKILL');
    await agent.exited();
    const rows = lines((await cli(['requests', '--json'], dir)).out);
    const id = (path: string): string => String(rows.find((r) => r.path === path)!.id);
    const replayed = await cli(['replay', id('/whole'), '--to', String(second.port)], dir);
    const refused = await cli(['replay', id('/cut'), '--to', String(second.port)], dir);

    expect(rows.map((r) => r.path).sort()).toEqual(['/cut', '/whole']);
    expect(replayed.code, replayed.err).toBe(0);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.body.equals(whole)).toBe(true);
    expect(valuesOf(seen[0]!.headers, 'content-length')).toEqual([String(whole.length)]);
    expect(valuesOf(seen[0]!.headers, 'transfer-encoding')).toEqual([]);
    expect(refused).toMatchObject({ code: 1, err: expect.stringMatching(/in flight when the agent stopped: only [\d.]+ KB body had arrived; pass --body FILE/) });
  });

  it('ids by unique prefix; unknown, malformed and ambiguous ids exit 1 with a clear message', async () => {
    const dir = dataDir();
    const { target } = await recordingTarget();
    const { agent, base, prefix } = await agentFor(target.port, dir);
    for (let i = 0; i < 40; i++) await send(base, `${prefix}/${i}`);
    await agent.waitForLine(/"path":"\/39"/);
    const ids = requestIds(agent);
    const shared = ids.map((id) => id[0]).find((c, i, all) => all.indexOf(c) !== i)!;

    const unknown = await cli(['show', 'zzzzzzzzzzzz'], dir);
    const malformed = await cli(['replay', 'AB-1'], dir);
    const ambiguous = await cli(['export', shared], dir);
    const unique = await cli(['show', ids[7]!.slice(0, 9), '--json'], dir);

    expect(unknown).toMatchObject({ code: 1, err: expect.stringMatching(/no capture with an id starting with "zzzzzzzzzzzz"/) });
    expect(malformed).toMatchObject({ code: 1, err: expect.stringMatching(/"AB-1" is not a capture id/) });
    expect(ambiguous).toMatchObject({ code: 1, err: expect.stringMatching(new RegExp(`"${shared}" is ambiguous: it starts `)) });
    expect(JSON.parse(unique.out)).toMatchObject({ id: ids[7], request: { path: '/7' } });
  });

  it('keeps the store private, marks truncated bodies, and removes the oldest beyond --retain', async () => {
    const dir = dataDir();
    const { target } = await recordingTarget();
    const { agent, base, prefix } = await agentFor(target.port, dir, ['--capture-max-body', '1000', '--retain', '3']);
    for (let i = 0; i < 6; i++) await send(base, `${prefix}/r${i}`, { method: 'POST', body: Buffer.alloc(i === 5 ? 300_000 : 5000, i) });
    await agent.waitForLine(/"path":"\/r5"/);

    const rows = lines((await cli(['requests', '--json', '--limit', '100'], dir)).out);
    const shown = await show(String(rows[2]!.id), dir);
    const text = (await cli(['show', String(rows[1]!.id)], dir)).out;
    const listed = (await cli(['requests'], dir)).out;

    expect(rows.map((r) => r.path)).toEqual(['/r3', '/r4', '/r5']);
    expect(listed).toMatch(/\/r5 .* truncated/);
    expect(shown.request).toMatchObject({ bodyBytes: 300_000, truncated: true });
    expect(Buffer.from(shown.request.bodyBase64, 'base64').equals(Buffer.alloc(1000, 5))).toBe(true);
    expect(text).toMatch(/stored 1000 B of 4\.9 KB: truncated at the capture limit/);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const f of ['captures.db', 'captures.db-wal', 'captures.db-shm', 'tunnels.json']) expect(statSync(join(dir, f)).mode & 0o777, f).toBe(0o600);
  });

  it('forwarding goes on with one warning when the store cannot be opened; --no-capture records nothing', async () => {
    const { target } = await recordingTarget();
    const blocker = join(dataDir(), '..', 'a-file');
    writeFileSync(blocker, '');
    const broken = await agentFor(target.port, join(blocker, 'data'));
    const off = dataDir();
    const quiet = await agentFor(target.port, off, ['--no-capture']);

    expect((await send(broken.base, `${broken.prefix}/still`)).status).toBe(200);
    expect((await send(quiet.base, `${quiet.prefix}/off`)).status).toBe(200);
    await quiet.agent.waitForLine(/"path":"\/off"/);

    expect(broken.agent.stderr().match(/captures are not recorded/g)).toHaveLength(1);
    expect(existsSync(join(off, 'captures.db'))).toBe(false);
    expect(await cli(['requests'], off)).toMatchObject({ code: 0, out: '', err: expect.stringMatching(/no captures yet/) });
  });

  it('bad capture options exit 2', async () => {
    for (const args of [['3000', '--capture-max-body', 'lots'], ['3000', '--retain', '0'], ['requests', '--limit', '-1'], ['replay', 'abc', '--header', 'no colon'], ['replay', 'abc', '--to', 'ftp://x'], ['export', '--format', 'xml']]) {
      const p = runCli(args);
      expect(await p.exited(), args.join(' ')).toBe(2);
    }
  });

  it('records requests that arrived while the agent was away, once, marked missed', { timeout: 40_000 }, async () => {
    const dir = dataDir();
    const { target } = await recordingTarget();
    const relay = runCli(['relay', '--host', '127.0.0.1', '--port', '0', '--offline-wait', '0']);
    const relayUrl = `http://127.0.0.1:${/:(\d+)$/.exec(await relay.waitForLine(/listening/))![1]}`;
    const first = await agentFor(target.port, dir, ['--relay', relayUrl]);
    first.agent.child.kill('SIGKILL');
    await first.agent.exited();
    for (const i of [1, 2, 3]) expect((await send(first.base, `${first.prefix}/away${i}`, { method: 'POST', body: `m${i}` })).status).toBe(503);

    const second = await agentFor(target.port, dir, ['--relay', relayUrl]);
    await second.agent.waitForLine(/"type":"missed".*away3/);
    second.agent.child.kill('SIGINT');
    await second.agent.exited();
    const third = await agentFor(target.port, dir, ['--relay', relayUrl]);
    await send(third.base, `${third.prefix}/live`);
    await third.agent.waitForLine(/"path":"\/live"/);

    const rows = lines((await cli(['requests', '--json'], dir)).out);
    expect(rows.map((r) => `${r.path} ${r.status}`)).toEqual(['/away1 503', '/away2 503', '/away3 503', '/live 200']);
    expect((await cli(['show', String(rows[0]!.id)], dir)).out).toMatch(/missed while offline/);
  });
});
