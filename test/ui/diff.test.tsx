import { describe, expect, it } from 'vitest';
import { inspector, KEY } from './harness.js';

const amount = (n: number): string => JSON.stringify({ id: 'evt_1', data: { object: { amount: n, currency: 'usd' } } });

describe('inspector: mark and diff, redeliveries', () => {
  it('m marks the selected exchange, d shows the diff of another against it, scrollable; Esc goes back', async () => {
    const ui = inspector({ size: { columns: 100, rows: 16 } });
    ui.exchange({ path: '/first', requestHeaders: ['Content-Type', 'application/json', 'X-Old', '1'] }, { request: amount(1000) });
    ui.exchange({ path: '/second', requestHeaders: ['Content-Type', 'application/json', 'X-New', '2'], status: 500 }, { request: amount(1200) });
    await ui.see(/> .*\/second/);
    expect(ui.text()).toContain('m/d diff');

    ui.press('d');
    await ui.see('mark an exchange with m first');
    ui.press('k', 'm');
    await ui.see(/>•\d.*\/first/);
    await ui.see('marked ex');
    ui.press('d');
    await ui.see('is the marked exchange');
    ui.press('j', 'd');
    const page = await ui.see('$.data.object.amount: 1000 → 1200');
    expect(page).toContain('path: /first → /second');
    expect(page).not.toContain('/first  ');
    expect(ui.calls.filter(([c]) => c === 'diff')).toHaveLength(1);
    // Longer than the page: it scrolls, and says where it is.
    await ui.see(/ 1-\d+\/\d+/);
    ui.press('G');
    await ui.see('── Signature ──');
    await ui.see('a: not verified   b: not verified');
    ui.press(KEY.escape);
    await ui.see(/> \d.*\/second/);
    await ui.see(/ •\d.*\/first/);

    // m on the marked row unmarks it.
    ui.press('k', 'm');
    await ui.see('unmarked ex');
    await ui.gone('•');
  });

  it('a redelivery is marked ↺ in the list, counted in the header, and is:redelivery filters to it', async () => {
    const ui = inspector();
    const first = ui.exchange({ path: '/hooks/github', deliveryId: 'github:abc', attempt: 1 });
    ui.exchange({ path: '/other' });
    ui.exchange({ path: '/hooks/github', deliveryId: 'github:abc', attempt: 2, redeliveryOf: first.id });
    await ui.see('1 redelivery');
    const rows = ui.text().split('\n').filter((l) => l.includes('/hooks/github'));
    expect(rows).toHaveLength(2);
    expect(rows[0]).not.toContain('↺');
    expect(rows[1]).toContain('↺');

    ui.press('/', ...'is:redelivery', KEY.enter);
    await ui.see('filter "is:redelivery": 1 of 3');
    expect(ui.text()).not.toContain('/other');
    expect(ui.text().split('\n').filter((l) => l.includes('/hooks/github'))).toHaveLength(1);
    ui.press(KEY.escape);
    await ui.see('/other');
  });
});
