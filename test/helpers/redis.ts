import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { freePort } from './ports.js';

/** Debian's redis-server (`apt-get install redis-server`; `.ci/run` installs it), from the PATH. */
export const REDIS_SERVER = 'redis-server';

/** A redis-server on loopback with a private directory; stop() ends it by PID and removes the directory. */
export interface TestRedis {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Ends it with SIGTERM (Redis writes what it has) and waits; removes its directory unless the caller gave it. */
  stop(): Promise<void>;
  /** Ends it with SIGKILL, as a crash would, and waits for the exit (the directory stays until stop()). */
  kill(): Promise<void>;
}

function startOnce(port: number, dir: string, appendonly: boolean, fsync: 'always' | 'everysec'): Promise<ChildProcess> {
  const child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', appendonly ? 'yes' : 'no', '--appendfsync', fsync, '--daemonize', 'no', '--loglevel', 'notice'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`redis-server on port ${port} not ready within 10 s: ${out}`)), 10_000);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (/Ready to accept connections/.test(out)) {
        clearTimeout(timer);
        child.stdout!.removeAllListeners('data');
        child.stdout!.resume();
        child.off('exit', onExit);
        resolve(child);
      }
    });
    child.stderr!.resume();
    const onExit = (code: number | null): void => fail(new Error(`redis-server exited (${code}) before it was ready: ${out}`));
    child.on('exit', onExit);
  });
}

/**
 * Starts redis-server on a free loopback port (picked, then bound by redis-server; another process could take it
 * in between, so a start that fails is tried again on another port, three times at most), or on `port` (a restart).
 * `dir`: its working directory (the caller's, kept: a restart with `appendonly` reads the append-only file back);
 * by default a private one, removed by stop(). `appendonly`: Redis's AOF on, as the README advises for a cluster;
 * `appendfsync` (default everysec, Redis's own): `always` for a test that kills Redis and counts on every answered write.
 */
export async function startRedis(at?: { port?: number; dir?: string; appendonly?: boolean; appendfsync?: 'always' | 'everysec' }): Promise<TestRedis> {
  const own = at?.dir === undefined;
  const dir = at?.dir ?? mkdtempSync(join(tmpdir(), 'hooktunnel-redis-'));
  const removeDir = (): void => {
    if (own) rmSync(dir, { recursive: true, force: true });
  };
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = at?.port ?? (await freePort());
    let child: ChildProcess;
    try {
      child = await startOnce(port, dir, at?.appendonly === true, at?.appendfsync ?? 'everysec');
    } catch (err) {
      lastError = err as Error;
      continue;
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return {
      url: `redis://127.0.0.1:${port}/0`,
      port,
      pid: child.pid!,
      async stop() {
        if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGTERM');
        await exited;
        removeDir();
      },
      async kill() {
        if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
        await exited;
      },
    };
  }
  removeDir();
  throw lastError!;
}

/**
 * One redis-server for the enclosing describe: started in its beforeAll, stopped in its afterAll (neither runs when
 * the describe is skipped). The object returned reads through to that server, for use inside its tests.
 */
export function redisForSuite(): TestRedis {
  let server: TestRedis | undefined;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await server?.stop();
  });
  const current = (): TestRedis => {
    if (!server) throw new Error('the suite\'s redis-server is not started: use it inside a test');
    return server;
  };
  return {
    get url() {
      return current().url;
    },
    get port() {
      return current().port;
    },
    get pid() {
      return current().pid;
    },
    stop: () => current().stop(),
    kill: () => current().kill(),
  };
}
