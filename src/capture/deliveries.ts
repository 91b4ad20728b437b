import type Database from 'better-sqlite3';
import type { DeliveryLedger, DeliveryMark } from '../model/exchange.js';
import type { CaptureStore } from './store.js';

/** Delivery ids and exchange ids remembered in memory at most; older ones are looked up in the store. */
const REMEMBERED = 10_000;

/** What is known of a chain of deliveries: its first capture and the highest attempt so far. */
interface Chain {
  readonly root: string;
  readonly attempt: number;
}

/** Earlier deliveries in the store: the lookups by delivery id run on its index (O(log n)). */
interface Earlier {
  byKey(key: string): Chain | undefined;
  byId(id: string): (Chain & { readonly deliveryId?: string }) | undefined;
}

function remember<K, V>(map: Map<K, V>, key: K, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > REMEMBERED) map.delete(map.keys().next().value as K);
}

/**
 * Marks redeliveries: an exchange whose delivery id was seen before is attempt n + 1 of the first one; a replay of
 * X by hooktunnel is one too (of X's first), under X's delivery id or, when X had none, `hooktunnel:<first id>`.
 * Decided when the request has arrived, so the order is arrival order, and remembered at once (the store commits
 * the exchange only when it ends); the store is asked too, for earlier runs and other processes (`replay`).
 */
export class Deliveries implements DeliveryLedger {
  private readonly keys = new Map<string, Chain>();
  private readonly ids = new Map<string, Chain & { deliveryId: string }>();

  constructor(private readonly earlier?: Earlier) {}

  private byKey(key: string): Chain | undefined {
    const mine = this.keys.get(key);
    const stored = this.earlier?.byKey(key);
    if (!mine || !stored) return mine ?? stored;
    return { root: stored.root, attempt: Math.max(mine.attempt, stored.attempt) };
  }

  place(id: string, deliveryId: string | undefined, replayOf: string | undefined): DeliveryMark | undefined {
    let key = deliveryId;
    let known = key ? this.byKey(key) : undefined;
    if (!known && replayOf) {
      const original = this.ids.get(replayOf) ?? this.earlier?.byId(replayOf);
      const root = original?.root ?? replayOf;
      key ??= original?.deliveryId ?? `hooktunnel:${root}`;
      known = this.byKey(key) ?? { root, attempt: Math.max(1, original?.attempt ?? 1) };
    }
    if (!key) return undefined;
    const chain = { root: known?.root ?? id, attempt: (known?.attempt ?? 0) + 1 };
    remember(this.keys, key, chain);
    remember(this.ids, id, { ...chain, deliveryId: key });
    return { deliveryId: key, attempt: chain.attempt, ...(chain.root !== id ? { redeliveryOf: chain.root } : {}) };
  }
}

/** A ledger that also knows the deliveries recorded in `store` (opened for writing, format 5 or later). */
export function storeDeliveries(store: CaptureStore): Deliveries {
  const db: Database.Database = store.database;
  const key = db.prepare(`SELECT (SELECT COALESCE(redelivery_of, id) FROM captures WHERE delivery_id = @k ORDER BY seq LIMIT 1) AS root,
    (SELECT MAX(attempt) FROM captures WHERE delivery_id = @k) AS attempt`);
  const byId = db.prepare('SELECT COALESCE(redelivery_of, id) AS root, attempt, delivery_id AS deliveryId FROM captures WHERE id = ?');
  return new Deliveries({
    byKey(k) {
      const row = key.get({ k }) as { root: string | null; attempt: number | null };
      return row.root === null ? undefined : { root: row.root, attempt: Math.max(1, row.attempt ?? 1) };
    },
    byId(id) {
      const row = byId.get(id) as { root: string; attempt: number; deliveryId: string | null } | undefined;
      return row && { root: row.root, attempt: Math.max(1, row.attempt), ...(row.deliveryId ? { deliveryId: row.deliveryId } : {}) };
    },
  });
}
