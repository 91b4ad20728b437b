import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished, describe, expect, it } from 'vitest';
import { send, valuesOf } from '../helpers/http.js';
import { accept, SECRETS } from '../helpers/providers.js';
import { readBody, runCli, startTarget } from '../helpers/servers.js';
import { agentFor, cli, dataDir, lines, recordingTarget, requestIds, type Seen } from './capture-fixtures.js';

/** A scratch folder for fixture files, removed when the test finishes. */
function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hooktunnel-fixtures-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface FixtureFile {
  format: number;
  method: string;
  path: string;
  headers: Array<[string, string]>;
  body: unknown;
  bodyEncoding: string;
  provider?: string;
  event?: string;
  capturedAt?: string;
  response?: { status: number };
  secretsRemoved?: string[];
}

const readFixture = (file: string): FixtureFile => JSON.parse(readFileSync(file, 'utf8')) as FixtureFile;
const names = (f: FixtureFile): string[] => f.headers.map(([n]) => n.toLowerCase());

/** A target that records requests and answers 500 on paths starting /fail, 200 otherwise. */
async function judgingTarget(): Promise<{ port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const target = await startTarget(async (req, res) => {
    seen.push({ method: req.method!, url: req.url!, headers: req.rawHeaders, body: await readBody(req) });
    res.statusCode = req.url!.startsWith('/fail') ? 500 : 200;
    res.end('done');
  });
  return { port: target.port, seen };
}

