import type { Redis } from 'ioredis';
import type { MissedHead } from '../../protocol/index.js';
import type { OfflineLimits } from '../offline.js';
import type { Inbox, InboxCounts, KeptRequest } from './types.js';

// Per tunnel T (KEYS in this order): 1 the ids in arrival order (list), 2 "bytes:arrivedAt" per id, 3 head JSON per
// id, 4 body per id (binary-safe), 5 body bytes in total, 6 dropped since the last delivery; then 7 the set of
// tunnels with an inbox, 8 the requests kept over all tunnels.
const REMOVE = `
local function remove(id)
  local m = redis.call('HGET', KEYS[2], id)
  if not m then return 0 end
  redis.call('HDEL', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
  redis.call('HDEL', KEYS[4], id)
  redis.call('DECRBY', KEYS[5], tonumber(string.match(m, '^(%d+):')))
  return 1
end
local function count_dropped(n)
  if n > 0 then
    redis.call('INCRBY', KEYS[6], n)
    redis.call('DECRBY', KEYS[8], n)
  end
  return n
end
local function expire(cutoff)
  local n = 0
  while true do
    local first = redis.call('LINDEX', KEYS[1], 0)
    if not first then break end
    local m = redis.call('HGET', KEYS[2], first)
    if m and tonumber(string.match(m, ':(%d+)$')) >= cutoff then break end
    redis.call('LPOP', KEYS[1])
    n = n + remove(first)
  end
  return count_dropped(n)
end
`;

const KEEP = `${REMOVE}
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[4] .. ':' .. ARGV[5])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[3])
redis.call('INCRBY', KEYS[5], ARGV[4])
redis.call('SADD', KEYS[7], ARGV[8])
redis.call('INCR', KEYS[8])
local dropped = 0
while redis.call('LLEN', KEYS[1]) > tonumber(ARGV[6]) or tonumber(redis.call('GET', KEYS[5])) > tonumber(ARGV[7]) do
  local old = redis.call('LPOP', KEYS[1])
  if not old then break end
  dropped = dropped + remove(old)
end
count_dropped(dropped)
return {tonumber(redis.call('GET', KEYS[8])), dropped}
`;

const PENDING = `${REMOVE}
local expired = expire(tonumber(ARGV[1]))
local dropped = tonumber(redis.call('GET', KEYS[6]) or '0')
redis.call('DEL', KEYS[6])
local out = {tonumber(redis.call('GET', KEYS[8]) or '0'), expired, dropped}
for _, id in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  table.insert(out, redis.call('HGET', KEYS[3], id))
  table.insert(out, redis.call('HGET', KEYS[4], id))
end
return out
`;

const ACK = `${REMOVE}
local n = 0
for i = 2, #ARGV do
  if remove(ARGV[i]) == 1 then
    redis.call('LREM', KEYS[1], 1, ARGV[i])
    n = n + 1
  end
end
if n > 0 then redis.call('DECRBY', KEYS[8], n) end
if redis.call('LLEN', KEYS[1]) == 0 and redis.call('EXISTS', KEYS[6]) == 0 then
  redis.call('SREM', KEYS[7], ARGV[1])
  redis.call('DEL', KEYS[5])
end
return tonumber(redis.call('GET', KEYS[8]) or '0')
`;

const FORGET = `
local n = redis.call('LLEN', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
redis.call('SREM', KEYS[7], ARGV[1])
if n > 0 then redis.call('DECRBY', KEYS[8], n) end
return tonumber(redis.call('GET', KEYS[8]) or '0')
`;

const EXPIRE = `${REMOVE}
local n = expire(tonumber(ARGV[1]))
return {tonumber(redis.call('GET', KEYS[8]) or '0'), n}
`;

type Keys = [string, string, string, string, string, string, string, string];
type Scripted = Redis & {
  htKeep(...args: [...Keys, string, string, Buffer, number, number, number, number, string]): Promise<[number, number]>;
  htPendingBuffer(...args: [...Keys, number]): Promise<Array<number | Buffer>>;
  htAck(...args: [...Keys, string, ...string[]]): Promise<number>;
  htForget(...args: [...Keys, string]): Promise<number>;
  htExpire(...args: [...Keys, number]): Promise<[number, number]>;
};

/**
 * The inbox in Redis, one set of keys per tunnel (see the scripts), each operation one script so that the limits are
 * enforced atomically on what Redis holds, whichever relay keeps or delivers. Bodies are stored as the bytes they
 * are. Single-instance Redis (or one primary): the scripts name keys of one tunnel plus two shared ones.
 */
export class RedisInbox implements Inbox {
  private readonly redis: Scripted;
  private kept = 0;
  private droppedTotal = 0;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly limits: Pick<OfflineLimits, 'maxCount' | 'maxBytes' | 'ttlMs'>,
  ) {
    for (const [name, lua] of [['htKeep', KEEP], ['htPending', PENDING], ['htAck', ACK], ['htForget', FORGET], ['htExpire', EXPIRE]] as const) {
      redis.defineCommand(name, { numberOfKeys: 8, lua });
    }
    this.redis = redis as Scripted;
  }

  private keys(tunnel: string): Keys {
    const t = `${this.prefix}inbox:${tunnel}`;
    return [t, `${t}:meta`, `${t}:head`, `${t}:body`, `${t}:bytes`, `${t}:dropped`, `${this.prefix}inboxes`, `${this.prefix}kept`];
  }

  async keep(tunnel: string, item: KeptRequest): Promise<void> {
    const { head, body } = item;
    const [kept, dropped] = await this.redis.htKeep(...this.keys(tunnel), head.id, JSON.stringify(head), body, body.length, head.arrivedAt, this.limits.maxCount, this.limits.maxBytes, tunnel);
    this.kept = kept;
    this.droppedTotal += dropped;
  }

  async refuse(tunnel: string): Promise<void> {
    await this.redis.incr(this.keys(tunnel)[5]);
    this.droppedTotal++;
  }

  async pending(tunnel: string): Promise<{ items: KeptRequest[]; dropped: number }> {
    const out = await this.redis.htPendingBuffer(...this.keys(tunnel), Date.now() - this.limits.ttlMs);
    const [kept, expired, dropped] = out as [number, number, number];
    this.kept = kept;
    this.droppedTotal += expired;
    const items: KeptRequest[] = [];
    for (let i = 3; i + 1 < out.length; i += 2) {
      items.push({ head: JSON.parse((out[i] as Buffer).toString('utf8')) as MissedHead, body: out[i + 1] as Buffer });
    }
    // The expired ones are among `dropped` (the script counted them there).
    return { items, dropped };
  }

  async ack(tunnel: string, ids: readonly string[]): Promise<void> {
    if (ids.length > 0) this.kept = await this.redis.htAck(...this.keys(tunnel), tunnel, ...ids);
  }

  async forget(tunnels: readonly string[]): Promise<void> {
    for (const t of tunnels) this.kept = await this.redis.htForget(...this.keys(t), t);
  }

  async expire(): Promise<number> {
    let n = 0;
    const cutoff = Date.now() - this.limits.ttlMs;
    for (const t of await this.redis.smembers(`${this.prefix}inboxes`)) {
      const [kept, expired] = await this.redis.htExpire(...this.keys(t), cutoff);
      this.kept = kept;
      n += expired;
    }
    this.droppedTotal += n;
    return n;
  }

  counts(): InboxCounts {
    return { kept: this.kept, dropped: this.droppedTotal };
  }
}
