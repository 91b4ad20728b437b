import { readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { runCli, startTarget } from '../helpers/servers.js';

const GIB = 1024 * 1024 * 1024;
const MIB = 1024 * 1024;
const CHUNK = Buffer.alloc(256 * 1024, 0x5a);

/** Peak resident memory (VmHWM) of a process since the last reset, in bytes. */
async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

/** Current resident memory of a process, in bytes. */
async function rss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

/** Resets the kernel's peak-RSS mark of a process (writing 5 to clear_refs). */
async function resetPeak(pid: number): Promise<void> {
  await writeFile(`/proc/${pid}/clear_refs`, '5');
}

/** Writes `total` bytes to a writable, respecting backpressure. */
function pump(w: NodeJS.WritableStream, total: number, done: () => void): void {
  let sent = 0;
  const more = (): void => {
    while (sent < total) {
      sent += CHUNK.length;
      if (!w.write(CHUNK)) return void w.once('drain', more);
    }
    done();
  };
  more();
}

function transfer(url: URL, method: 'GET' | 'POST', bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: url.pathname, method, agent: false, headers: method === 'POST' ? { 'content-length': String(bytes) } : {} }, (res) => {
      let n = 0;
      res.on('data', (c: Buffer) => (n += c.length));
      res.on('end', () => resolve(n));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (method === 'POST') pump(req, bytes, () => req.end());
    else req.end();
  });
}

describe('memory', () => {
  it('a 1 GiB upload and a 1 GiB download pass with relay and agent memory growing by less than 64 MiB', { timeout: 180_000 }, async () => {
    let received = 0;
    const target = await startTarget(async (req, res) => {
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-length': String(GIB) });
        return pump(res, GIB, () => res.end());
      }
      for await (const c of req) received += (c as Buffer).length;
      res.end(String(received));
    });
    // The relay's default body limit is 100 MiB; this test is about streaming, so it lifts the limit.
    const relay = runCli(['relay', '--host', '127.0.0.1', '--port', '0', '--max-body', String(2 * GIB)]);
    const port = /:(\d+)$/.exec(await relay.waitForLine(/listening/))![1];
    const agent = runCli([String(target.port), '--json', '--relay', `http://127.0.0.1:${port}`]);
    const url = new URL((JSON.parse(await agent.waitForLine(/"ready"/)) as { url: string }).url);
    // Warm up both processes (JIT, pools) before taking the baseline.
    await transfer(new URL(`${url.href}/warm`), 'POST', 4 * MIB);
    const pids = { relay: relay.child.pid!, agent: agent.child.pid! };
    const base = { relay: await rss(pids.relay), agent: await rss(pids.agent) };
    await resetPeak(pids.relay);
    await resetPeak(pids.agent);

    const down = await transfer(new URL(`${url.href}/down`), 'GET', GIB);
    await transfer(new URL(`${url.href}/up`), 'POST', GIB);

    expect(down).toBe(GIB);
    expect(received).toBe(4 * MIB + GIB);
    const growth = { relay: (await peakRss(pids.relay)) - base.relay, agent: (await peakRss(pids.agent)) - base.agent };
    console.log(`memory growth MiB: relay ${(growth.relay / MIB).toFixed(1)}, agent ${(growth.agent / MIB).toFixed(1)}`);
    expect(growth.relay).toBeLessThan(64 * MIB);
    expect(growth.agent).toBeLessThan(64 * MIB);
  });
});