describe('save and replay a fixture', () => {
  it('Stripe: saved without its signature, replayed with the same bytes and a fresh signature Stripe accepts; captured as a replay', async () => {
    const dir = dataDir();
    const files = scratch();
    const { target, seen } = await recordingTarget();
    const { agent } = await agentFor(target.port, dir, ['--verify', `stripe=${SECRETS.stripe}`]);
    const sent = await cli(['send', 'stripe', 'payment_intent.succeeded', '--path', '/hooks/stripe?src=test', '--secret', SECRETS.stripe], dir);
    expect(sent.code, sent.err).toBe(0);
    await agent.waitForLine(/"type":"request"/);
    const [id] = requestIds(agent);
    const original = seen[0]!;

    const saved = await cli(['save', id!, join(files, 'stripe.json')], dir);
    const again = await cli(['save', id!, join(files, 'stripe.json')], dir);
    const forced = await cli(['save', id!, join(files, 'stripe.json'), '--force'], dir);
    const replayed = await cli(['replay', join(files, 'stripe.json'), '--to', String(target.port), '--verify', `stripe=${SECRETS.stripe}`], dir);
    const pretty = await cli(['save', id!, join(files, 'pretty.json'), '--reserialize'], dir);

    expect(saved.code, saved.err).toBe(0);
    const f = readFixture(join(files, 'stripe.json'));
    expect(f).toMatchObject({ format: 1, method: 'POST', path: '/hooks/stripe?src=test', bodyEncoding: 'utf8', provider: 'stripe', event: 'payment_intent.succeeded', response: { status: 200 } });
    expect(Date.parse(f.capturedAt!)).toBeGreaterThan(Date.now() - 60_000);
    expect(f.body).toBe(original.body.toString('utf8'));
    expect(names(f)).not.toContain('stripe-signature');
    expect(f.secretsRemoved).toEqual(['Stripe-Signature']);
    expect(names(f)).toContain('user-agent');
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/exists; pass --force/);
    expect(forced.code).toBe(0);
    expect(pretty.code, pretty.err).toBe(0);
    expect(readFixture(join(files, 'pretty.json'))).toMatchObject({ reserialize: true, bodyEncoding: 'utf8', body: JSON.parse(original.body.toString()) });
    expect(replayed.code, replayed.err).toBe(0);
    expect(replayed.out).toMatch(/^200\s+stripe\.json  POST \/hooks\/stripe\?src=test/);
    expect(replayed.err).toMatch(/1 fixture: 1 passed, 0 failed/);
    const replay = seen[1]!;
    expect(replay.url).toBe('/hooks/stripe?src=test');
    expect(replay.body.equals(original.body)).toBe(true);
    expect(valuesOf(replay.headers, 'stripe-signature')[0]).not.toBe(valuesOf(original.headers, 'stripe-signature')[0]);
    expect(await accept.stripe({ headers: replay.headers, body: replay.body, url: '', nowMs: Date.now() })).toBe(true);
    // One byte more fails the same check: the check above can fail.
    expect(await accept.stripe({ headers: replay.headers, body: Buffer.concat([replay.body, Buffer.from(' ')]), url: '', nowMs: Date.now() })).toBe(false);
    const rows = lines((await cli(['requests', '--json'], dir)).out);
    expect(rows[1]).toMatchObject({ replayOf: 'stripe.json', status: 200, signature: { status: 'valid', provider: 'stripe' } });
  });

  it('GitHub: the default file name from provider and event, re-signed for Octokit; secrets kept only with --keep-secrets', async () => {
    const dir = dataDir();
    const files = scratch();
    const { target, seen } = await recordingTarget();
    const { agent, base, prefix } = await agentFor(target.port, dir);
    expect((await cli(['send', 'github', 'push', '--secret', SECRETS.github], dir)).code).toBe(0);
    await send(base, `${prefix}/private`, {
      method: 'POST', body: Buffer.from([0xff, 0x00, 0x80, 0x41]),
      headers: { authorization: 'Bearer s3cret', cookie: 'session=abc', 'x-api-key': 'k-123', 'x-keep': 'yes' },
    });
    await agent.waitForLine(/"path":"\/private"/);
    const [push, priv] = requestIds(agent);

    const saving = runCli(['save', push!, '--data-dir', dir], {}, files);
    const saved = { code: await saving.exited(), out: saving.stdout(), err: saving.stderr() };
    const hidden = await cli(['save', priv!, join(files, 'hidden.json')], dir);
    const kept = await cli(['save', priv!, join(files, 'kept.json'), '--keep-secrets'], dir);
    const unknown = await cli(['save', 'zzzz9999'], dir);

    expect(saved.code, saved.err).toBe(0);
    // Without a file name, `save` writes fixtures/<provider>-<event>.json in its working directory.
    expect(saved.out.trim()).toBe(join('fixtures', 'github-push.json'));
    const pushFile = join(files, 'fixtures', 'github-push.json');
    const f = readFixture(pushFile);
    expect(f).toMatchObject({ provider: 'github', event: 'push' });
    expect(names(f)).not.toContain('x-hub-signature-256');
    expect(names(f)).toContain('x-github-event');
    const h = readFixture(join(files, 'hidden.json'));
    expect(h).toMatchObject({ bodyEncoding: 'base64', body: Buffer.from([0xff, 0x00, 0x80, 0x41]).toString('base64') });
    expect(names(h)).not.toEqual(expect.arrayContaining(['authorization']));
    expect(names(h).filter((n) => ['authorization', 'cookie', 'x-api-key'].includes(n))).toEqual([]);
    expect(h.secretsRemoved).toEqual(['authorization', 'cookie', 'x-api-key']);
    expect(names(h)).toContain('x-keep');
    expect(kept.code).toBe(0);
    const k = readFixture(join(files, 'kept.json'));
    expect(k.headers).toEqual(expect.arrayContaining([['authorization', 'Bearer s3cret'], ['cookie', 'session=abc'], ['x-api-key', 'k-123']]));
    expect(k.secretsRemoved).toBeUndefined();
    expect(hidden.code).toBe(0);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/no capture with an id starting with "zzzz9999"/);

    const replayed = await cli(['replay', pushFile, '--to', String(target.port), '--verify', `github=${SECRETS.github}`, '--json'], dir);
    const binary = await cli(['replay', join(files, 'hidden.json'), '--to', String(target.port)], dir);

    expect(replayed.code, replayed.err).toBe(0);
    expect(lines(replayed.out)[0]).toMatchObject({ type: 'request', fixture: 'github-push.json', ok: true, signature: { status: 'valid', provider: 'github' } });
    const replay = seen[2]!;
    expect(replay.body.equals(seen[0]!.body)).toBe(true);
    expect(await accept.github({ headers: replay.headers, body: replay.body, url: '', nowMs: Date.now() })).toBe(true);
    expect(binary.code).toBe(0);
    expect(seen[3]!.body.equals(Buffer.from([0xff, 0x00, 0x80, 0x41]))).toBe(true);
    expect(valuesOf(seen[3]!.headers, 'authorization')).toEqual([]);
  });
});

