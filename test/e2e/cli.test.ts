import { describe, expect, it } from 'vitest';
import { runCli, startRelay, startTarget } from '../helpers/servers.js';
import { send, splitPublicUrl } from '../helpers/http.js';

const echo = (_req: unknown, res: { end(body: string): void }): void => res.end('hi');

describe('hooktunnel <target>', () => {
  it('starts an embedded relay by default and says it is local only', async () => {
    const target = await startTarget((req, res) => res.end(`got ${req.url}`));
    const cli = runCli([String(target.port)]);

    const line = await cli.waitForLine(/-> http:\/\/localhost:/);
    const url = /(http:\/\/127\.0\.0\.1:\d+\/t\/[a-z0-9]+)/.exec(line)![1]!;
    await cli.waitForLine(/reachable from this machine only/);
    const { base, prefix } = splitPublicUrl(url);
    const res = await send(base, `${prefix}/hook?a=1`, { method: 'POST', body: 'x' });

    expect(res.body.toString()).toBe('got /hook?a=1');
    const logged = await cli.waitForLine(/POST\s+\/hook\?a=1\s+200/);
    expect(logged).toMatch(/1 B -> 13 B/);
  });

  it('--json prints only NDJSON on stdout: ready, then one request event per exchange', async () => {
    const target = await startTarget(echo as never);
    const relay = await startRelay();
    const cli = runCli([`127.0.0.1:${target.port}`, '--json'], { HOOKTUNNEL_RELAY: relay.url });

    const ready = JSON.parse(await cli.waitForLine(/"type":"ready"/)) as Record<string, unknown>;
    expect(Object.keys(ready).sort()).toEqual(['relay', 'target', 'tunnel', 'type', 'url']);
    expect(ready).toMatchObject({ relay: relay.url, target: `http://127.0.0.1:${target.port}` });
    const { base, prefix } = splitPublicUrl(ready.url as string);
    await send(base, `${prefix}/a`, { method: 'POST', body: '12345' });
    await send(`${relay.url}`, '/t/missing-tunnel/x');

    const request = JSON.parse(await cli.waitForLine(/"type":"request"/)) as Record<string, unknown>;
    expect(request).toMatchObject({ method: 'POST', path: '/a', status: 200, requestBytes: 5, responseBytes: 2 });
    expect(Object.keys(request).sort()).toEqual(['durationMs', 'id', 'method', 'path', 'requestBytes', 'responseBytes', 'status', 'type']);
    for (const l of cli.stdout().trim().split('\n')) expect(() => JSON.parse(l)).not.toThrow();
  });

  it('--json with the embedded relay says on stderr, not stdout, that the URL is local only', async () => {
    const cli = runCli(['3000', '--json']);

    const ready = JSON.parse(await cli.waitForLine(/"type":"ready"/)) as { url: string };
    cli.child.kill('SIGTERM');
    await cli.exited();

    expect(ready.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/t\//);
    expect(cli.stderr()).toMatch(/embedded relay on 127\.0\.0\.1: this URL is reachable from this machine only/);
    for (const l of cli.stdout().trim().split('\n')) expect(() => JSON.parse(l)).not.toThrow();
  });

  it('adds "error" to the request event when the relay answered with an error', async () => {
    const relay = await startRelay();
    const cli = runCli(['127.0.0.1:1', '--json', '--relay', relay.url]);
    const ready = JSON.parse(await cli.waitForLine(/"type":"ready"/)) as { url: string };
    const { base, prefix } = splitPublicUrl(ready.url);

    const res = await send(base, `${prefix}/down`);
    const event = JSON.parse(await cli.waitForLine(/"type":"request"/)) as Record<string, unknown>;

    expect(res.status).toBe(502);
    expect(event).toMatchObject({ status: 502, error: 'upstream_unreachable' });
  });

  it.each([
    [['abc'], /invalid target "abc"/],
    [['70000'], /port 70000 is not between 1 and 65535/],
    [['3000', '--bogus'], /unknown option '--bogus'/],
    [['3000', '--timeout', 'soon'], /--timeout must be a whole number/],
    [['3000', '--host-header', 'keep'], /Allowed choices are rewrite, preserve/],
    [['3000', '--relay', 'notaurl'], /invalid relay URL "notaurl"/],
    [['3000', '--relay', 'ftp://relay.test'], /must be http\(s\):\/\/ or ws\(s\):\/\//],
    [['ftp://localhost:3000'], /only http:\/\/ and https:\/\/ targets/],
    [[], /missing target/],
  ])('bad input %j gets one clear line and exit code 2', async (args, message) => {
    const cli = runCli(args);

    expect(await cli.exited()).toBe(2);
    expect(cli.stderr()).toMatch(message);
  });

  it('exits 1 with a clear line when the relay cannot be reached', async () => {
    const cli = runCli(['3000', '--relay', 'http://127.0.0.1:1']);

    expect(await cli.exited()).toBe(1);
    expect(cli.stderr()).toMatch(/cannot reach relay http:\/\/127\.0\.0\.1:1: connection refused/);
  });

  it('prints --version and --help', async () => {
    const version = runCli(['--version']);
    const help = runCli(['--help']);

    expect(await version.exited()).toBe(0);
    expect(version.stdout().trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(await help.exited()).toBe(0);
    expect(help.stdout()).toMatch(/--relay <url>/);
    expect(help.stdout()).toMatch(/relay \[options\]/);
  });
});

describe('hooktunnel relay', () => {
  it('serves agents from another process and stops cleanly on SIGTERM', async () => {
    const target = await startTarget(echo as never);
    const relay = runCli(['relay', '--host', '127.0.0.1', '--port', '0']);
    const listening = await relay.waitForLine(/listening on 127\.0\.0\.1:\d+/);
    const port = /:(\d+)/.exec(listening)![1];
    const agent = runCli([String(target.port), '--json', '--relay', `http://127.0.0.1:${port}`]);
    const ready = JSON.parse(await agent.waitForLine(/"type":"ready"/)) as { url: string };

    expect(ready.url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/t/[a-z0-9]{12}$`));
    const { base, prefix } = splitPublicUrl(ready.url);
    expect((await send(base, `${prefix}/`)).body.toString()).toBe('hi');
    relay.child.kill('SIGTERM');
    expect(await relay.exited()).toBe(0);
    // The agent notices that the relay went away, says so, and keeps trying until stopped.
    const state = JSON.parse(await agent.waitForLine(/"state":"reconnecting"/)) as Record<string, unknown>;
    expect(state).toMatchObject({ type: 'state', state: 'reconnecting', attempt: 1, reason: 'the relay is restarting' });
    agent.child.kill('SIGINT');
    expect(await agent.exited()).toBe(0);
  });

  it('advertises subdomain URLs with --domain and --public-url', async () => {
    const relay = runCli(['relay', '--host', '127.0.0.1', '--port', '0', '--domain', 'hooks.test', '--public-url', 'https://hooks.test']);
    const port = /:(\d+)/.exec(await relay.waitForLine(/listening/))![1];
    const agent = runCli(['3000', '--json', '--subdomain', 'demo', '--relay', `http://127.0.0.1:${port}`]);

    const ready = JSON.parse(await agent.waitForLine(/"type":"ready"/)) as { url: string };

    expect(ready.url).toBe('https://demo.hooks.test');
  });

  it('warns about --open at start, and says that a relay without tokens serves this machine only', async () => {
    const open = runCli(['relay', '--host', '127.0.0.1', '--port', '0', '--open']);
    const closed = runCli(['relay', '--host', '127.0.0.1', '--port', '0']);
    await open.waitForLine(/listening/);
    await closed.waitForLine(/listening/);
    // Everything the relay printed is in once it has exited.
    for (const relay of [open, closed]) relay.child.kill('SIGTERM');
    await Promise.all([open.exited(), closed.exited()]);

    expect(open.stderr()).toMatch(/warning --open: anyone who can reach this relay can open tunnels on it/);
    expect(closed.stderr()).toMatch(/no tokens: agents are accepted from this machine only/);
  });

  it('listens on PORT when --port is not given, and --port wins over PORT', async () => {
    const fromEnv = runCli(['relay', '--host', '127.0.0.1'], { PORT: '0' });
    const fromFlag = runCli(['relay', '--host', '127.0.0.1', '--port', '0'], { PORT: '1' });

    // Port 0 from either source means a free port, never 8080 or 1.
    expect(await fromEnv.waitForLine(/listening/)).toMatch(/listening on 127\.0\.0\.1:(?!8080\b)\d+/);
    expect(await fromFlag.waitForLine(/listening/)).toMatch(/listening on 127\.0\.0\.1:(?!1\b)\d+/);
    for (const relay of [fromEnv, fromFlag]) relay.child.kill('SIGTERM');
    expect(await Promise.all([fromEnv.exited(), fromFlag.exited()])).toEqual([0, 0]);
  });

  it('refuses a bad port with exit code 2', async () => {
    const relay = runCli(['relay', '--port', '99999']);

    expect(await relay.exited()).toBe(2);
    expect(relay.stderr()).toMatch(/--port must be a whole number from 0 to 65535/);
  });
});
