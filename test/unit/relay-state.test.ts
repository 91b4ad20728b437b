import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { parseAllowList } from '../../src/relay/auth.js';
import type { TunnelAccess } from '../../src/relay/gate.js';
import { MemoryDirectory } from '../../src/relay/store/memory-directory.js';
import { RegistryFile } from '../../src/relay/state-file.js';

function stateFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hooktunnel-state-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'relay-state.json');
}

// The directory also saves at the end of each turn, after a test has removed its directory: those writes may fail.
const noError = (): void => {};
const access = (allowList?: string[]): TunnelAccess => ({ owner: 'token:ab', authDigest: 'f'.repeat(64), allow: allowList ? parseAllowList(allowList) : undefined, allowList });

describe('relay state file', () => {
  it('gives a restarted in-memory directory the ids it had, reserved for the owners who know their secrets', async () => {
    const path = stateFile();
    const before = new MemoryDirectory(60_000, new RegistryFile(path, noError));
    const a = await before.claim('away-one', undefined, access());
    const b = await before.claim('still-online', undefined, access(['10.1.0.0/16']));
    await before.release('away-one', a.epoch);
    before.flush();

    const text = readFileSync(path, 'utf8');
    expect(text).not.toContain(a.secret);
    expect(text).not.toContain(b.secret);
    expect(statSync(path).mode & 0o777).toBe(0o600);

    const after = new MemoryDirectory(60_000, new RegistryFile(path, noError));
    // Connected when the relay died, or away and within its reservation: both reserved now.
    expect(await after.lookup('away-one')).toMatchObject({ held: false });
    expect(await after.lookup('still-online')).toMatchObject({ held: false });
    expect((await after.lookup('still-online'))?.access.allow?.check('10.1.2.3')).toBe(true);
    expect((await after.lookup('still-online'))?.access.allow?.check('10.2.0.1')).toBe(false);
    expect((await after.lookup('away-one'))?.access).toMatchObject({ owner: 'token:ab', authDigest: 'f'.repeat(64) });
    await expect(after.claim('away-one', undefined, access())).rejects.toMatchObject({ code: 'tunnel_taken' });
    await expect(after.claim('away-one', 'a wrong secret', access())).rejects.toMatchObject({ code: 'tunnel_taken' });
    expect(await after.claim('away-one', a.secret, access())).toMatchObject({ id: 'away-one', inherited: true });
  });

  it('forgets ids whose reservation ran out, and starts empty without a file', async () => {
    const path = stateFile();
    expect(new RegistryFile(path, noError).load()).toEqual([]);
    const before = new MemoryDirectory(1, new RegistryFile(path, noError));
    const c = await before.claim('short', undefined, access());
    await before.release('short', c.epoch);
    before.flush();
    const later = Date.now() + 5;
    while (Date.now() < later) {
      // the 1 ms reservation runs out
    }
    expect(await new MemoryDirectory(1, new RegistryFile(path, noError)).lookup('short')).toBeUndefined();
  });

  it('refuses a file that is not a relay state with a clear message, and skips entries it cannot read', () => {
    const path = stateFile();
    writeFileSync(path, 'not json');
    expect(() => new RegistryFile(path, noError).load()).toThrow(/is not valid JSON: move it away/);
    writeFileSync(path, JSON.stringify({ version: 99, tunnels: [] }));
    expect(() => new RegistryFile(path, noError).load()).toThrow(/is not a hooktunnel relay state/);
    const good = { id: 'ok', secretDigest: 'a'.repeat(64), reservedUntil: Date.now() + 60_000, connected: false, meta: { owner: 'addr:127.0.0.1' } };
    writeFileSync(path, JSON.stringify({ version: 1, tunnels: [good, { ...good, id: 'bad', secretDigest: 'nothex' }, { ...good, id: 'bad2', meta: { owner: 1 } }, null] }));
    expect(new RegistryFile(path, noError).load().map((t) => t.id)).toEqual(['ok']);
  });

  it('reports a state file it cannot write and carries on', () => {
    const errors: Error[] = [];
    const file = new RegistryFile(join(stateFile(), 'no-such-dir', 'state.json'), (err) => errors.push(err));
    file.save([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/ENOENT/);
  });
});
