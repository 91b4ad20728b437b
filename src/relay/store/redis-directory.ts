import type { Redis } from 'ioredis';
import { ErrorCode, HooktunnelError } from '../../errors.js';
import type { TunnelAccess } from '../gate.js';
import { randomSecret, randomTunnelId, secretDigest, validateTunnelId } from '../tunnel-ids.js';
import { decodeAccess, encodeAccess } from './access-codec.js';
import type { Claimed, HeldClaim, TunnelDirectory, TunnelRecord } from './types.js';

// Each script runs atomically on the Redis server: the owner's check and the write cannot interleave with another
// relay's. Secrets are compared as SHA-256 digests (hex), never sent or stored themselves. A held tunnel is a lease
// (heldUntil) its relay renews every heartbeat; reservedUntil is always the end of the reservation should the
// holder vanish now (released, or its relay dead and the lease run out), so "live" is reservedUntil > now.
const CLAIM = `
local t = redis.call('HMGET', KEYS[1], 'digest', 'epoch', 'reservedUntil', 'ownerKey')
local exists = t[1] ~= false
if ARGV[6] == '1' and exists then return {-1, 0} end
local live = exists and tonumber(t[3]) > tonumber(ARGV[5])
if live and t[1] ~= ARGV[2] then return {-2, 0} end
local epoch = (tonumber(t[2]) or 0) + 1
local heldUntil = tonumber(ARGV[5]) + tonumber(ARGV[7])
local reservedUntil = heldUntil + tonumber(ARGV[8])
redis.call('HSET', KEYS[1], 'digest', ARGV[3], 'access', ARGV[4], 'held', '1', 'epoch', epoch, 'heldUntil', heldUntil, 'reservedUntil', reservedUntil, 'ownerKey', KEYS[3], 'holder', ARGV[9])
redis.call('ZADD', KEYS[2], reservedUntil, ARGV[1])
if t[4] and t[4] ~= KEYS[3] then redis.call('ZREM', t[4], ARGV[1]) end
redis.call('ZADD', KEYS[3], heldUntil, ARGV[1])
return {epoch, live and 1 or 0}
`;

const RELEASE = `
local t = redis.call('HMGET', KEYS[1], 'held', 'epoch', 'ownerKey')
if t[1] ~= '1' or t[2] ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'held', '0', 'heldUntil', '0', 'reservedUntil', ARGV[3])
redis.call('HDEL', KEYS[1], 'holder')
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
if t[3] then redis.call('ZREM', t[3], ARGV[1]) end
return 1
`;

// A claim missing altogether (Redis restarted without its data) is written back from what the relay holds.
const RENEW = `
local t = redis.call('HMGET', KEYS[1], 'epoch')
if t[1] and t[1] ~= ARGV[2] then return 0 end
local heldUntil = tonumber(ARGV[3]) + tonumber(ARGV[4])
local reservedUntil = heldUntil + tonumber(ARGV[5])
if not t[1] then
  redis.call('HSET', KEYS[1], 'digest', ARGV[6], 'access', ARGV[7], 'held', '1', 'epoch', ARGV[2], 'ownerKey', KEYS[3])
end
redis.call('HSET', KEYS[1], 'heldUntil', heldUntil, 'reservedUntil', reservedUntil, 'holder', ARGV[8])
redis.call('ZADD', KEYS[2], reservedUntil, ARGV[1])
redis.call('ZADD', KEYS[3], heldUntil, ARGV[1])
return 1
`;

// Single-instance Redis: tunnel and owner keys are also derived inside the scripts (a Redis Cluster would need
// hash tags). Each owner's held tunnels are a sorted set by lease end (`<prefix>owner:<owner>`): the tunnels per
// token across relays are those with a lease not yet ended.
const SWEEP = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local gone = {}
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  local key = ARGV[2] .. id
  local t = redis.call('HMGET', key, 'reservedUntil', 'ownerKey')
  local ends = tonumber(t[1])
  if ends and ends <= tonumber(ARGV[1]) then
    if t[2] then redis.call('ZREM', t[2], id) end
    redis.call('DEL', key)
    table.insert(gone, id)
  end
