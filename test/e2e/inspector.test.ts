import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { listCaptures } from '../../src/capture/queries.js';
import { CaptureStore } from '../../src/capture/store.js';
import { findSample } from '../../src/webhooks/samples/index.js';
import { signRequest } from '../../src/webhooks/resign.js';
import { SECRETS, accept } from '../helpers/providers.js';
import { CLI, readBody, startRelay, startTarget } from '../helpers/servers.js';
import { lacks } from '../helpers/tools.js';

const run = promisify(execFile);

/** The environment of the terminal: no CI variables (ink draws nothing live under CI), colours on. */
function terminalEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (k !== 'CI' && k !== 'CONTINUOUS_INTEGRATION' && !k.startsWith('CI_') && !k.startsWith('TMUX')) env[k] = v;
  // No display: no clipboard tool can work, whatever is installed here.
  return { ...env, DISPLAY: '', WAYLAND_DISPLAY: '', HOOKTUNNEL_RELAY: '', FORCE_COLOR: '1', ...extra };
}

/** An 80×24 terminal: a tmux server of its own (its socket in a temp dir), killed when the test finishes. */
interface Terminal {
  tmux(...args: string[]): Promise<string>;
  keys(...k: string[]): Promise<void>;
  screen(): Promise<string>;
  /** The program in the pane is on the alternate screen. */
  alternate(): Promise<boolean>;
  /** Waits (bounded) until the screen matches `pattern`; resolves with the screen. */
  see(pattern: RegExp, ms?: number): Promise<string>;
}

