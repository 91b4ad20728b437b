import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';
import { connectAgent, createRelay, type AgentHandle, type AgentOptions, type RelayHandle, type RelayOptions } from '../../src/index.js';

/** A local HTTP server on an ephemeral loopback port, closed when the test finishes. */
export interface TestTarget {
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  close(): Promise<void>;
}

/** Starts a target server with `handler`; registers its cleanup at once. */
export async function startTarget(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestTarget> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = async (): Promise<void> => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  onTestFinished(close);
  return { url: `http://127.0.0.1:${port}`, port, server, close };
}

/** Reads a whole request body; what arrived so far when the request is aborted (targets see aborts in tests). */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  try {
    for await (const chunk of req) parts.push(chunk as Buffer);
  } catch {
    // aborted by the agent (the sender went away, a limit was hit): keep what arrived
  }
  return Buffer.concat(parts);
}

/** Starts a relay on 127.0.0.1:0; closed when the test finishes. */
export async function startRelay(options: RelayOptions = {}): Promise<RelayHandle> {
  const relay = await createRelay({ host: '127.0.0.1', port: 0, ...options });
  onTestFinished(() => relay.close());
  return relay;
}

/** Connects an agent to `relay` for `target`; closed when the test finishes. */
export async function startAgent(relay: RelayHandle, target: string, options: Partial<AgentOptions> = {}): Promise<AgentHandle> {
  const agent = await connectAgent({ relay: relay.url, target, ...options });
  onTestFinished(() => agent.close());
  return agent;
}

/** A relay, an agent and a target in one call: the usual end-to-end setup. */
export async function startTunnel(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  options: { relay?: RelayOptions; agent?: Partial<AgentOptions> } = {},
): Promise<{ relay: RelayHandle; agent: AgentHandle; target: TestTarget }> {
  const target = await startTarget(handler);
  const relay = await startRelay(options.relay);
  const agent = await startAgent(relay, target.url, options.agent);
  return { relay, agent, target };
}

/** Path of the built CLI entry point (tests run after `npm run build`). */
export const CLI = fileURLToPath(new URL('../../bin/hooktunnel.js', import.meta.url));

/** A CLI process with its output collected; killed (by PID) when the test finishes. */
export interface CliProcess {
  readonly child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout line matching `pattern` (waits for content, never for time). */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code. */
  exited(): Promise<number | null>;
}

/** Runs `hooktunnel <args>`; the child is killed when the test finishes. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): CliProcess {
  // A private data directory unless the test brings its own (then none is made here, so none is left behind).
  const home = env.HOOKTUNNEL_HOME ?? mkdtempSync(join(tmpdir(), 'hooktunnel-home-'));
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, HOOKTUNNEL_RELAY: '', HOOKTUNNEL_HOME: home, FORCE_COLOR: '0', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(cwd ? { cwd } : {}),
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (!env.HOOKTUNNEL_HOME) rmSync(home, { recursive: true, force: true });
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited: () => exit,
    waitForLine(pattern, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const line = out.split('\n').find((l) => pattern.test(l));
          if (line === undefined) return false;
          cleanup();
          resolve(line);
          return true;
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; stdout: ${out}; stderr: ${err}`));
        }, timeoutMs);
        const onData = (): void => void check();
        const onExit = (): void => {
          if (!check()) {
            cleanup();
            reject(new Error(`exited before a line matched ${pattern}; stdout: ${out}; stderr: ${err}`));
          }
        };
        const cleanup = (): void => {
          clearTimeout(timer);
          child.stdout.off('data', onData);
          child.off('exit', onExit);
        };
        if (check()) return;
        child.stdout.on('data', onData);
        child.on('exit', onExit);
      });
    },
  };
}
