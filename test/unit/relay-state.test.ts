import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { parseAllowList } from '../../src/relay/auth.js';
import type { TunnelAccess } from '../../src/relay/gate.js';
import { TunnelRegistry } from '../../src/relay/registry.js';
import { RegistryFile } from '../../src/relay/state-file.js';

function stateFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hooktunnel-state-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'relay-state.json');
}

// The registry also saves at the end of each turn, after a test has removed its directory: those writes may fail.
const noError = (): void => {};
const access = (allowList?: string[]): TunnelAccess => ({ owner: 'token:ab', authDigest: 'f'.repeat(64), allow: allowList ? parseAllowList(allowList) : undefined, allowList });

describe('relay state file', () => {
  it('gives a restarted registry the ids it had, reserved for the owners who know their secrets', () => {
    const path = stateFile();
    const before = new TunnelRegistry<object, TunnelAccess>(60_000, new RegistryFile(path, noError));
    const away = {};
    const online = {};
    const a = before.claim(away, 'away-one', undefined, access());
    const b = before.claim(online, 'still-online', undefined, access(['10.1.0.0/16']));
    before.release('away-one', away);
    before.save();

    const text = readFileSync(path, 'utf8');
    expect(text).not.toContain(a.secret);
    expect(text).not.toContain(b.secret);
    expect(statSync(path).mode & 0o777).toBe(0o600);

    const after = new TunnelRegistry<object, TunnelAccess>(60_000, new RegistryFile(path, noError));
    // Connected when the relay died, or away and within its reservation: both reserved now.
    expect(after.isReserved('away-one')).toBe(true);
    expect(after.isReserved('still-online')).toBe(true);
    expect(after.meta('still-online')?.allow?.check('10.1.2.3')).toBe(true);
    expect(after.meta('still-online')?.allow?.check('10.2.0.1')).toBe(false);
    expect(after.meta('away-one')).toMatchObject({ owner: 'token:ab', authDigest: 'f'.repeat(64) });
    expect(() => after.claim({}, 'away-one', undefined, access())).toThrow(expect.objectContaining({ code: 'tunnel_taken' }));
    expect(() => after.claim({}, 'away-one', 'a wrong secret', access())).toThrow(expect.objectContaining({ code: 'tunnel_taken' }));
    expect(after.claim({}, 'away-one', a.secret, access()).id).toBe('away-one');
  });

  it('forgets ids whose reservation ran out, and starts empty without a file', () => {
    const path = stateFile();
    expect(new RegistryFile(path, noError).load()).toEqual([]);
    const before = new TunnelRegistry<object, TunnelAccess>(1, new RegistryFile(path, noError));
    const s = {};
    before.claim(s, 'short', undefined, access());
    before.release('short', s);
    before.save();
    const later = Date.now() + 5;
    while (Date.now() < later) {
      // the 1 ms reservation runs out
    }
    expect(new TunnelRegistry<object, TunnelAccess>(1, new RegistryFile(path, noError)).isReserved('short')).toBe(false);
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
