import { EventEmitter } from 'node:events';
import { describe, expect, it, onTestFinished } from 'vitest';
import { connectAgent, type AgentEventMap } from '../../src/index.js';
import { send, splitPublicUrl } from '../helpers/http.js';
import { runCli, startRelay } from '../helpers/servers.js';
import { agentFor, cli, dataDir, lines, recordingTarget } from './capture-fixtures.js';

// A request that reaches the relay while its agent is away waits there (--offline-wait) and is handed to the agent
// right behind `ready` when it comes back: in the same read as the welcome, before connectAgent has returned.
// Everything that listens to the agent (store, printer, inspector) must see that exchange like any other.

describe('requests handed over at the moment an agent connects', () => {
  it('a request held while the CLI agent was killed is captured by the agent that comes back (issue 13)', { timeout: 40_000 }, async () => {
    const dir = dataDir();
    const { target, seen } = await recordingTarget();
    const relay = runCli(['relay', '--host', '127.0.0.1', '--port', '0', '--offline-wait', '20']);
    const relayUrl = `http://127.0.0.1:${/:(\d+)$/.exec(await relay.waitForLine(/listening/))![1]}`;
    const first = await agentFor(target.port, dir, ['--relay', relayUrl]);
    first.agent.child.kill('SIGKILL');
    await first.agent.exited();

    // The relay holds this one until an agent owns the tunnel again.
    const held = send(first.base, `${first.prefix}/held?n=1`, { method: 'POST', body: '{"during":"reconnect"}' });
    const second = await agentFor(target.port, dir, ['--relay', relayUrl]);
    const answer = await held;
    await second.agent.waitForLine(/"type":"request".*"\/held\?n=1"/);
    const rows = lines((await cli(['requests', '--json'], dir)).out);
    const shown = JSON.parse((await cli(['show', String(rows[0]?.id), '--json'], dir)).out) as { complete: boolean; request: { bodyBase64: string }; response: { status: number } };

    expect(answer.status).toBe(200);
    expect(seen.map((s) => s.url)).toEqual(['/held?n=1']);
    expect(rows.map((r) => `${r.path} ${r.status}`)).toEqual(['/held?n=1 200']);
    expect(shown.complete).toBe(true);
    expect(Buffer.from(shown.request.bodyBase64, 'base64').toString()).toBe('{"during":"reconnect"}');
    expect(shown.response.status).toBe(200);
  });

  it('connectAgent with `events`: subscribers see a held request from its start, before connectAgent resolves', async () => {
    const { target } = await recordingTarget();
    const relay = await startRelay({ offline: { waitMs: 20_000 } });
    const first = await connectAgent({ relay: relay.url, target: target.url });
    const { tunnelId, secret } = first;
    const { base, prefix } = splitPublicUrl(first.publicUrl);
    // Dropped without a goodbye, as a killed process would be: the relay holds requests for the tunnel.
    await first.close();

    const held = send(base, `${prefix}/held`, { method: 'POST', body: 'x' });
    // Wait until the relay has the request (it counts it as waiting) before the agent comes back.
    for (let i = 0; i < 200 && relay.stats().waiting === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(relay.stats().waiting).toBe(1);

    const events = new EventEmitter<AgentEventMap>();
    const order: string[] = [];
    let resolved = false;
    events.on('ready', () => order.push('ready'));
    events.on('exchange-start', (e) => order.push(`start ${e.path}${resolved ? ' (late)' : ''}`));
    events.on('request', (e) => order.push(`request ${e.path} ${e.status}`));
    const second = await connectAgent({ relay: relay.url, target: target.url, subdomain: tunnelId, secret, events });
    resolved = true;
    onTestFinished(() => second.close());
    expect((await held).status).toBe(200);

    expect(second.events).toBe(events);
    expect(order).toEqual(['ready', 'start /held', 'request /held 200']);
  });
});