async function terminal(env: NodeJS.ProcessEnv): Promise<Terminal> {
  const dir = mkdtempSync(join(tmpdir(), 'hooktunnel-tmux-'));
  const socket = join(dir, 'socket');
  const tmux = async (...args: string[]): Promise<string> => (await run('tmux', ['-S', socket, '-f', '/dev/null', ...args], { env, timeout: 10_000 })).stdout;
  onTestFinished(async () => {
    await tmux('kill-server').catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });
  await tmux('new-session', '-d', '-x', '80', '-y', '24', '-s', 'e2e', 'bash --norc --noprofile');
  const screen = (): Promise<string> => tmux('capture-pane', '-p', '-t', 'e2e');
  return {
    tmux,
    async keys(...k) {
      await tmux('send-keys', '-t', 'e2e', ...k);
    },
    screen,
    async alternate() {
      return (await tmux('display-message', '-p', '-t', 'e2e', '#{alternate_on}')).trim() === '1';
    },
    async see(pattern, ms = 15_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const text = await screen();
        if (pattern.test(text)) return text;
        if (Date.now() > deadline) throw new Error(`the screen never showed ${pattern}:\n${text}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

function home(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hooktunnel-inspector-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe.skipIf(lacks('the inspector tests', 'tmux'))('the inspector in a real terminal', () => {
  it('shows a request, its details, a replay, an edited replay; q leaves the terminal as it was; a restart lists earlier captures', async () => {
    const seen: string[] = [];
    const target = await startTarget(async (req, res) => {
      seen.push(`${req.method} ${req.url} ${(await readBody(req)).toString()}`);
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    });
    const relay = await startRelay();
    const dir = home();
    const term = await terminal(terminalEnv({ HOOKTUNNEL_HOME: dir, VISUAL: '', EDITOR: 'sed -i s/push/pull/' }));
    // After the program, stty says whether the terminal is back in cooked mode (icanon) or was left raw (-icanon).
    const command = `node ${CLI} ${target.port} --relay ${relay.url}; echo "EXITED $?"; stty -a | grep -oE -- '-?icanon'`;

    await term.keys(command, 'Enter');
    const header = await term.see(/● online +http:\/\/127\.0\.0\.1:\d+\/t\/[a-z0-9]+/);
    const url = /(http:\/\/127\.0\.0\.1:\d+\/t\/[a-z0-9]+)/.exec(header)![1]!;
    expect(await term.alternate()).toBe(true);
    expect(header).toContain(`→ http://localhost:${target.port}`);

    const res = await fetch(`${url}/hooks/github?x=1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"event":"push"}' });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    let screen = await term.see(/> \d\d:\d\d:\d\d POST +\/hooks\/github\?x=1 +200 /);
    expect(screen).toContain('1 request');

    await term.keys('Enter');
    screen = await term.see(/── Request headers/);
    expect(screen).toContain('POST /hooks/github?x=1');
    expect(screen).toContain('x = 1');
    await term.keys('Space');
    screen = await term.see(/"event": "push"/);
    expect(screen).toMatch(/── Response 200 OK/);
    await term.keys('Enter');
    await term.see(/code duration/);

    await term.keys('r');
    await term.see(/replayed [a-z0-9]+ as [a-z0-9]+: 200/);
    screen = await term.see(/↻/);
    expect(screen.split('\n').filter((l) => l.includes('/hooks/github?x=1'))).toHaveLength(2);
    expect(screen).toMatch(/\/hooks\/github\?x=1 +200 .*↻/);

    await term.keys('e');
    await term.see(/with the edited body \(16 B\) as [a-z0-9]+: 200/);
    screen = await term.see(/↻[\s\S]*↻/);
    expect(screen.split('\n').filter((l) => l.includes('/hooks/github?x=1'))).toHaveLength(3);
    expect(seen).toEqual(['POST /hooks/github?x=1 {"event":"push"}', 'POST /hooks/github?x=1 {"event":"push"}', 'POST /hooks/github?x=1 {"event":"pull"}']);
    expect(await term.alternate()).toBe(true);

    // The edited body is only in the store: the filter finds it there.
    await term.keys('/', 'pull', 'Enter');
    screen = await term.see(/filter "pull": 1 of 3/);
    await term.keys('c');
    screen = await term.see(/Not copied \(no clipboard tool found\)/);
    expect(screen).toContain("  -H 'content-type: application/json' \\\n");
    expect(screen).toContain("printf %s 'eyJldmVudCI6InB1bGwifQ==' |");
    await term.keys('G');
    await term.see(new RegExp(`\n  'http://localhost:${target.port}/hooks/github\\?x=1'\n`));
    await term.keys('Escape');
    await term.see(/code duration/);
    await term.keys('Escape');
    await term.see(/3 requests/);

    await term.keys('q');
    // Waits for the whole aftermath (stty's answer and the prompt), which the shell prints just after EXITED.
    screen = await term.see(/EXITED 0\n-?icanon\n\S*[#$]/);
    expect(await term.alternate()).toBe(false);
    expect(screen).not.toContain('● online');
    // The shell's screen is back: the command line typed, the program's last words, a prompt.
    expect(screen).toMatch(/hooktunnel\.js \d+ --relay[\s\S]*\nEXITED 0\nicanon\n\S*[#$] *\n/);

    const store = CaptureStore.open(dir, { readonly: true });
    const captures = listCaptures(store, 10);
    store.close();
    expect(captures).toHaveLength(3);
    expect(captures[1]!.replayOf).toBe(captures[0]!.id);
    expect(captures[2]!.replayOf).toBe(captures[1]!.replayOf);

    await term.keys('clear', 'Enter');
    await term.keys(command, 'Enter');
    screen = await term.see(/0 requests · relay .* · 3 earlier/);
    expect(screen.split('\n').filter((l) => l.includes('/hooks/github?x=1'))).toHaveLength(3);
    await term.keys('C-c');
    await term.see(/EXITED 0/);
    expect(await term.alternate()).toBe(false);
  });

  it('r re-signs: a Stripe event signed an hour ago is marked ✗, its replay gets a fresh signature that Stripe accepts', async () => {
    const verdicts: boolean[] = [];
    const target = await startTarget(async (req, res) => {
      const body = await readBody(req);
      const ok = await accept.stripe({ headers: req.rawHeaders, body, url: '', nowMs: Date.now() });
      verdicts.push(ok);
      res.statusCode = ok ? 200 : 400;
      res.end(ok ? 'accepted' : 'bad signature');
    });
    const relay = await startRelay();
    const term = await terminal(terminalEnv({ HOOKTUNNEL_HOME: home() }));
    await term.keys(`node ${CLI} ${target.port} --relay ${relay.url} --verify stripe=${SECRETS.stripe}`, 'Enter');
    const header = await term.see(/● online +http:\/\/127\.0\.0\.1:\d+\/t\/[a-z0-9]+/);
    const url = /(http:\/\/127\.0\.0\.1:\d+\/t\/[a-z0-9]+)/.exec(header)![1]!;

    const hourAgo = Date.now() - 3600_000;
    const sample = findSample('stripe', 'payment_intent.succeeded')!.build(hourAgo);
    const signed = signRequest({ url: `${url}/stripe`, headers: sample.headers, body: sample.body }, { provider: 'stripe', secret: SECRETS.stripe }, hourAgo);
    const headers = new Headers();
    for (let i = 0; i < signed.headers.length; i += 2) headers.append(signed.headers[i]!, signed.headers[i + 1]!);
    const res = await fetch(`${url}/stripe`, { method: 'POST', headers, body: sample.body });
    expect(res.status).toBe(400);
    await res.arrayBuffer();
    await term.see(/POST +\/stripe +400 .*✗/);

    await term.keys('r');
    await term.see(/replayed [a-z0-9]+, re-signed for stripe as [a-z0-9]+: 200/);
    const screen = await term.see(/\/stripe +200 .*↻/);
    expect(screen).toMatch(/\/stripe +200 .*✓/);
    expect(verdicts).toEqual([false, true]);
    await term.keys('q');
  });

  it('what a stranger sends cannot set the title or the clipboard of the real terminal: it shows as escapes', async () => {
    const target = await startTarget((_req, res) => res.end('ok'));
    const relay = await startRelay();
    const term = await terminal(terminalEnv({ HOOKTUNNEL_HOME: home() }));
    // tmux lets programs set its clipboard (OSC 52 makes a paste buffer) and the pane title (OSC 0/2).
    await term.tmux('set-option', '-g', 'set-clipboard', 'on');
    const title = async (): Promise<string> => (await term.tmux('display-message', '-p', '-t', 'e2e', '#{pane_title}')).trim();
    const before = await title();
    await term.keys(`node ${CLI} ${target.port} --relay ${relay.url}`, 'Enter');
    const url = /● online +(http:\S+)/.exec(await term.see(/● online +http:\S+/))![1]!;

    const body = 'a\u001b]0;PWNED\u001b\\b\u001b]52;c;cHduZWQ=\u001b\\c\u001b[2J\u009b31md\u202ee';
    const res = await fetch(`${url}/evil%1b%5d0;T%07?q=%1b]2;PWNED%07`, { method: 'POST', headers: { 'content-type': 'text/plain', 'x-c1': '\u00c2\u009d0;PWNED\u00c2\u009c' }, body });
    await res.arrayBuffer();
    await term.see(/> .*\/evil%1b%5d0;T%07/);
    await term.keys('Enter');
    const top = await term.see(/── Request headers/);
    expect(top).toContain('q = \\x1b]2;PWNED\\x07');
    expect(top).toContain('x-c1: \\x9d0;PWNED\\x9c');
    await term.keys('Space');

    const screen = await term.see(/── Request body/);
    expect(screen).toContain('a\\x1b]0;PWNED\\x1b\\b\\x1b]52;c;cHduZWQ=\\x1b\\c\\x1b[2J\\x9b31md\\u{202e}e');
    expect(await title()).toBe(before);
    expect(await term.tmux('list-buffers')).toBe('');
    await term.keys('q');
  });

  it('follows a resize of the terminal', async () => {
    const target = await startTarget((_req, res) => res.end('ok'));
    const relay = await startRelay();
    const term = await terminal(terminalEnv({ HOOKTUNNEL_HOME: home() }));
    await term.keys(`node ${CLI} ${target.port} --relay ${relay.url}`, 'Enter');
    const header = await term.see(/● online +(http:\S+)/);
    const url = /● online +(http:\S+)/.exec(header)![1]!;
    await (await fetch(`${url}/${'long-path-segment/'.repeat(8)}end`)).arrayBuffer();
    await term.see(/> \d\d:\d\d:\d\d GET +\/long-path-segment\/long-path-se… 200 /);

    await term.tmux('resize-window', '-t', 'e2e', '-x', '120', '-y', '40');
    let screen = await term.see(/GET +\/(long-path-segment\/){3}/);
    let lines = screen.split('\n');
    expect(lines.findIndex((l) => l.includes('q quit'))).toBe(38);
    await term.tmux('resize-window', '-t', 'e2e', '-x', '60', '-y', '15');
    // At 60 columns the size column goes: the heading ends with "duration".
    screen = await term.see(/code duration\n/);
    lines = screen.split('\n');
    expect(lines.findIndex((l) => l.includes('? help'))).toBe(13);
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(60);
    await term.keys('q');
  });

  it('draws with the one-file bundle of ink and React that the build makes, not their modules one by one', async () => {
    const target = await startTarget((_req, res) => res.end('ok'));
    const relay = await startRelay();
    const dir = home();
    const log = join(dir, 'modules.log');
    const hook = pathToFileURL(fileURLToPath(new URL('../helpers/module-log.mjs', import.meta.url))).href;
    const term = await terminal(terminalEnv({ HOOKTUNNEL_HOME: dir, NODE_OPTIONS: `--import=${hook}`, HOOKTUNNEL_TEST_MODULE_LOG: log }));
    await term.keys(`node ${CLI} ${target.port} --relay ${relay.url}; echo "EXITED $?"`, 'Enter');
    await term.see(/● online +http:/);
    await term.keys('q');
    await term.see(/EXITED 0/);
    const modules = readFileSync(log, 'utf8').trim().split('\n');
    expect(modules.some((m) => m.endsWith('/dist/ui/inspector/run.bundle.js'))).toBe(true);
    expect(modules.filter((m) => /\/node_modules\/(ink|react|react-reconciler|yoga-layout|es-toolkit)\//.test(m))).toEqual([]);
    expect(modules.some((m) => m.endsWith('/dist/ui/inspector/App.js'))).toBe(false);
  });

  it('with --no-ui, a terminal gets one plain line per exchange: no alternate screen, no cursor movement', async () => {
    const target = await startTarget((_req, res) => res.end('ok'));
    const relay = await startRelay();
    const term = await terminal(terminalEnv({ HOOKTUNNEL_HOME: home() }));

    await term.keys(`node ${CLI} ${target.port} --relay ${relay.url} --no-ui; echo "EXITED $?"`, 'Enter');
    const banner = await term.see(/● (http:\S+) -> http:\/\/localhost:\d+/);
    const url = /● (http:\S+) ->/.exec(banner)![1]!;
    await (await fetch(`${url}/plain?q=1`, { method: 'POST', body: 'abc' })).arrayBuffer();

    await term.see(/\d\d:\d\d:\d\d {2}POST +\/plain\?q=1 {2}200 /);
    expect(await term.alternate()).toBe(false);
    await term.keys('C-c');
    await term.see(/EXITED 0/);
  });

  it('a project with two tunnels: one inspector, a tunnel column; M switches a route to mock for the next request and back', { timeout: 60_000 }, async () => {
    const hits: string[] = [];
    const api = await startTarget((req, res) => {
      hits.push(`api ${req.url}`);
      res.end(`api:${req.url}`);
    });
    const hooks = await startTarget((req, res) => {
      hits.push(`hooks ${req.url}`);
      res.end('hooks');
    });
    const dir = home();
    writeFileSync(join(dir, 'hooktunnel.yaml'), `dataDir: .captures
tunnels:
  api:
    routes:
      - name: main
        to: ${api.port}
        mock: { status: 200, headers: { Content-Type: text/plain }, body: mocked }
  hooks:
    to: ${hooks.port}
`);
    const term = await terminal(terminalEnv({ HOOKTUNNEL_HOME: join(dir, 'home') }));
    await term.keys(`cd ${dir} && node ${CLI}; echo "EXITED $?"`, 'Enter');
    const header = await term.see(/● online +api +http:\/\/127\.0\.0\.1:\d+\/t\/[a-z0-9]+\n +hooks +http:\/\/127\.0\.0\.1:\d+\/t\/[a-z0-9]+/);
    const urlOf = (name: string): string => new RegExp(`${name} +(http://127\\.0\\.0\\.1:\\d+/t/[a-z0-9]+)`).exec(header)![1]!;
    expect(await term.alternate()).toBe(true);
    expect(header).toContain('routes api: main passthrough · hooks: #1 passthrough');
    const get = async (url: string): Promise<string> => {
      const res = await fetch(url);
      return `${res.status} ${await res.text()}`;
    };

    expect(await get(`${urlOf('hooks')}/h1`)).toBe('200 hooks');
    expect(await get(`${urlOf('api')}/a1`)).toBe('200 api:/a1');
    let screen = await term.see(/> \d\d:\d\d:\d\d api +GET +\/a1 +200 /);
    expect(screen).toMatch(/ {2}time +tunnel +method +path/);
    expect(screen).toMatch(/ {2}\d\d:\d\d:\d\d hooks +GET +\/h1 +200 /);

    // The selected row is /a1, of route main: passthrough -> ack -> mock.
    await term.keys('M');
    await term.see(/route main of api: passthrough -> ack/);
    await term.keys('M');
    screen = await term.see(/route main of api: ack -> mock/);
    expect(screen).toContain('routes api: main mock · hooks: #1 passthrough');
    expect(await get(`${urlOf('api')}/a2`)).toBe('200 mocked');
    await term.see(/> \d\d:\d\d:\d\d api +GET +\/a2 +200 /);
    // mock -> fail -> passthrough: the target answers again.
    await term.keys('M');
    await term.see(/route main of api: mock -> fail/);
    await term.keys('M');
    screen = await term.see(/route main of api: fail -> passthrough/);
    expect(screen).toContain('routes api: main passthrough');
    expect(await get(`${urlOf('api')}/a3`)).toBe('200 api:/a3');
    expect(hits).toEqual(['hooks /h1', 'api /a1', 'api /a3']);
    await term.see(/\/a3 +200 /);

    // t shows one tunnel's rows.
    await term.keys('t');
    screen = await term.see(/filter "tunnel:api": 3 of 4/);
    expect(screen).not.toMatch(/\/h1 +200/);
    // A replay goes to the route's target and keeps the tunnel and route: it passes the tunnel filter.
    await term.keys('r');
    await term.see(/replayed [a-z0-9]+ as [a-z0-9]+: 200/);
    await term.see(/api +GET +\/a3 +200 .*↻/);
    expect(hits).toEqual(['hooks /h1', 'api /a1', 'api /a3', 'api /a3']);

    await term.keys('q');
    await term.see(/EXITED 0/);
    expect(await term.alternate()).toBe(false);
    const store = CaptureStore.open(join(dir, '.captures'), { readonly: true });
    onTestFinished(() => store.close());
    expect(listCaptures(store, 10).map((c) => `${c.tunnelName} ${c.route} ${c.mode} ${c.path} ${c.target}`)).toEqual([
      `hooks #1 passthrough /h1 http://localhost:${hooks.port}`, `api main passthrough /a1 http://localhost:${api.port}`,
      'api main mock /a2 mock (route main)', `api main passthrough /a3 http://localhost:${api.port}`, `api main passthrough /a3 http://localhost:${api.port}`,
    ]);
  });
});
