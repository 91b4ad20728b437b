import type { OfflineLimits } from '../offline.js';
import type { Inbox, InboxCounts, KeptRequest } from './types.js';

interface Queue {
  items: KeptRequest[];
  bytes: number;
  /** Dropped since the agent last received the queue. */
  dropped: number;
}

/**
 * The inbox in this process's memory (`--memory`, and the embedded relay of `hooktunnel 3000`): gone with the
 * process. Every method does its work before it returns.
 */
export class MemoryInbox implements Inbox {
  private readonly queues = new Map<string, Queue>();
  private droppedTotal = 0;
  private keptTotal = 0;

  constructor(private readonly limits: Pick<OfflineLimits, 'maxCount' | 'maxBytes' | 'ttlMs'>) {}

  async keep(tunnel: string, item: KeptRequest): Promise<void> {
    const q = this.queue(tunnel);
    q.items.push(item);
    q.bytes += item.body.length;
    this.keptTotal++;
    while (q.items.length > this.limits.maxCount || q.bytes > this.limits.maxBytes) this.dropOldest(q);
  }

  async refuse(tunnel: string): Promise<void> {
    this.queue(tunnel).dropped++;
    this.droppedTotal++;
  }

  async pending(tunnel: string): Promise<{ items: KeptRequest[]; dropped: number }> {
    const q = this.queues.get(tunnel);
    if (!q) return { items: [], dropped: 0 };
    this.expireIn(q, Date.now() - this.limits.ttlMs);
    const dropped = q.dropped;
    q.dropped = 0;
    return { items: [...q.items], dropped };
  }

  async ack(tunnel: string, ids: readonly string[]): Promise<void> {
    const q = this.queues.get(tunnel);
    if (!q) return;
    const gone = new Set(ids);
    q.items = q.items.filter((item) => {
      if (!gone.has(item.head.id)) return true;
      q.bytes -= item.body.length;
      this.keptTotal--;
      return false;
    });
    if (q.items.length === 0 && q.dropped === 0) this.queues.delete(tunnel);
  }

  async forget(tunnels: readonly string[]): Promise<void> {
    for (const t of tunnels) {
      this.keptTotal -= this.queues.get(t)?.items.length ?? 0;
      this.queues.delete(t);
    }
  }

  async expire(): Promise<number> {
    const cutoff = Date.now() - this.limits.ttlMs;
    let n = 0;
    for (const q of this.queues.values()) n += this.expireIn(q, cutoff);
    return n;
  }

  counts(): InboxCounts {
    return { kept: this.keptTotal, dropped: this.droppedTotal };
  }

  private queue(tunnel: string): Queue {
    let q = this.queues.get(tunnel);
    if (!q) this.queues.set(tunnel, (q = { items: [], bytes: 0, dropped: 0 }));
    return q;
  }

  private expireIn(q: Queue, cutoff: number): number {
    let n = 0;
    while (q.items.length > 0 && q.items[0]!.head.arrivedAt < cutoff) {
      this.dropOldest(q);
      n++;
    }
    return n;
  }

  private dropOldest(q: Queue): void {
    const item = q.items.shift()!;
    q.bytes -= item.body.length;
    q.dropped++;
    this.droppedTotal++;
    this.keptTotal--;
  }
}
