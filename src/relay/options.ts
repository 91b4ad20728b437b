import type { AcmeOptions } from './acme/index.js';
import type { RelayLimits } from './limits.js';
import type { OfflineLimits } from './offline.js';
import type { RelayStore } from './store/types.js';

/** Options of createRelay. Every field has a default. */
export interface RelayOptions {
  /** Port to listen on; 0 picks a free one. Default 8080. */
  readonly port?: number;
  /** Address to listen on. Default `0.0.0.0`. */
  readonly host?: string;
  /** Enables subdomain routing: `Host: <id>.<domain>` reaches tunnel `<id>`. */
  readonly domain?: string;
  /** Base URL to advertise (a relay behind a TLS proxy). Default: from the Host header the agent dialled. */
  readonly publicUrl?: string;
  /** How long the relay waits for an agent's response head once the request is complete. Default 120 s. */
  readonly responseTimeoutMs?: number;
  /** Ping interval; a connection that misses one whole interval is terminated. Default 5 s. */
  readonly heartbeatMs?: number;
  /** How long a disconnected tunnel's id stays reserved for its owner. Default 24 h. */
  readonly reservationMs?: number;
  /** How long close() lets in-flight requests finish. Default 5 s. */
  readonly shutdownGraceMs?: number;
  /** Requests for a tunnel whose agent is away: how long to wait, how many to keep and for how long. */
  readonly offline?: Partial<OfflineLimits>;
  /** Tokens agents must present; with none (and no tokensFile), only agents on this machine are accepted. */
  readonly tokens?: readonly string[];
  /** A file of tokens, one per line; reread by `reloadTokens()` (the CLI calls it on SIGHUP). */
  readonly tokensFile?: string;
  /** Accept agents from anywhere without a token. Anyone can then open tunnels on this relay. */
  readonly open?: boolean;
  /**
   * The relay runs behind a reverse proxy that appends the sender's address to X-Forwarded-For and sets
   * X-Forwarded-Proto (`--trust-proxy`): allow lists, per-address limits and the headers the target sees use those.
   */
  readonly trustProxy?: boolean;
  /** Size, rate and time limits (README "Limits"). */
  readonly limits?: Partial<RelayLimits>;
  /** Serve HTTPS and WSS with this certificate and key (PEM). */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  /** Serve HTTPS and WSS with certificates from an ACME directory for `domain` and its tunnel hosts (not with `tls`). */
  readonly acme?: AcmeOptions;
  /**
   * The relay's data directory (`--data-dir`): tunnel ids, owners' secret digests, reservations and the requests
   * kept for absent agents are in an SQLite file there, and survive a restart or a `kill -9` of the relay. Without
   * it (and without `store`) the relay keeps its state in memory. Throws `invalid_argument` at start for a
   * directory another relay process is using, or a file that is not a relay store.
   */
  readonly dataDir?: string;
  /**
   * The old JSON state file (`--state-file`). In memory, the relay keeps tunnel ids and reservations there across
   * restarts (kept requests stay in memory). With `dataDir`, the file is imported into the store once and renamed
   * to `<file>.migrated`. Throws `invalid_argument` at start for a file that is not a relay state.
   */
  readonly stateFile?: string;
  /** A store of the caller's (the seam `src/relay/store/types.ts`); `dataDir` and `stateFile` are then ignored. */
  readonly store?: RelayStore;
  /**
   * Makes this relay a node of a cluster sharing `redis` (README "Running relays for a team"): tunnel ids, leases
   * and kept requests are in Redis, and a request for a tunnel whose agent is connected to another node is forwarded
   * there over HTTP to `url` of that node, signed with `secret`. `store`, `dataDir` and `stateFile` go apart from it.
   */
  readonly cluster?: ClusterOptions;
  /** Told when the state file or the store cannot be written or read (the relay carries on). Default: stderr. */
  readonly onStateError?: (err: Error) => void;
  /** Told lines for the operator (a state file imported). Default: stderr. */
  readonly onNotice?: (line: string) => void;
}

/** A cluster node's options (`--redis`, `--cluster-url`, `--cluster-secret`). */
export interface ClusterOptions {
  /** `redis://[user:password@]host:port/db` or `rediss://…`. */
  readonly redis: string;
  /** How the other nodes reach this one: `http(s)://host:port`, no path. */
  readonly url: string;
  /** Shared by all nodes; at least 16 characters. */
  readonly secret: string;
  /** How long a dead node's tunnels stay held by it (it stopped renewing). Default 15 s. */
  readonly leaseMs?: number;
  /**
   * How long a node trusts what it looked up of a tunnel held by another node (that node, the tunnel's access rules)
   * before asking Redis again; a holder that refuses or cannot be reached is asked about again at once. Default 1 s.
   */
  readonly holderCacheMs?: number;
  /** Prefix of every Redis key (several clusters can share one Redis). Default `hooktunnel:`. */
  readonly prefix?: string;
}

/** Counters the relay exposes at `/_hooktunnel/metrics`. */
export interface RelayStats {
  readonly tunnels: number;
  readonly inFlight: number;
  readonly requests: number;
  readonly violations: number;
  /** Requests kept for agents that are away. */
  readonly kept: number;
  /** Kept requests dropped by the offline limits since start. */
  readonly dropped: number;
  /** Requests waiting now for an agent that is away (see AwayRequests). */
  readonly waiting: number;
}

/** A running relay. */
export interface RelayHandle {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  /** With ACME, the plain-HTTP port (challenges and redirects). */
  readonly httpPort?: number;
  stats(): RelayStats;
  /** Rereads the tokens file; resolves with the number of tokens now in force. */
  reloadTokens(): number;
  /** Stops accepting, tells agents it is going away, lets in-flight requests finish (bounded), then closes. */
  close(): Promise<void>;
}