end
return gone
`;

type Scripted = Redis & {
  htClaim(k1: string, k2: string, k3: string, id: string, presented: string, digest: string, access: string, now: number, fresh: string, leaseMs: number, reservationMs: number, holder: string): Promise<[number, number]>;
  htRenew(k1: string, k2: string, k3: string, id: string, epoch: number, now: number, leaseMs: number, reservationMs: number, digest: string, access: string, holder: string): Promise<number>;
  htRelease(k1: string, k2: string, id: string, epoch: number, until: number): Promise<number>;
  htSweep(k1: string, now: number, prefix: string): Promise<string[]>;
};

/**
 * The tunnel directory in Redis, shared by every relay on it: one hash per tunnel (`<prefix>tunnel:<id>`: digest,
 * access, held, epoch, heldUntil, reservedUntil, holder) and a sorted set of reservation ends (`<prefix>reservations`)
 * for the sweep. The epoch fences: a claim through another relay increments it, and the old relay's renewal and
 * release then do nothing (renew reports the tunnel lost). `holder` is the cluster URL of the relay whose agent
 * connection holds the lease (empty for a relay outside a cluster): other nodes forward the tunnel's requests there.
 */
export class RedisDirectory implements TunnelDirectory {
  private readonly redis: Scripted;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly reservationMs: number,
    /** How long a claim holds without renewal: a relay that dies loses its tunnels after this (then reserved). */
    private readonly leaseMs: number,
    /** This relay's cluster URL, written into the claims it holds ('' outside a cluster). */
    private readonly holder = '',
  ) {
    redis.defineCommand('htClaim', { numberOfKeys: 3, lua: CLAIM });
    redis.defineCommand('htRelease', { numberOfKeys: 2, lua: RELEASE });
    redis.defineCommand('htRenew', { numberOfKeys: 3, lua: RENEW });
    redis.defineCommand('htSweep', { numberOfKeys: 1, lua: SWEEP });
    this.redis = redis as Scripted;
  }

  private key(id: string): string {
    return `${this.prefix}tunnel:${id}`;
  }

  /** The sorted set of `owner`'s held tunnels by lease end. */
  ownerKey(owner: string): string {
    return `${this.prefix}owner:${owner}`;
  }

  /** Tunnels `owner` holds through any relay now (leases not yet ended). */
  async heldBy(owner: string): Promise<number> {
    return this.redis.zcount(this.ownerKey(owner), `(${Date.now()}`, '+inf');
  }

  private get reservations(): string {
    return `${this.prefix}reservations`;
  }

  async claim(requested: string | undefined, secret: string | undefined, access: TunnelAccess): Promise<Claimed> {
    if (requested !== undefined) validateTunnelId(requested);
    const key = secret ?? randomSecret();
    const presented = secret === undefined ? '' : secretDigest(secret).toString('hex');
    const saved = JSON.stringify(encodeAccess(access));
    // A random id that happens to exist is drawn again (62 bits: in practice never).
    for (let attempt = 0; attempt < 10; attempt++) {
      const id = requested ?? randomTunnelId();
      const [epoch, live] = await this.redis.htClaim(this.key(id), this.reservations, this.ownerKey(access.owner), id, presented, secretDigest(key).toString('hex'), saved, Date.now(), requested === undefined ? '1' : '0', this.leaseMs, this.reservationMs, this.holder);
      if (epoch === -2) throw new HooktunnelError(ErrorCode.TunnelTaken, `tunnel id "${id}" is in use by another agent`);
      if (epoch > 0) return { id, secret: key, epoch, inherited: live === 1 };
    }
    throw new Error('could not draw a free random tunnel id');
  }

  async release(id: string, epoch: number): Promise<void> {
    await this.redis.htRelease(this.key(id), this.reservations, id, epoch, Date.now() + this.reservationMs);
  }

  async lookup(id: string): Promise<TunnelRecord | undefined> {
    const t = await this.redis.hgetall(this.key(id));
    if (t.digest === undefined) return undefined;
    const now = Date.now();
    const held = t.held === '1' && Number(t.heldUntil) > now;
    const reservedUntil = Number(t.reservedUntil);
    if (reservedUntil <= now) return undefined;
    const access = decodeAccess(JSON.parse(t.access ?? 'null'));
    if (!access) throw new HooktunnelError(ErrorCode.InvalidArgument, `the relay store has unreadable access rules for tunnel "${id}"`);
    return { id, access, held, reservedUntil, holder: held && t.holder ? t.holder : undefined };
  }

  async renew(held: readonly HeldClaim[]): Promise<string[]> {
    if (held.length === 0) return [];
    const now = Date.now();
    // One pipeline: one round trip per heartbeat, whatever the number of tunnels.
    const pipeline = this.redis.pipeline() as unknown as { htRenew: Scripted['htRenew']; exec(): Promise<Array<[Error | null, unknown]> | null> };
    for (const h of held) {
      pipeline.htRenew(this.key(h.id), this.reservations, this.ownerKey(h.access.owner), h.id, h.epoch, now, this.leaseMs, this.reservationMs, h.secretDigest, JSON.stringify(encodeAccess(h.access)), this.holder);
    }
    const results = (await pipeline.exec()) ?? [];
    const lost: string[] = [];
    results.forEach(([err, kept], i) => {
      if (err) throw err;
      if (kept !== 1) lost.push(held[i]!.id);
    });
    return lost;
  }

  /**
   * Leases not yet ended, summed over the owners' sorted sets (a SCAN of `<prefix>owner:*` and one ZCOUNT each,
   * pipelined): no extra key for the claim scripts to keep, and cheap for the number of owners a relay has.
   */
  async countHeld(): Promise<number> {
    const now = `(${Date.now()}`;
    const pattern = `${this.prefix.replace(/[*?[\]\\]/g, '\\$&')}owner:*`;
    let cursor = '0';
    let held = 0;
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      if (keys.length === 0) continue;
      const pipeline = this.redis.pipeline();
      for (const key of keys) pipeline.zcount(key, now, '+inf');
      for (const [err, n] of (await pipeline.exec()) ?? []) {
        if (err) throw err;
        held += Number(n);
      }
    } while (cursor !== '0');
    return held;
  }

  async sweep(): Promise<string[]> {
    return this.redis.htSweep(this.reservations, Date.now(), `${this.prefix}tunnel:`);
  }
}
