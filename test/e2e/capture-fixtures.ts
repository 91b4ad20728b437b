import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { readBody, runCli, startTarget, type CliProcess, type TestTarget } from '../helpers/servers.js';
import { splitPublicUrl } from '../helpers/http.js';

/** A request as the target saw it. */
export interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: string[];
  readonly body: Buffer;
}

/** A fresh data directory (not yet created: the agent creates it 0700), removed when the test finishes. */
export function dataDir(): string {
  const root = mkdtempSync(join(tmpdir(), 'hooktunnel-cap-'));
  onTestFinished(() => rmSync(root, { recursive: true, force: true }));
  return join(root, 'data');
}

/** A target that records every request and answers JSON `{"answer": answer}`. */
export async function recordingTarget(answer = 'ok'): Promise<{ target: TestTarget; seen: Seen[] }> {
  const seen: Seen[] = [];
  const target = await startTarget(async (req: IncomingMessage, res) => {
    seen.push({ method: req.method!, url: req.url!, headers: req.rawHeaders, body: await readBody(req) });
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ answer }));
  });
  return { target, seen };
}

/** Runs a store command (`requests`, `show`, …) with `--data-dir dir` to completion. */
export async function cli(args: string[], dir: string, stdin?: Buffer): Promise<{ code: number | null; out: string; err: string }> {
  const p = runCli([...args, '--data-dir', dir]);
  p.child.stdin.end(stdin);
  const code = await p.exited();
  return { code, out: p.stdout(), err: p.stderr() };
}

/** Starts `hooktunnel <port> --json --data-dir dir` (embedded relay) and waits for its ready line. */
export async function agentFor(port: number, dir: string, extra: string[] = []): Promise<{ agent: CliProcess; base: string; prefix: string }> {
  const agent = runCli([String(port), '--json', '--data-dir', dir, ...extra]);
  const { url } = JSON.parse(await agent.waitForLine(/"type":"ready"/)) as { url: string };
  return { agent, ...splitPublicUrl(url) };
}

/** NDJSON text as objects. */
export function lines(text: string): Array<Record<string, unknown>> {
  return text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The ids of the agent's `request` events so far, in order. */
export function requestIds(agent: CliProcess): string[] {
  return lines(agent.stdout()).filter((e) => e.type === 'request').map((e) => String(e.id));
}
