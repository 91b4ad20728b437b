import { describe, expect, it } from 'vitest';
import { inspector, KEY } from './harness.js';

const selected = (text: string): string | undefined => text.split('\n').find((l) => l.startsWith('> '));

describe('inspector keys', () => {
  it('arrows and j/k move the selection; moving up stops following, G follows again', async () => {
    const ui = inspector();
    for (const p of ['/a', '/b', '/c']) ui.exchange({ path: p });
    await ui.see(/> .*\/c /);

    ui.press('k');
    await ui.see(/> .*\/b /);
    ui.press(KEY.up);
    await ui.see(/> .*\/a /);
    ui.press(KEY.up);
    expect(selected(await ui.see(/> .*\/a /))).toContain('/a');
    ui.press('j');
    await ui.see(/> .*\/b /);
    ui.exchange({ path: '/d' });
    await ui.see('/d');
    expect(selected(ui.text())).toContain('/b');
    expect(ui.text()).toContain('G follow');
    ui.press('G');
    await ui.see(/> .*\/d /);
    ui.exchange({ path: '/e' });
    await ui.see(/> .*\/e /);
    ui.press(KEY.down, 'g');
    await ui.see(/> .*\/a /);
  });

  it('? shows the help, Esc closes it', async () => {
    const ui = inspector();
    ui.press('?');

    const frame = await ui.see('this help');

    for (const k of ['Enter', 'replay', 'edit the request body', 'curl command', 'filter', 'quit']) expect(frame).toContain(k);
    ui.press(KEY.escape);
    await ui.see('waiting for requests');
  });

  it('/ filters by method, path, status, status class and body text; Enter keeps the filter, Esc clears it', async () => {
    const ui = inspector();
    ui.exchange({ method: 'GET', path: '/health', status: 200 }, { request: '' });
    ui.exchange({ method: 'POST', path: '/hooks/stripe', status: 400 }, { request: '{"type":"charge.succeeded"}' });
    ui.exchange({ method: 'POST', path: '/hooks/github', status: 500 }, { request: '{"action":"opened"}' });
    await ui.see('/hooks/github');

    ui.press('/', 'h', 'o', 'o', 'k');
    let frame = await ui.see('filter: hook█');
    await ui.gone('/health');
    expect(frame).toContain('/ filter');
    ui.press(KEY.backspace, KEY.backspace, KEY.backspace, KEY.backspace, 'P', 'O', 'S', 'T');
    await ui.gone('/health');
    ui.press(KEY.enter);
    frame = await ui.see('filter "POST": 2 of 3');

    ui.press('/', '\u0015', '5', 'x', 'x', KEY.enter);
    frame = await ui.see('filter "5xx": 1 of 3');
    expect(frame).toContain('/hooks/github');
    expect(frame).not.toContain('/hooks/stripe');

    ui.press('/', '\u0015', '4', '0', '0', KEY.enter);
    await ui.see('filter "400": 1 of 3');

    // Only the body has it: the store is asked (the fake searches its bodies), nothing else reads bodies.
    ui.press('/', '\u0015', 'C', 'H', 'A', 'R', 'G', 'E', KEY.enter);
    frame = await ui.see('filter "CHARGE": 1 of 3');
    expect(frame).toContain('/hooks/stripe');
    expect(ui.calls.filter(([c]) => c === 'loadDetail')).toHaveLength(0);

    ui.press('/', '\u0015', 'n', 'o', 'p', 'e', KEY.enter);
    await ui.see('nothing matches the filter "nope"');
    ui.press(KEY.escape);
    await ui.see('/health');
    expect(ui.text()).not.toContain('filter "');
  });

  it('r replays the selected exchange: the result comes as a new row marked as a replay', async () => {
    const ui = inspector({
      overrides: {
        async replay(id) {
          ui.exchange({ path: '/orig', replayOf: id, status: 202 });
          return `replayed ${id} as new`;
        },
      },
    });
    const orig = ui.exchange({ path: '/orig' });
    await ui.see('/orig');

    ui.press('r');

    const frame = await ui.see(`replayed ${orig.id} as new`);
    const rows = frame.split('\n').filter((l) => l.includes('/orig'));
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatch(/^> .*202 .*↻/);
  });

  it('r on a detail replays the exchange shown; a failing action shows one line, not a stack trace', async () => {
    const ui = inspector({
      overrides: {
        async replay() {
          const err = new Error('connect ECONNREFUSED 127.0.0.1:3000\n    at TCPConnectWrap.afterConnect');
          throw err;
        },
        async editAndReplay() {
          throw new Error('editor not found: nosuch-editor (set $VISUAL or $EDITOR)');
        },
      },
    });
    const c = ui.exchange({ path: '/x' });
    ui.controller.flush();
    ui.press(KEY.enter);
    await ui.see('Request headers');

    ui.press('r');
    let frame = await ui.see('failed');
    expect(frame).toContain(`replaying ${c.id} failed: connect ECONNREFUSED 127.0.0.1:3000`);
    expect(frame).not.toContain('TCPConnectWrap');
    ui.press('e');
    frame = await ui.see('editor not found');
    // Longer than the terminal is wide: the notice takes the key line too, nothing of it is lost.
    expect(frame).toContain(`editing ${c.id} failed: editor not found: nosuch-editor (set $VISUAL or $EDITOR)`.slice(0, 80));
    expect(frame.split('\n').at(-1)).toBe(`editing ${c.id} failed: editor not found: nosuch-editor (set $VISUAL or $EDITOR)`.slice(80));
  });

  it('e edits and replays the selected exchange through the action', async () => {
    const ui = inspector();
    const c = ui.exchange({ path: '/edit-me' });
    await ui.see('/edit-me');

    ui.press('e');

    await ui.see(`edited ${c.id}`);
    expect(ui.calls).toContainEqual(['edit', c.id]);
  });

  it('c copies the request as curl when there is a clipboard', async () => {
    const ui = inspector();
    const c = ui.exchange({ path: '/copy-me' });
    await ui.see('/copy-me');

    ui.press('c');

    await ui.see(`curl command for ${c.id} copied to the clipboard (fakeclip)`);
    expect(ui.calls).toContainEqual(['copy', `curl -X 'POST' -H 'A: b' 'http://localhost:3000/${c.id}'`]);
  });

  it('c without a clipboard shows the command in a panel to select, and says it was not copied', async () => {
    const ui = inspector({ overrides: { copy: async () => ({ copied: false, reason: 'no clipboard tool found' }) } });
    const c = ui.exchange({ path: '/copy-me' });
    await ui.see('/copy-me');

    ui.press('c');

    const frame = await ui.see(`hooktunnel export ${c.id} --format curl`);
    expect(frame).toContain('Not copied (no clipboard tool found)');
    expect(frame).toContain(`curl \\\n  -X 'POST' \\\n  -H 'A: b' \\\n  'http://localhost:3000/${c.id}'`);
    ui.press(KEY.escape);
    await ui.see('/copy-me');
  });

  it('q and Ctrl-C quit (from the list, a page, and the filter input)', async () => {
    const ui = inspector();
    ui.press('q');
    ui.press('?');
    await ui.see('this help');
    ui.press('q', KEY.escape);
    await ui.gone('this help');
    ui.press('/', 'q');
    await ui.see('filter: q█');
    ui.press(KEY.ctrlC);

    expect(ui.calls.filter(([c]) => c === 'quit')).toHaveLength(3);
  });

  it('keys typed faster than they are read still count one by one', async () => {
    const ui = inspector();
    for (const p of ['/a', '/b', '/c']) ui.exchange({ path: p });
    await ui.see(/> .*\/c /);

    ui.press('kk');
    await ui.see(/> .*\/a /);
    ui.press('/xy\u007fz');
    await ui.see('filter: xz█');
    ui.press('\u0015\r');
    await ui.gone('filter:');
    ui.press('gj\r');
    await ui.see('POST /b');
    ui.press('\rk/c\r');
    await ui.see('filter "c": 1 of 3');
  });
});