describe('a folder of fixtures', () => {
  const fixture = (path: string, extra: Record<string, unknown> = {}): string =>
    JSON.stringify({ format: 1, method: 'POST', path, headers: [['Content-Type', 'application/json']], body: '{"n":1}', bodyEncoding: 'utf8', ...extra }, null, 2);

  it('replays every *.json in name order with a status per file and exits 1 when one fails; reserialize sends compact JSON', async () => {
    const dir = dataDir();
    const folder = scratch();
    const { port, seen } = await judgingTarget();
    writeFileSync(join(folder, 'b-fails.json'), fixture('/fail/b'));
    writeFileSync(join(folder, 'a-first.json'), fixture('/a', { reserialize: true, body: { pretty: [1, 2], nested: { ok: true } } }));
    writeFileSync(join(folder, 'c-binary.json'), fixture('/c', { body: Buffer.from([0, 1, 2, 254]).toString('base64'), bodyEncoding: 'base64' }));
    writeFileSync(join(folder, 'notes.txt'), 'not a fixture');

    const res = await cli(['replay', folder, '--to', String(port)], dir);

    expect(res.code).toBe(1);
    expect(seen.map((s) => s.url)).toEqual(['/a', '/fail/b', '/c']);
    expect(seen[0]!.body.toString()).toBe('{"pretty":[1,2],"nested":{"ok":true}}');
    expect(seen[2]!.body.equals(Buffer.from([0, 1, 2, 254]))).toBe(true);
    const out = res.out.trim().split('\n');
    expect(out).toHaveLength(3);
    expect(out[0]).toMatch(/^200\s+a-first\.json  POST \/a/);
    expect(out[1]).toMatch(/^500\s+b-fails\.json  POST \/fail\/b/);
    expect(out[2]).toMatch(/^200\s+c-binary\.json  POST \/c/);
    expect(res.err).toMatch(/3 fixtures: 2 passed, 1 failed/);
    const rows = lines((await cli(['requests', '--json'], dir)).out);
    expect(rows.map((r) => r.replayOf)).toEqual(['a-first.json', 'b-fails.json', 'c-binary.json']);
  });

  it('a target that cannot be reached fails the run (exit 1); all passing exits 0', async () => {
    const dir = dataDir();
    const folder = scratch();
    const { port } = await judgingTarget();
    writeFileSync(join(folder, 'one.json'), fixture('/one'));

    const refused = await cli(['replay', folder, '--to', '127.0.0.1:1'], dir);
    const fine = await cli(['replay', folder, '--to', String(port)], dir);

    expect(refused.code).toBe(1);
    expect(refused.out).toMatch(/^---\s+one\.json .*connection refused/m);
    expect(fine.code).toBe(0);
    expect(fine.err).toMatch(/1 fixture: 1 passed, 0 failed/);
  });

  it('an invalid fixture exits 2 naming the file and the field, and nothing is sent', async () => {
    const dir = dataDir();
    const folder = scratch();
    const { port, seen } = await judgingTarget();
    writeFileSync(join(folder, 'a-good.json'), fixture('/a'));
    writeFileSync(join(folder, 'b-bad.json'), JSON.stringify({ format: 1, method: 'POST', path: '/b', headers: [['X-Ok', 'yes'], ['X-Broken']], body: '', bodyEncoding: 'utf8' }));
    writeFileSync(join(folder, 'c-not-json.json'), '{"format": 1,');
    writeFileSync(join(folder, 'd-euro.json'), fixture('/d', { headers: [['X-Price', '5 €']] }));
    const lone = join(folder, 'lone');
    mkdirSync(lone);
    writeFileSync(join(lone, 'enc.json'), fixture('/x', { bodyEncoding: 'hex' }));

    const res = await cli(['replay', folder, '--to', String(port)], dir);
    const single = await cli(['replay', join(lone, 'enc.json'), '--to', String(port)], dir);
    const noTo = await cli(['replay', join(folder, 'a-good.json')], dir);
    const missing = await cli(['replay', join(folder, 'nope.json'), '--to', String(port)], dir);

    expect(res.code).toBe(2);
    expect(res.err).toContain(`${join(folder, 'b-bad.json')}: headers[1]: must be a [name, value] pair of strings`);
    expect(res.err).toContain(`${join(folder, 'c-not-json.json')}: (file): not JSON`);
    expect(res.err).toContain(`${join(folder, 'd-euro.json')}: headers[0]: the value of X-Price holds characters a header cannot carry`);
    expect(single.code).toBe(2);
    expect(single.err).toContain(`${join(lone, 'enc.json')}: bodyEncoding: must be "utf8" or "base64"`);
    expect(noTo.code).toBe(2);
    expect(noTo.err).toMatch(/--to is needed/);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/no such file or folder/);
    expect(seen).toEqual([]);
  });
});

