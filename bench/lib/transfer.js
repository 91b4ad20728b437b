// 50 MiB transfers with curl, with the peak RSS and the CPU time of the watched processes during each.
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { BODY_BYTES, MiB } from './config.js';
import { cpuSeconds, memory, resetHwm, run, tmpDir } from './proc.js';

/** Writes the 50 MiB request body once; returns its path. */
export function makeBodyFile() {
  const file = join(tmpDir(), 'body-50MiB.bin');
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(MiB, 0x62);
  for (let i = 0; i < BODY_BYTES / MiB; i++) writeSync(fd, chunk);
  closeSync(fd);
  return file;
}

/** Samples VmRSS of the watched processes every ~20 ms (plus VmHWM after a reset) while `fn` runs. */
async function withPeakMemory(watch, fn) {
  const entries = Object.entries(watch ?? {});
  const state = entries.map(([, c]) => {
    const hwmReset = resetHwm(c.pid);
    const base = memory(c.pid).rss;
    return { hwmReset, base, peak: base, cpu0: cpuSeconds(c.pid) };
  });
  const sample = () =>
    entries.forEach(([, c], i) => {
      try {
        state[i].peak = Math.max(state[i].peak, memory(c.pid).rss);
      } catch {}
    });
  const timer = setInterval(sample, 20);
  let result;
  try {
    result = await fn();
  } finally {
    clearInterval(timer);
  }
  sample();
  const mem = {};
  entries.forEach(([k, c], i) => {
    const s = state[i];
    if (s.hwmReset) s.peak = Math.max(s.peak, memory(c.pid).hwm);
    mem[k] = { growthMiB: (s.peak - s.base) / MiB, cpuMs: (cpuSeconds(c.pid) - s.cpu0) * 1000 };
  });
  return { result, mem };
}

/** One POST of `bodyFile` to /sink or one GET of /big through `path`; `problem` says what went wrong, if anything. */
async function curl(kind, path, bodyFile) {
  const args = ['-sS', '--max-time', '120', '-H', 'Expect:', '-w', '\n%{http_code} %{time_total} %{size_download}'];
  if (path.host) args.push('-H', `Host: ${path.host}`);
  if (kind === 'post') args.push('-X', 'POST', '-T', bodyFile, '-H', 'content-type: application/octet-stream', '-o', '-', `${path.url}/sink`);
  else args.push('-o', '/dev/null', `${path.url}/big?bytes=${BODY_BYTES}`);
  const r = await run('curl', args, 130_000);
  if (r.code !== 0) return { seconds: NaN, problem: `curl exited ${r.signal ?? r.code}: ${r.err.trim()}` };
  const lines = r.out.trim().split('\n');
  const [status, seconds, down] = lines.pop().split(' ').map(Number);
  let problem;
  if (status !== 200) problem = `HTTP ${status}`;
  else if (kind === 'post' && !lines.join('\n').includes(`"bytes":${BODY_BYTES}`)) problem = `the target counted ${lines.join(' ').slice(0, 100)} instead of ${BODY_BYTES} bytes`;
  else if (kind === 'get' && down !== BODY_BYTES) problem = `${down} bytes arrived instead of ${BODY_BYTES}`;
  return { seconds, problem };
}

/** One transfer with its memory and CPU figures. */
export async function transfer(kind, path, bodyFile) {
  const { result, mem } = await withPeakMemory(path.watch, () => curl(kind, path, bodyFile));
  return { ...result, mem };
}
