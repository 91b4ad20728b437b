import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/servers.js';

// `hooktunnel relay --redis …`: what a cluster node is refused at start, each with one clear line. None of these
// reaches a Redis (the last two find nothing listening), so no redis-server is needed.

const SECRET = 'a-cluster-secret-long-enough';
const NO_ENV = { HOOKTUNNEL_REDIS: '', HOOKTUNNEL_CLUSTER_SECRET: '' };

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('hooktunnel relay --redis (cluster node): bad input', () => {
  const redis = 'redis://127.0.0.1:6399/0';
  const node = ['--cluster-url', 'http://127.0.0.1:8081'];
  it.each([
    [['--redis', redis], /--redis needs --cluster-url/],
    [['--redis', redis, ...node], /--redis needs --cluster-secret \(or HOOKTUNNEL_CLUSTER_SECRET\)/],
    [[...node], /--cluster-url needs --redis/],
    [['--redis', redis, ...node, '--cluster-secret', SECRET, '--data-dir', '/tmp/x'], /--redis goes apart from --data-dir, --memory and --state-file/],
    [['--redis', redis, ...node, '--cluster-secret', SECRET, '--memory'], /--redis goes apart from --data-dir/],
    [['--redis', 'http://127.0.0.1:6379', ...node, '--cluster-secret', SECRET], /--redis must be redis:\/\/ or rediss:\/\/, not http:\/\//],
    [['--redis', 'not a url', ...node, '--cluster-secret', SECRET], /--redis is not a URL/],
    [['--redis', 'redis://127.0.0.1:6379/db', ...node, '--cluster-secret', SECRET], /path must be a database number/],
    [['--redis', redis, '--cluster-url', 'nope', '--cluster-secret', SECRET], /--cluster-url "nope" is not a URL/],
    [['--redis', redis, '--cluster-url', 'ftp://10.0.0.5:21', '--cluster-secret', SECRET], /--cluster-url must be http:\/\/ or https:\/\//],
    [['--redis', redis, '--cluster-url', 'http://10.0.0.5:8080/relay', '--cluster-secret', SECRET], /bare origin/],
    [['--redis', redis, '--cluster-url', 'http://10.0.0.5:0', '--cluster-secret', SECRET], /not 0/],
    [['--redis', redis, ...node, '--cluster-secret', 'short-one'], /--cluster-secret must be at least 16 characters \(it is 9\)/],
  ])('relay %j exits 2 with one clear line', async (args, message) => {
    const cli = runCli(['relay', '--host', '127.0.0.1', '--port', '0', ...args], NO_ENV);
    expect(await cli.exited()).toBe(2);
    expect(cli.stderr()).toMatch(message);
    expect(cli.stderr().trim().split('\n')).toHaveLength(1);
    expect(cli.stderr()).not.toContain('short-one');
    expect(cli.stderr()).not.toContain(SECRET);
  });

  it('a Redis that cannot be reached (URL from HOOKTUNNEL_REDIS, secret from HOOKTUNNEL_CLUSTER_SECRET) exits 1 naming it, password hidden', { timeout: 20_000 }, async () => {
    const port = await closedPort();
    const cli = runCli(['relay', '--host', '127.0.0.1', '--port', '0', ...node], { HOOKTUNNEL_REDIS: `redis://:hunter2-password@127.0.0.1:${port}/0`, HOOKTUNNEL_CLUSTER_SECRET: SECRET });
    expect(await cli.exited()).toBe(1);
    expect(cli.stderr()).toMatch(new RegExp(`cannot connect to Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}/0`));
    expect(cli.stderr()).not.toContain('hunter2');
    expect(cli.stderr()).not.toContain(SECRET);
  });
});
