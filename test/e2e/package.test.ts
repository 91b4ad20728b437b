import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
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
    // The inspector's one-file bundle (made by the build) ships and loads from the installed package.
    const bundle = join(app, 'node_modules', 'hooktunnel', 'dist', 'ui', 'inspector', 'run.bundle.js');
    const loaded = await run(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(pathToFileURL(bundle).href)}); console.log(typeof m.runInspector);`]);
    expect(loaded.stdout.trim()).toBe('function');
  });
});
