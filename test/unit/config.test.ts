import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { STARTER_CONFIG } from '../../src/config/init.js';
import { findConfigFile, loadConfig } from '../../src/config/load.js';
import { planConfig } from '../../src/config/plan.js';
import { hasTool } from '../helpers/tools.js';

function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hooktunnel-config-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function write(text: string, name = 'hooktunnel.yaml', dir = folder()): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const errorOf = (file: string, env: NodeJS.ProcessEnv = {}): string => {
  try {
    loadConfig(file, env);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('loaded without an error');
};

describe('hooktunnel.yaml', () => {
  it('the starter file that init writes loads as it is: one tunnel to port 3000', () => {
    const plan = planConfig(loadConfig(write(STARTER_CONFIG), {}));
    expect(plan.tunnels.map((t) => [t.name, t.routes.map((r) => `${r.mode} ${r.target?.display}`)])).toEqual([['app', ['passthrough http://localhost:3000']]]);
    expect(plan.relay).toBeUndefined();
  });

  it('a full file: relay, token and secrets from the environment, two tunnels, routes with each mode, answers, retries', () => {
    const dir = folder();
    writeFileSync(join(dir, 'check.txt'), 'challenge-ok');
    const file = write(`
relay: \${RELAY_URL:-http://127.0.0.1:9}
token: \${TOKEN}
dataDir: .captures
verify:
  stripe: ["\${STRIPE_OLD}", "\${STRIPE_NEW}"]
  github: \${GH}
tunnels:
  payments:
    subdomain: acme-pay
    auth: \${PAY_AUTH}
    allowIps: [127.0.0.0/8]
    timeout: 2s
    routes:
      - name: invoices
        match: { method: [post], path: /stripe, body: { type: "invoice.*" } }
        to: 4001
        mode: ack
        retry: { attempts: 3, delays: [100ms, 0.5] }
      - match: { header: { X-GitHub-Event: push } }
        to: http://localhost:4002/gh
      - match: { path: /slack/* }
        mode: mock
        mock: { status: 200, headers: { Content-Type: text/plain }, bodyFile: check.txt }
      - match: { path: /boom }
        mode: fail
        fail: { status: 500 }
      - to: 127.0.0.1:4003
  admin:
    to: 5000
    noMatch: { status: 418 }
`, 'hooktunnel.yaml', dir);
    const env = { TOKEN: 't0k', STRIPE_OLD: 'whsec_old', STRIPE_NEW: 'whsec_new', GH: 'ghs', PAY_AUTH: 'u:p' };
    const plan = planConfig(loadConfig(file, env));
    const [pay, admin] = plan.tunnels;

    expect(plan.relay).toBe('http://127.0.0.1:9');
    expect(plan.token).toBe('t0k');
    expect(plan.dataDir).toBe(join(dir, '.captures'));
    expect(plan.secrets.map((s) => `${s.provider}=${s.secret}`)).toEqual(['stripe=whsec_old', 'stripe=whsec_new', 'github=ghs']);
    expect(pay).toMatchObject({ name: 'payments', subdomain: 'acme-pay', auth: 'u:p', allowIps: ['127.0.0.0/8'], timeoutMs: 2000, hostHeader: 'rewrite' });
    expect(pay!.routes.map((r) => `${r.name} ${r.mode} ${r.target?.display ?? '-'}`)).toEqual([
      'invoices ack http://localhost:4001', '#2 passthrough http://localhost:4002/gh', '#3 mock -', '#4 fail -', '#5 passthrough http://127.0.0.1:4003',
    ]);
    expect(pay!.routes[0]!.retry).toEqual({ attempts: 3, delaysMs: [100, 500] });
    expect(pay!.routes[0]!.answer).toMatchObject({ status: 202, headers: ['Content-Type', 'application/json'] });
    expect(pay!.routes[2]!.answer).toEqual({ status: 200, headers: ['Content-Type', 'text/plain'], body: Buffer.from('challenge-ok') });
    expect(pay!.routes[3]!.answer!.status).toBe(500);
    expect(pay!.noMatch.status).toBe(404);
    expect(admin!.noMatch.status).toBe(418);
  });

  it('JSON works too, with the same positions in errors', () => {
    const file = write('{\n  "tunnels": {\n    "a": { "to": 3000, "hostheader": "keep" }\n  }\n}\n', 'hooktunnel.json');
    expect(errorOf(file)).toBe('hooktunnel.json:3:24: tunnels.a: unknown key "hostheader" (did you mean "hostHeader"?); known keys: subdomain, auth, allowIps, hostHeader, timeout, to, routes, noMatch');
  });

  it('each kind of mistake names the file, line, column and field, and says what is expected', () => {
    const cases: Array<[string, string | RegExp]> = [
      ['tunnels:\n  a:\n    subdomian: x\n    to: 3000\n', 'hooktunnel.yaml:3:5: tunnels.a: unknown key "subdomian" (did you mean "subdomain"?); known keys: subdomain, auth, allowIps, hostHeader, timeout, to, routes, noMatch'],
      ['relya: http://x\ntunnels:\n  a: { to: 3000 }\n', /^hooktunnel\.yaml:1:1: \(top level\): unknown key "relya" \(did you mean "relay"\?\)/],
      ['tunnels:\n  a:\n    routes:\n      - to: 3000\n        mode: later\n', 'hooktunnel.yaml:5:15: tunnels.a.routes[0].mode: expected one of passthrough, ack, mock, fail'],
      ['tunnels:\n  a:\n    routes:\n      - match: { path: stripe }\n        to: 3000\n', 'hooktunnel.yaml:4:24: tunnels.a.routes[0].match.path: expected a path starting with /'],
      ['tunnels:\n  a:\n    routes:\n      - mode: ack\n', /^hooktunnel\.yaml:4:9: tunnels\.a\.routes\[0\]\.to: a ack route needs "to"/],
      ['tunnels:\n  a:\n    subdomain: x\n', 'hooktunnel.yaml:3:5: tunnels.a: a tunnel needs "to" or "routes"'],
      ['tunnels:\n  a:\n    to: [3000]\n', 'hooktunnel.yaml:3:9: tunnels.a.to: expected a target: a port (3000), host:port or a URL (http://localhost:3000/base)'],
      ['tunnels:\n  a:\n    to: 3000\n    timeout: soon\n', 'hooktunnel.yaml:4:14: tunnels.a.timeout: expected a duration such as 500ms, 2s or 1m'],
      ['tunnels:\n  a:\n    to: 3000\n    noMatch: { status: 99 }\n', 'hooktunnel.yaml:4:24: tunnels.a.noMatch.status: expected a status from 100 to 599'],
      ['tunnels:\n  a: { to: 3000 }\n  a: { to: 3001 }\n', /^hooktunnel\.yaml:3:3: not valid YAML: Map keys must be unique/],
      ['tunnels:\n  a: { to: 3000\n', /^hooktunnel\.yaml:\d+:\d+: not valid YAML: /],
      ['tunnels: {}\n', 'hooktunnel.yaml:1:10: tunnels: at least one tunnel'],
      ['verify:\n  stripe: ${NOT_SET}\ntunnels:\n  a: { to: 3000 }\n', 'hooktunnel.yaml:2:11: verify.stripe: ${NOT_SET} is not set in the environment'],
      ['relay: http://x\n', /^hooktunnel\.yaml:1:1: tunnels: is required/],
    ];
    for (const [text, expected] of cases) {
      const message = errorOf(write(text));
      if (typeof expected === 'string') expect(message, text).toBe(expected);
      else expect(message, text).toMatch(expected);
    }
  });

  it('a target the agent cannot use is reported with the field it came from', () => {
    const file = write('tunnels:\n  a:\n    to: ftp://x\n');
    expect(() => planConfig(loadConfig(file, {}))).toThrow(/hooktunnel\.yaml: tunnels\.a\.to: invalid target "ftp:\/\/x": only http:\/\/ and https:\/\/ targets/);
  });

  it('$$ is a literal dollar; ${NAME:-default} falls back; a set variable wins', () => {
    const file = write('tunnels:\n  a:\n    to: 3000\n    noMatch: { body: "cost: $$5 ${WHO:-nobody} ${HERE}" }\n');
    expect(planConfig(loadConfig(file, { HERE: 'here' })).tunnels[0]!.noMatch.body.toString()).toBe('cost: $5 nobody here');
  });

  it('is found in the working directory or a parent; .yaml before .json', () => {
    const root = folder();
    const deep = join(root, 'a', 'b');
    mkdirSync(deep, { recursive: true });
    expect(findConfigFile(deep)).toBeUndefined();
    writeFileSync(join(root, 'hooktunnel.json'), '{}');
    expect(findConfigFile(deep)).toBe(join(root, 'hooktunnel.json'));
    writeFileSync(join(root, 'hooktunnel.yaml'), '');
    expect(findConfigFile(deep)).toBe(join(root, 'hooktunnel.yaml'));
  });

  it.skipIf(!hasTool('git' as never) && !process.env.CI)('warns about a literal secret in a file git tracks, not about ${NAME} or an untracked file', () => {
    const dir = folder();
    const file = write('token: plain-token\nverify:\n  github: ${GH}\ntunnels:\n  a: { to: 3000, auth: "u:hunter2" }\n', 'hooktunnel.yaml', dir);
    expect(loadConfig(file, { GH: 'x' }).warnings).toEqual([]);
    const git = (...args: string[]): void => void execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: dir, stdio: 'ignore' });
    git('init', '-q');
    git('add', 'hooktunnel.yaml');
    expect(loadConfig(file, { GH: 'x' }).warnings).toEqual([
      'hooktunnel.yaml:1:8: token is a literal secret in a file git tracks: write ${NAME} and set NAME in the environment',
      'hooktunnel.yaml:5:24: tunnels.a.auth is a literal secret in a file git tracks: write ${NAME} and set NAME in the environment',
    ]);
  });
});