describe('import a HAR file', () => {
  it('brings in what our own export wrote: same requests, responses and bytes, marked imported', async () => {
    const dir = dataDir();
    const files = scratch();
    const { target } = await recordingTarget();
    const { agent, base, prefix } = await agentFor(target.port, dir);
    const binary = Buffer.from([0, 0xff, 0x10, 0x80]);
    await send(base, `${prefix}/bin?x=1`, { method: 'PUT', body: binary, headers: { 'x-order': 'first' } });
    await send(base, `${prefix}/text`, { method: 'POST', body: 'hello', headers: { 'content-type': 'text/plain' } });
    await agent.waitForLine(/"path":"\/text"/);
    const har = join(files, 'ours.har');
    writeFileSync(har, (await cli(['export'], dir)).out);
    const other = dataDir();

    const res = await cli(['import', har], other);

    expect(res.code, res.err).toBe(0);
    expect(res.err).toMatch(/imported 2 entries/);
    const rows = lines((await cli(['requests', '--json'], other)).out);
    expect(rows.map((r) => [r.method, r.path, r.status, r.tunnel])).toEqual([['PUT', '/bin?x=1', 200, 'imported'], ['POST', '/text', 200, 'imported']]);
    expect((await cli(['requests'], other)).out).toMatch(/imported/);
    const shown = JSON.parse((await cli(['show', String(rows[0]!.id), '--json'], other)).out) as Record<string, any>;
    expect(Buffer.from(shown.request.bodyBase64, 'base64').equals(binary)).toBe(true);
    expect(shown.request.headers).toEqual(expect.arrayContaining([['x-order', 'first']]));
    expect(Buffer.from(shown.response.bodyBase64, 'base64').toString()).toBe('{"answer":"ok"}');
    expect(shown.target).toBe(`http://localhost:${target.port}`);
  });

  it('brings in a devtools HAR (pseudo-headers, postData.text, base64 content, a missing body, no response) and refuses a broken one', async () => {
    const dir = dataDir();
    const files = scratch();
    const devtools = {
      log: {
        version: '1.2', creator: { name: 'WebInspector', version: '537.36' },
        pages: [{ startedDateTime: '2026-03-01T10:00:00.000Z', id: 'page_1', title: 'https://shop.example/', pageTimings: {} }],
        entries: [
          {
            _initiator: { type: 'script' }, _priority: 'High', _resourceType: 'fetch', cache: {}, connection: '443', pageref: 'page_1',
            request: {
              method: 'POST', url: 'https://shop.example/api/orders?draft=1', httpVersion: 'http/2.0',
              headers: [{ name: ':authority', value: 'shop.example' }, { name: ':method', value: 'POST' }, { name: 'content-type', value: 'application/json' }, { name: 'accept', value: '*/*' }],
              queryString: [{ name: 'draft', value: '1' }], cookies: [], headersSize: -1, bodySize: 13,
              postData: { mimeType: 'application/json', text: '{"items":[1]}' },
            },
            response: {
              status: 201, statusText: '', httpVersion: 'http/2.0', headers: [{ name: 'content-type', value: 'image/png' }], cookies: [],
              content: { size: 4, mimeType: 'image/png', text: Buffer.from([0x89, 0x50, 0x4e, 0x47]).toString('base64'), encoding: 'base64' },
              redirectURL: '', headersSize: -1, bodySize: -1, _transferSize: 120,
            },
            serverIPAddress: '203.0.113.7', startedDateTime: '2026-03-01T10:00:01.250Z', time: 42.5, timings: { send: 0.1, wait: 40, receive: 2.4 },
          },
          {
            cache: {}, request: { method: 'GET', url: 'https://shop.example/big.js', httpVersion: 'http/2.0', headers: [], queryString: [], cookies: [], headersSize: -1, bodySize: 0 },
            response: { status: 200, statusText: '', httpVersion: 'http/2.0', headers: [], cookies: [], content: { size: 50000, mimeType: 'text/javascript' }, redirectURL: '', headersSize: -1, bodySize: -1 },
            startedDateTime: '2026-03-01T10:00:02.000Z', time: 5, timings: { send: 0, wait: 5, receive: 0 },
          },
          {
            cache: {}, request: { method: 'GET', url: 'https://shop.example/blocked', httpVersion: '', headers: [], queryString: [], cookies: [], headersSize: -1, bodySize: 0 },
            response: { status: 0, statusText: '', httpVersion: '', headers: [], cookies: [], content: { size: 0, mimeType: 'x-unknown' }, redirectURL: '', headersSize: -1, bodySize: -1, _error: 'net::ERR_BLOCKED_BY_CLIENT' },
            startedDateTime: '2026-03-01T10:00:03.000Z', time: 0, timings: { send: 0, wait: 0, receive: 0 },
          },
        ],
      },
    };
    const good = join(files, 'devtools.har');
    writeFileSync(good, JSON.stringify(devtools));
    const broken = join(files, 'broken.har');
    writeFileSync(broken, JSON.stringify({ log: { entries: [{ request: { method: 'GET' } }] } }));
    const notHar = join(files, 'other.json');
    writeFileSync(notHar, '{"hello": "world"}');

    const res = await cli(['import', good], dir);
    const bad = await cli(['import', broken], dir);
    const other = await cli(['import', notHar], dir);
    const absent = await cli(['import', join(files, 'absent.har')], dir);

    expect(res.code, res.err).toBe(0);
    const rows = lines((await cli(['requests', '--json'], dir)).out);
    expect(rows.map((r) => [r.method, r.path, r.status, r.time])).toEqual([
      ['POST', '/api/orders?draft=1', 201, '2026-03-01T10:00:01.250Z'], ['GET', '/big.js', 200, '2026-03-01T10:00:02.000Z'], ['GET', '/blocked', 0, '2026-03-01T10:00:03.000Z'],
    ]);
    const first = JSON.parse((await cli(['show', String(rows[0]!.id), '--json'], dir)).out) as Record<string, any>;
    expect(first.request.headers).toEqual([['content-type', 'application/json'], ['accept', '*/*']]);
    expect(Buffer.from(first.request.bodyBase64, 'base64').toString()).toBe('{"items":[1]}');
    expect(Buffer.from(first.response.bodyBase64, 'base64').equals(Buffer.from([0x89, 0x50, 0x4e, 0x47]))).toBe(true);
    expect(first.durationMs).toBe(42.5);
    const big = JSON.parse((await cli(['show', String(rows[1]!.id), '--json'], dir)).out) as Record<string, any>;
    expect(big.response).toMatchObject({ bodyBase64: '', bodyBytes: 50000, truncated: true });
    const blocked = JSON.parse((await cli(['show', String(rows[2]!.id), '--json'], dir)).out) as Record<string, any>;
    expect(blocked.response).toBeNull();
    expect(bad.code).toBe(2);
    expect(bad.err).toContain(`${broken}: log.entries[0].request.url: missing`);
    expect(other.code).toBe(2);
    expect(other.err).toContain(`${notHar}: log: missing: not a HAR file`);
    expect(absent.code).toBe(2);
    expect(absent.err).toMatch(/cannot read .*absent\.har/);
    expect(lines((await cli(['requests', '--json'], dir)).out)).toHaveLength(3);
  });
});
