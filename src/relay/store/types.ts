import type { MissedHead } from '../../protocol/index.js';
import type { CertStore } from '../acme/store.js';
import type { TunnelAccess } from '../gate.js';

/**
 * The seam between the relay's logic and where its state lives. What a cluster of relays would share is here, behind
 * async calls: which tunnel ids exist and who owns them (TunnelDirectory), the requests kept for absent agents
 * (Inbox) and per-token usage (UsageCounter). What stays on one relay process, the live sessions and the requests
 * waiting for an agent to come back, is in LocalTunnels (`../local.ts`) and never goes through a store: a request
 * for a tunnel whose agent is connected to this relay is served without a store call.
 */

/** One tunnel id as the directory knows it. */
export interface TunnelRecord {
  readonly id: string;
  /** What the owner asked for the tunnel (access rules); kept while it is reserved. */
  readonly access: TunnelAccess;
  /** True while an agent holds the tunnel. */
  readonly held: boolean;
  /** When the reservation of a tunnel nobody holds ends (ms since epoch). */
  readonly reservedUntil: number;
  /**
   * The cluster URL of the relay node whose agent connection holds the tunnel now (a store shared by a cluster,
   * `redis`); undefined when nobody holds it, outside a cluster, and in the memory and SQLite stores.
   */
  readonly holder?: string;
}

/** What a successful claim gives the agent and the relay. */
export interface Claimed {
  readonly id: string;
  /** The secret that proves ownership from now on (the one the agent sent, or a fresh one). */
  readonly secret: string;
  /** Increases with every claim of this id: a release with an older epoch is ignored (a replaced connection). */
  readonly epoch: number;
  /** True when the claim continued a live tunnel of the same owner (its kept requests are the owner's). */
  readonly inherited: boolean;
}

/**
 * Which tunnel ids exist and who owns them. An id is owned by whoever knows its secret: the owner may claim it
 * again (reconnect, or a new connection replacing a half-dead one); anyone else is refused (`tunnel_taken`) while it
 * is held or reserved.
 */
export interface TunnelDirectory {
  /**
   * Registers the tunnel `requested` (or a fresh random id) as held, with `access`. Rejects with `tunnel_taken`
   * when it is held or reserved and `secret` is not its owner's, `invalid_tunnel_id` for a bad name.
   */
  claim(requested: string | undefined, secret: string | undefined, access: TunnelAccess): Promise<Claimed>;
  /** The holder of claim `epoch` went away: the id stays reserved for its owner for the reservation period. */
  release(id: string, epoch: number): Promise<void>;
  /** The tunnel if it is held or reserved now; undefined for an unknown or expired id. */
  lookup(id: string): Promise<TunnelRecord | undefined>;
  /** Removes ids whose reservation ran out; resolves with them (their kept requests go too). */
  sweep(): Promise<string[]>;
  /**
   * This relay still holds these claims (called every heartbeat): a store shared by several relays extends their
   * leases, and writes back a claim it no longer has at all (a Redis restarted without its data). Resolves with the
   * ids claimed since by a newer connection (through another relay): their connections here must be closed.
   */
  renew(held: readonly HeldClaim[]): Promise<string[]>;
  /**
   * Tunnels held by an agent now, through any relay sharing this directory (the cluster's count in the metrics);
   * reserved ones are not counted. Cheap enough for every metrics scrape.
   */
  countHeld(): Promise<number>;
}

/** A claim this relay holds, with what a store needs to write it back. */
export interface HeldClaim {
  readonly id: string;
  readonly epoch: number;
  /** SHA-256 hex of the owner's secret. */
  readonly secretDigest: string;
  readonly access: TunnelAccess;
}

/** A request answered by the relay while its agent was away, kept for the agent. */
export interface KeptRequest {
  readonly head: MissedHead;
  /** The body, byte for byte as the sender sent it. */
  readonly body: Buffer;
}

/** Counts of the inbox, for the relay's metrics. */
export interface InboxCounts {
  /** Requests kept now, over all tunnels. */
  readonly kept: number;
  /** Requests dropped by the limits since this relay process started. */
  readonly dropped: number;
}

/**
 * Requests kept per tunnel for agents that are away, bounded per tunnel by count, body bytes and age (the oldest
 * go first, and are counted as dropped). Delivery is at least once: what `pending` returns stays until `ack`.
 */
export interface Inbox {
  /** Keeps `item` for `tunnel`, dropping the oldest while over the limits; resolves once it is stored. */
  keep(tunnel: string, item: KeptRequest): Promise<void>;
  /** Counts a request that could not be kept at all (it did not fit). */
  refuse(tunnel: string): Promise<void>;
  /** What is kept for `tunnel` (expired ones removed), and how many were dropped since it was last asked. */
  pending(tunnel: string): Promise<{ items: KeptRequest[]; dropped: number }>;
  /** Forgets the kept requests the agent has acknowledged. */
  ack(tunnel: string, ids: readonly string[]): Promise<void>;
  /** Forgets everything kept for `tunnels` (their reservation ran out, or a new owner took the id). */
  forget(tunnels: readonly string[]): Promise<void>;
  /** Removes requests older than the TTL over all tunnels (counted as dropped); resolves with how many. */
  expire(): Promise<number>;
  /** The counts as this relay knows them now (no store call). */
  counts(): InboxCounts;
}

/**
 * Per-token usage: tunnels held and requests in the current minute. `canOpen` is asked when an agent connects and
 * may ask a shared store; `request` is on every request's path and stays synchronous: a shared implementation counts
 * locally and reconciles with the other relays in the background (so across relays it is exact to within that
 * interval's traffic).
 */
export interface UsageCounter {
  /** True when `owner` may open one more tunnel. */
  canOpen(owner: string): Promise<boolean>;
  /** Counts a tunnel opened (+1) or closed (-1) by `owner` on this relay. */
  count(owner: string, delta: 1 | -1): void;
  /** Counts one request for `owner`; 0 when allowed, else the seconds until it may send again. */
  request(owner: string, now?: number): number;
}

/** The relay's state, in one place. */
export interface RelayStore {
  readonly directory: TunnelDirectory;
  readonly inbox: Inbox;
  readonly usage: UsageCounter;
  /** True when kept requests survive the relay process (on disk); false in memory. */
  readonly durable: boolean;
  /** Where the state is, for messages: `memory` or a file. */
  readonly location: string;
  /**
   * A store shared by several relays (Redis) keeps their ACME state too: the account key, certificates, challenge
   * tokens and the order lock. A relay with ACME uses it in place of the files of `acme.dir`. Absent for a store of
   * one relay.
   */
  certStore?(): CertStore;
  /** Writes what is pending and closes; the store is not used afterwards. */
  close(): Promise<void>;
}
