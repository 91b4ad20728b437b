import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveDataDir } from '../../src/paths.js';

describe('the data directory', () => {
  it('is --data-dir, else HOOKTUNNEL_HOME, else the platform data directory', () => {
    const env = { HOOKTUNNEL_HOME: '/h/home', XDG_DATA_HOME: '/x/data', LOCALAPPDATA: 'C:\\Local' };
    expect(resolveDataDir('/flag', env, 'linux')).toBe('/flag');
    expect(resolveDataDir(undefined, env, 'linux')).toBe('/h/home');
    expect(resolveDataDir(undefined, { XDG_DATA_HOME: '/x/data' }, 'linux')).toBe(join('/x/data', 'hooktunnel'));
    expect(resolveDataDir(undefined, {}, 'linux')).toBe(join(homedir(), '.local', 'share', 'hooktunnel'));
    // An empty XDG_DATA_HOME counts as unset, as the XDG spec says.
    expect(resolveDataDir(undefined, { XDG_DATA_HOME: '' }, 'linux')).toBe(join(homedir(), '.local', 'share', 'hooktunnel'));
    expect(resolveDataDir(undefined, {}, 'darwin')).toBe(join(homedir(), 'Library', 'Application Support', 'hooktunnel'));
    expect(resolveDataDir(undefined, { LOCALAPPDATA: 'C:\\Local' }, 'win32')).toBe(join('C:\\Local', 'hooktunnel'));
  });
});
