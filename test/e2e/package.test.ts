import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('the npm package', () => {
  it('packs into a tarball that installs into an empty folder and runs', { timeout: 300_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hooktunnel-pack-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));

    await run('npm', ['pack', '--pack-destination', dir, '--silent'], { cwd: ROOT });
    const tarball = (await readdir(dir)).find((f) => f.endsWith('.tgz'));
    expect(tarball).toBeDefined();
    const app = join(dir, 'app');
    await run('npm', ['install', '--prefix', app, '--no-audit', '--no-fund', '--prefer-offline', join(dir, tarball!)], { cwd: dir });
    const bin = join(app, 'node_modules', '.bin', 'hooktunnel');

    const version = await run(bin, ['--version']);
    const help = await run(bin, ['--help']);

    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(help.stdout).toContain('Usage: hooktunnel');
    expect(help.stdout).toContain('relay [options]');
  });
});
