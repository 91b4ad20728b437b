import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { send, valuesOf } from '../helpers/http.js';
import { agentFor, cli, dataDir, lines, recordingTarget, requestIds } from './capture-fixtures.js';
import { lacks } from '../helpers/tools.js';

/** har-validator (the HAR 1.2 JSON schema of har-schema) has no types; `har()` rejects with the schema errors. */
const harValidator = createRequire(import.meta.url)('har-validator') as { har(data: unknown): Promise<unknown> };

describe('replay', () => {
  it('sends a captured binary body again to the original target byte-exact; the replay is captured with replayOf', async () => {
    const dir = dataDir();
    const { target, seen } = await recordingTarget();
    const { agent, base, prefix } = await agentFor(target.port, dir);
    const body = Buffer.concat([randomBytes(150_000), Buffer.from([0xde, 0xad, 0x00, 0x0a])]);
    await send(base, `${prefix}/hook?x=%2F&y=a//b`, { method: 'POST', body, headers: { 'x-event': 'push', 'content-type': 'application/octet-stream' } });
    await agent.waitForLine(/"type":"request"/);
    const [id] = requestIds(agent);

    const replayed = await cli(['replay', id!, '--json'], dir);

    expect(replayed.code).toBe(0);
    const event = lines(replayed.out)[0]!;
    expect(event).toMatchObject({ type: 'request', method: 'POST', path: '/hook?x=%2F&y=a//b', status: 200, requestBytes: body.length, replayOf: id });
    expect(seen[1]!.body.equals(body)).toBe(true);
    expect(seen[1]!.url).toBe('/hook?x=%2F&y=a//b');
    expect(valuesOf(seen[1]!.headers, 'x-event')).toEqual(['push']);
    expect(valuesOf(seen[1]!.headers, 'content-length')).toEqual([String(body.length)]);
    const rows = lines((await cli(['requests', '--json'], dir)).out);
    expect(rows.map((r) => [r.id, r.replayOf])).toEqual([[id, null], [event.id, id]]);
    const shown = JSON.parse((await cli(['show', String(event.id), '--json'], dir)).out) as { request: { bodyBase64: string } };
    expect(Buffer.from(shown.request.bodyBase64, 'base64').equals(body)).toBe(true);
  });

  it('--to another target, header overrides and removals, a new body from a file or stdin with a matching Content-Length', async () => {
    const dir = dataDir();
    const { target } = await recordingTarget('first');
    const { agent, base, prefix } = await agentFor(target.port, dir);
    await send(base, `${prefix}/hook`, { method: 'POST', body: 'original body', headers: { 'x-event': 'push', 'x-drop': 'me' } });
    await agent.waitForLine(/"type":"request"/);
    const [id] = requestIds(agent);
    const other = await recordingTarget('second');
    const file = join(dir, 'body.json');
    writeFileSync(file, '{"replacement":true}');

    const moved = await cli(['replay', id!.slice(0, 8), '--to', String(other.target.port), '--header', 'X-Event: ping', '--header', 'X-Drop:', '--body', file], dir);
    const piped = await cli(['replay', id!, '--to', `http://127.0.0.1:${other.target.port}`, '--header', 'Host: hooks.example', '--body', '-'], dir, Buffer.from([1, 2, 3]));

    expect(moved.code).toBe(0);
    expect(moved.out).toMatch(/POST\s+\/hook\s+200 .*replay of/);
    const [a, b] = other.seen;
    expect(a!.body.toString()).toBe('{"replacement":true}');
    expect(valuesOf(a!.headers, 'content-length')).toEqual(['20']);
    expect(valuesOf(a!.headers, 'x-event')).toEqual(['ping']);
    expect(valuesOf(a!.headers, 'x-drop')).toEqual([]);
    expect(valuesOf(a!.headers, 'host')).toEqual([`localhost:${other.target.port}`]);
    expect(piped.code).toBe(0);
    expect(b!.body.equals(Buffer.from([1, 2, 3]))).toBe(true);
    expect(valuesOf(b!.headers, 'host')).toEqual(['hooks.example']);
  });

  it('exits 1 with the reason on stderr when the target cannot be reached, and records the failure', async () => {
    const dir = dataDir();
    const { target } = await recordingTarget();
    const { agent, base, prefix } = await agentFor(target.port, dir);
    await send(base, `${prefix}/x`);
    await agent.waitForLine(/"type":"request"/);
    const [id] = requestIds(agent);

    const res = await cli(['replay', id!, '--to', '127.0.0.1:1', '--json'], dir);

    expect(res.code).toBe(1);
    expect(res.err).toMatch(/POST|GET/);
    expect(res.err).toMatch(/connection refused/);
    expect(lines(res.out)[0]).toMatchObject({ type: 'request', error: 'upstream_unreachable', replayOf: id });
    const rows = lines((await cli(['requests', '--json'], dir)).out);
    expect(rows[1]).toMatchObject({ replayOf: id, status: 502 });
  });
});

describe.skipIf(lacks('the export tests (they run the exported curl commands)', 'curl'))('export', () => {
  it('HAR 1.2 that passes the schema; curl commands that bash runs to reproduce each request byte-exact', async () => {
    const dir = dataDir();
    const { target, seen } = await recordingTarget();
    const { agent, base, prefix } = await agentFor(target.port, dir);
    const binary = Buffer.from([0, 1, 2, 0x27, 0x22, 0x5c, 0x0a, 0xff, 0x24, 0x28, 0x60, 0x0d, 0x0a]);
    await send(base, `${prefix}/a%20b/../x?q='1'&r=%20`, { method: 'PATCH', body: binary, headers: { 'x-quote': `it's "quoted" $(no) \`no\` \\n`, 'x-latin': 'caf\xe9' } });
    await send(base, `${prefix}/json`, { method: 'POST', body: '{"a":1}\n', headers: { 'content-type': 'application/json' } });
    await send(base, `${prefix}/empty`, { method: 'DELETE' });
    await agent.waitForLine(/"path":"\/empty"/);
    const ids = requestIds(agent);

    const har = JSON.parse((await cli(['export'], dir)).out) as { log: { entries: Array<Record<string, any>> } };
    const curl = (await cli(['export', '--format', 'curl', ...ids.map((id) => id.slice(0, 6))], dir)).out.trim().split('\n');
    for (const command of curl) await promisify(execFile)('bash', ['-c', command]);

    await harValidator.har(har);
    expect(har.log.entries.map((e) => e._id)).toEqual(ids);
    expect(har.log.entries[1]!.request.postData).toMatchObject({ mimeType: 'application/json', text: '{"a":1}\n' });
    expect(Buffer.from(har.log.entries[0]!.request.postData.text, 'base64').equals(binary)).toBe(true);
    expect(curl).toHaveLength(3);
    for (let i = 0; i < 3; i++) {
      const [original, again] = [seen[i]!, seen[i + 3]!];
      expect(again.method).toBe(original.method);
      expect(again.url).toBe(original.url);
      expect(again.body.equals(original.body)).toBe(true);
      const names = (raw: string[]): string[] => raw.filter((_, j) => j % 2 === 0).map((n) => n.toLowerCase()).filter((n) => n !== 'connection' && n !== 'content-length');
      expect(names(again.headers)).toEqual(names(original.headers));
      for (const name of names(original.headers)) expect(valuesOf(again.headers, name), name).toEqual(valuesOf(original.headers, name));
    }
  });
});
