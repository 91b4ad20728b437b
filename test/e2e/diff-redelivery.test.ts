import { describe, expect, it } from 'vitest';
import { send } from '../helpers/http.js';
import { agentFor, cli, dataDir, lines, recordingTarget } from './capture-fixtures.js';

type Event = Record<string, unknown>;

/** The agent's request events so far. */
const requests = (out: string): Event[] => lines(out).filter((e) => e.type === 'request');

const stripeEvent = (amount: number): string => JSON.stringify({ id: 'evt_1NG8Du2eZvKYlo2CUI79vXWy', object: 'event', type: 'charge.succeeded', data: { object: { id: 'ch_1', amount, currency: 'usd' } } });

describe('redeliveries and diff, through the embedded relay, the CLI agent and a real target', () => {
  it('marks a repeated GitHub delivery and Stripe event id; requests --redeliveries; diff shows the change', async () => {
    const dir = dataDir();
    const { target, seen } = await recordingTarget();
    const { agent, base, prefix } = await agentFor(target.port, dir);
    const github = (delivery: string, body: string) => send(base, `${prefix}/hooks/github`, {
      method: 'POST', body, headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': delivery },
    });
    const stripe = (amount: number) => send(base, `${prefix}/hooks/stripe`, {
      method: 'POST', body: stripeEvent(amount), headers: { 'content-type': 'application/json', 'stripe-signature': 't=1700000000,v1=00', 'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)' },
    });
    for (const sent of [
      await github('72d3162e-cc78-11e3-81ab-4c9367dc0958', '{"ref":"refs/heads/main"}'),
      await github('72d3162e-cc78-11e3-81ab-4c9367dc0958', '{"ref":"refs/heads/main"}'),
      await github('99999999-cc78-11e3-81ab-4c9367dc0958', '{"ref":"refs/heads/dev"}'),
      await stripe(1000),
      await stripe(1200),
    ]) expect(sent.status).toBe(200);
    expect(seen).toHaveLength(5);
    await agent.waitForLine(/"path":"\/hooks\/stripe".*"attempt":2/);
    const [g1, g2, g3, s1, s2] = requests(agent.stdout());

    expect(g1).toMatchObject({ deliveryId: 'github:72d3162e-cc78-11e3-81ab-4c9367dc0958', attempt: 1 });
    expect(g1).not.toHaveProperty('redeliveryOf');
    expect(g2).toMatchObject({ deliveryId: 'github:72d3162e-cc78-11e3-81ab-4c9367dc0958', attempt: 2, redeliveryOf: g1!.id });
    expect(g3).toMatchObject({ deliveryId: 'github:99999999-cc78-11e3-81ab-4c9367dc0958', attempt: 1 });
    expect(g3).not.toHaveProperty('redeliveryOf');
    expect(s1).toMatchObject({ deliveryId: 'stripe:evt_1NG8Du2eZvKYlo2CUI79vXWy', attempt: 1 });
    expect(s2).toMatchObject({ deliveryId: 'stripe:evt_1NG8Du2eZvKYlo2CUI79vXWy', attempt: 2, redeliveryOf: s1!.id });

    // Another process reads the store: only the two redeliveries, with their marks; all five without the flag.
    const only = await cli(['requests', '--redeliveries', '--json'], dir);
    expect(only.code).toBe(0);
    expect(lines(only.out).map((r) => [r.id, r.attempt, r.redeliveryOf])).toEqual([[g2!.id, 2, g1!.id], [s2!.id, 2, s1!.id]]);
    expect(lines((await cli(['requests', '--json'], dir)).out)).toHaveLength(5);
    expect((await cli(['requests', '--redeliveries'], dir)).out).toContain(`redelivery #2 of ${g1!.id}`);
    const shown = JSON.parse((await cli(['show', String(s2!.id), '--json'], dir)).out) as Event;
    expect(shown).toMatchObject({ deliveryId: 'stripe:evt_1NG8Du2eZvKYlo2CUI79vXWy', attempt: 2, redeliveryOf: s1!.id });
    expect((await cli(['show', String(s2!.id)], dir)).out).toContain(`attempt 2  redelivery of ${s1!.id}`);

    // diff: exit 1 (different), the amount by path; --json for tools; a capture against itself is exit 0.
    const text = await cli(['diff', String(s1!.id), String(s2!.id).slice(0, 8)], dir);
    expect(text.code).toBe(1);
    expect(text.out).toContain('$.data.object.amount: 1000 → 1200');
    const json = await cli(['diff', String(s1!.id), String(s2!.id), '--json'], dir);
    expect(json.code).toBe(1);
    const d = JSON.parse(json.out) as { same: boolean; request: { body: { kind: string; changes: unknown[] }; path: unknown }; response: { status: unknown } };
    expect(d.same).toBe(false);
    expect(d.request.path).toBeNull();
    expect(d.response.status).toBeNull();
    expect(d.request.body).toEqual({ kind: 'json', cut: false, changes: [{ path: '$.data.object.amount', op: 'changed', a: 1000, b: 1200 }] });
    const gh = JSON.parse((await cli(['diff', String(g1!.id), String(g3!.id), '--json'], dir)).out) as { request: { headers: { changed: unknown[] }; path: unknown } };
    expect(gh.request.headers.changed).toContainEqual({ name: 'x-github-delivery', a: ['72d3162e-cc78-11e3-81ab-4c9367dc0958'], b: ['99999999-cc78-11e3-81ab-4c9367dc0958'] });
    expect(await cli(['diff', String(g1!.id), String(g1!.id)], dir)).toMatchObject({ code: 0 });

    // A replay by hooktunnel (another process, the same store) is the next attempt of the same delivery.
    const replayed = await cli(['replay', String(g1!.id), '--json'], dir);
    expect(replayed.code).toBe(0);
    expect(JSON.parse(replayed.out)).toMatchObject({ replayOf: g1!.id, redeliveryOf: g1!.id, attempt: 3, deliveryId: 'github:72d3162e-cc78-11e3-81ab-4c9367dc0958' });
    expect(seen).toHaveLength(6);
  });

  it('bad input exits 2 with one clear line: an unknown id, a malformed id, no store', async () => {
    const dir = dataDir();
    const none = await cli(['diff', 'abc', 'def'], dir);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/no captures yet/);
    const { target } = await recordingTarget();
    const { agent, base, prefix } = await agentFor(target.port, dir);
    await send(base, `${prefix}/x`, { method: 'POST', body: 'hello' });
    const [first] = requests(await agent.waitForLine(/"type":"request"/));
    const unknown = await cli(['diff', String(first!.id), 'zzzzzzzz'], dir);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/no capture with an id starting with "zzzzzzzz"/);
    const malformed = await cli(['diff', 'NOT-AN-ID', String(first!.id)], dir);
    expect(malformed.code).toBe(2);
    expect(malformed.err).toMatch(/is not a capture id/);
    expect((await cli(['diff', String(first!.id)], dir)).code).toBe(2);
  });
});
