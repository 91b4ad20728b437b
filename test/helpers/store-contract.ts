import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { parseAllowList } from '../../src/relay/auth.js';
import type { TunnelAccess } from '../../src/relay/gate.js';
import { keptRequest, type OfflineLimits } from '../../src/relay/offline.js';
import type { Inbox, TunnelDirectory } from '../../src/relay/store/types.js';
import { secretDigest } from '../../src/relay/tunnel-ids.js';

// What every store must do, run against each implementation (memory, SQLite, Redis) with real files and servers.

const head = { method: 'POST', path: '/x', headers: ['Content-Type', 'application/octet-stream'], remote: '127.0.0.1', host: 'h' };
const access: TunnelAccess = { owner: 'token:ab' };

/** Registers the inbox tests; `make` gives a fresh, empty inbox with these limits. */
export function inboxContract(make: (limits: Pick<OfflineLimits, 'maxCount' | 'maxBytes' | 'ttlMs'>) => Inbox | Promise<Inbox>): void {
  it('keeps per tunnel, drops the oldest beyond count or bytes, and reports the drops once', async () => {
    const q = await make({ maxCount: 2, maxBytes: 10, ttlMs: 60_000 });
    for (const body of ['aaaa', 'bbbb', 'cccc', 'dddddddd']) await q.keep('t', keptRequest(head, Buffer.from(body), Date.now()));
    await q.keep('other', keptRequest(head, Buffer.from('x'), Date.now()));

    const first = await q.pending('t');
    expect(first.items.map((i) => i.body.toString())).toEqual(['dddddddd']);
    expect(first.dropped).toBe(3);
    expect((await q.pending('t')).dropped).toBe(0);
    expect(q.counts()).toEqual({ kept: 2, dropped: 3 });
    await q.ack('t', [first.items[0]!.head.id]);
    expect((await q.pending('t')).items).toEqual([]);
    expect((await q.pending('other')).items).toHaveLength(1);
    expect(q.counts().kept).toBe(1);
  });

  it('keeps at most the count per tunnel, dropping the oldest, in arrival order', async () => {
    const q = await make({ maxCount: 2, maxBytes: 1000, ttlMs: 60_000 });
    for (const body of ['a', 'b', 'c']) await q.keep('t', keptRequest(head, Buffer.from(body), Date.now()));
    expect(await q.pending('t')).toMatchObject({ items: [{ body: Buffer.from('b') }, { body: Buffer.from('c') }], dropped: 1 });
    const none = await make({ maxCount: 0, maxBytes: 1000, ttlMs: 60_000 });
    await none.keep('t', keptRequest(head, Buffer.from('x'), Date.now()));
    expect(await none.pending('t')).toEqual({ items: [], dropped: 1 });
  });

  it('expires kept requests after the TTL, on delivery and by the sweep, counting them as dropped', async () => {
    const q = await make({ maxCount: 10, maxBytes: 100, ttlMs: 1000 });
    await q.keep('t', keptRequest(head, Buffer.from('old'), Date.now() - 5000));
    await q.keep('t', keptRequest(head, Buffer.from('new'), Date.now()));
    await q.keep('u', keptRequest(head, Buffer.from('old too'), Date.now() - 5000));

    expect(await q.expire()).toBe(2);
    expect(q.counts()).toEqual({ kept: 1, dropped: 2 });
    const t = await q.pending('t');
    expect(t.items.map((i) => i.body.toString())).toEqual(['new']);
    expect(t.dropped).toBe(1);
    expect(await q.pending('u')).toEqual({ items: [], dropped: 1 });
  });

  it('keeps bodies byte for byte and heads as they came, counts refusals, and forgets a tunnel', async () => {
    const q = await make({ maxCount: 10, maxBytes: 1 << 20, ttlMs: 60_000 });
    const body = randomBytes(200 * 1024);
    const kept = keptRequest({ ...head, headers: ['X-Odd', 'caf\u00e9 \u00ff', 'X-Empty', ''] }, body, Date.now());
    await q.keep('t', kept);
    await q.refuse('t');
    const [item] = (await q.pending('t')).items;
    expect(Buffer.compare(item!.body, body)).toBe(0);
    expect(item!.head).toEqual(kept.head);
    await q.refuse('t');
    await q.forget(['t']);
    expect(await q.pending('t')).toEqual({ items: [], dropped: 0 });
    expect(q.counts()).toEqual({ kept: 0, dropped: 2 });
  });
}

