import type { Redis } from 'ioredis';
import { ErrorCode, HooktunnelError } from '../../errors.js';
import type { TunnelAccess } from '../gate.js';
import { randomSecret, randomTunnelId, secretDigest, validateTunnelId } from '../tunnel-ids.js';
import { decodeAccess, encodeAccess } from './access-codec.js';
import type { Claimed, TunnelDirectory, TunnelRecord } from './types.js';

// Each script runs atomically on the Redis server: the owner's check and the write cannot interleave with another
// relay's. Secrets are compared as SHA-256 digests (hex), never sent or stored themselves.
const CLAIM = `
local t = redis.call('HMGET', KEYS[1], 'digest', 'held', 'epoch', 'reservedUntil')
local exists = t[1] ~= false
if ARGV[6] == '1' and exists then return {-1, 0} end
local live = exists and (t[2] == '1' or tonumber(t[4]) > tonumber(ARGV[5]))
if live and t[1] ~= ARGV[2] then return {-2, 0} end
local epoch = (tonumber(t[3]) or 0) + 1
redis.call('HSET', KEYS[1], 'digest', ARGV[3], 'access', ARGV[4], 'held', '1', 'epoch', epoch, 'reservedUntil', '0')
redis.call('ZREM', KEYS[2], ARGV[1])
return {epoch, live and 1 or 0}
`;

const RELEASE = `
local t = redis.call('HMGET', KEYS[1], 'held', 'epoch')
if t[1] ~= '1' or t[2] ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'held', '0', 'reservedUntil', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 1
`;

// Single-instance Redis: the tunnel keys are derived inside the script (a Redis Cluster would need hash tags).
const SWEEP = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local gone = {}
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  local key = ARGV[2] .. id
  local t = redis.call('HMGET', key, 'held', 'reservedUntil')
  if t[1] == '0' and tonumber(t[2]) <= tonumber(ARGV[1]) then
    redis.call('DEL', key)
    table.insert(gone, id)
  end
end
return gone
`;

type Scripted = Redis & {
  htClaim(k1: string, k2: string, id: string, presented: string, digest: string, access: string, now: number, fresh: string): Promise<[number, number]>;
  htRelease(k1: string, k2: string, id: string, epoch: number, until: number): Promise<number>;
  htSweep(k1: string, now: number, prefix: string): Promise<string[]>;
};

/**
 * The tunnel directory in Redis: one hash per tunnel (`<prefix>tunnel:<id>`: digest, access, held, epoch,
 * reservedUntil) and a sorted set of reservations by end time (`<prefix>reservations`) for the sweep.
 */
export class RedisDirectory implements TunnelDirectory {
  private readonly redis: Scripted;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly reservationMs: number,
  ) {
    redis.defineCommand('htClaim', { numberOfKeys: 2, lua: CLAIM });
    redis.defineCommand('htRelease', { numberOfKeys: 2, lua: RELEASE });
    redis.defineCommand('htSweep', { numberOfKeys: 1, lua: SWEEP });
    this.redis = redis as Scripted;
  }

  private key(id: string): string {
    return `${this.prefix}tunnel:${id}`;
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
      const [epoch, live] = await this.redis.htClaim(this.key(id), this.reservations, id, presented, secretDigest(key).toString('hex'), saved, Date.now(), requested === undefined ? '1' : '0');
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
    const held = t.held === '1';
    const reservedUntil = Number(t.reservedUntil);
    if (!held && reservedUntil <= Date.now()) return undefined;
    const access = decodeAccess(JSON.parse(t.access ?? 'null'));
    if (!access) throw new HooktunnelError(ErrorCode.InvalidArgument, `the relay store has unreadable access rules for tunnel "${id}"`);
    return { id, access, held, reservedUntil };
  }

  async sweep(): Promise<string[]> {
    return this.redis.htSweep(this.reservations, Date.now(), `${this.prefix}tunnel:`);
  }
}