/** Registers the tunnel directory tests; `make` gives a fresh, empty directory with this reservation. */
export function directoryContract(make: (reservationMs: number) => TunnelDirectory | Promise<TunnelDirectory>): void {
  it('refuses a held or reserved id to anyone without its secret, lets the owner back, and ignores a stale release', async () => {
    const d = await make(60_000);
    const first = await d.claim('mine', undefined, access);
    expect(first).toMatchObject({ id: 'mine', epoch: 1, inherited: false });
    await expect(d.claim('mine', 'guess', access)).rejects.toMatchObject({ code: 'tunnel_taken' });
    const again = await d.claim('mine', first.secret, { owner: 'token:ab', allow: parseAllowList(['10.0.0.0/8']), allowList: ['10.0.0.0/8'] });
    expect(again).toMatchObject({ epoch: 2, inherited: true, secret: first.secret });
    // The replaced connection's release names the old epoch: the new holder keeps the tunnel.
    await d.release('mine', first.epoch);
    expect(await d.lookup('mine')).toMatchObject({ held: true });
    await d.release('mine', again.epoch);
    const reserved = await d.lookup('mine');
    expect(reserved).toMatchObject({ held: false });
    expect(reserved!.reservedUntil).toBeGreaterThan(Date.now());
    expect(reserved!.access.allow?.check('10.1.2.3')).toBe(true);
    await expect(d.claim('mine', undefined, access)).rejects.toMatchObject({ code: 'tunnel_taken' });
    await expect(d.claim('www', undefined, access)).rejects.toMatchObject({ code: 'invalid_tunnel_id' });
    const random = await d.claim(undefined, undefined, access);
    expect(random.id).toMatch(/^[a-z0-9]{12}$/);
    expect(await d.lookup('nothing-here')).toBeUndefined();
  });

  it('renews the claims a relay holds, names the ones a newer connection claimed since, and writes back one the store lost', async () => {
    const d = await make(60_000);
    const held = (id: string, c: { epoch: number; secret: string }) => ({ id, epoch: c.epoch, secretDigest: secretDigest(c.secret).toString('hex'), access });
    const first = await d.claim('renewed', undefined, access);
    const other = await d.claim('other', undefined, access);
    expect(await d.renew([held('renewed', first), held('other', other)])).toEqual([]);
    const again = await d.claim('renewed', first.secret, access);
    expect(await d.renew([held('renewed', first), held('other', other)])).toEqual(['renewed']);
    expect(await d.renew([held('renewed', again)])).toEqual([]);
    // A claim the store does not have at all (a Redis restarted without its data) is written back.
    expect(await d.renew([held('restored', { epoch: 3, secret: 's3cret' })])).toEqual([]);
    expect(await d.lookup('restored')).toMatchObject({ held: true });
    await expect(d.claim('restored', 'a guess', access)).rejects.toMatchObject({ code: 'tunnel_taken' });
    expect(await d.claim('restored', 's3cret', access)).toMatchObject({ epoch: 4, inherited: true });
    expect(await d.renew([])).toEqual([]);
  });

  it('counts the tunnels held now, not the reserved ones', async () => {
    const d = await make(60_000);
    expect(await d.countHeld()).toBe(0);
    const one = await d.claim('one', undefined, access);
    await d.claim('two', undefined, access);
    // A second claim by the owner replaces the first: still one tunnel.
    await d.claim('one', one.secret, access);
    expect(await d.countHeld()).toBe(2);
    await d.release('two', 1);
    expect(await d.countHeld()).toBe(1);
  });

  it('sweeps ids whose reservation ran out; a stranger may then take the id, and inherits nothing', async () => {
    const d = await make(1);
    const c = await d.claim('brief', undefined, access);
    await d.release('brief', c.epoch);
    const later = Date.now() + 5;
    while (Date.now() < later) {
      // the 1 ms reservation runs out
    }
    expect(await d.lookup('brief')).toBeUndefined();
    expect(await d.sweep()).toEqual(['brief']);
    expect(await d.claim('brief', 'someone else', access)).toMatchObject({ inherited: false });
  });
}
