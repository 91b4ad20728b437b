import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { connectAgent, type AgentHandle } from '../agent/connect.js';
import type { AgentEventMap } from '../agent/events.js';
import { replayEvents, replayCapture } from '../agent/replay.js';
import { replayFixture } from '../agent/replay-fixture.js';
import { sendEvent, type SentEvent } from '../agent/send-event.js';
import { parseTarget, type Target } from '../agent/target.js';
import { parseFixture, type Fixture } from '../capture/fixture.js';
import { findCapture, readBody } from '../capture/queries.js';
import { attachRecorder } from '../capture/recorder.js';
import { REQUEST } from '../capture/schema.js';
import { CaptureStore } from '../capture/store.js';
import { ErrorCode, HooktunnelError } from '../errors.js';
import { EXCHANGE_ID_PATTERN } from '../model/exchange.js';
import type { RelayHandle } from '../relay/server.js';
import { findSample } from '../webhooks/samples/index.js';
import type { ProviderName, WebhookSecret } from '../webhooks/types.js';
import { collectExchanges, type TestExchange } from './collector.js';
import { Mailbox } from './mailbox.js';
import type { ExchangeMatch } from './match.js';

// Node 20.18+ defines it; `await using` needs it at run time, so an older runtime gets the name Node itself uses.
(Symbol as { asyncDispose?: symbol }).asyncDispose ??= Symbol.for('nodejs.asyncDispose');

/** Options of openTestTunnel. */
export interface TestTunnelOptions {
  /** A relay to use (`http(s)://`, `ws(s)://`). Default: a relay embedded in the test process, on 127.0.0.1, port 0. */
  readonly relay?: string;
  readonly token?: string;
  /** Webhook secrets: checked on every request, and used by `send` and `replay` to sign. `{ stripe: 'whsec_…' }` or WebhookSecret[]. */
  readonly verify?: Partial<Record<ProviderName, string | readonly string[]>> | readonly WebhookSecret[];
  /** How long the target may take to start answering. Default 30 000 ms. */
  readonly timeoutMs?: number;
  /** waitFor's default timeout. Default 5 000 ms. */
  readonly waitTimeoutMs?: number;
}

/** Options of `tunnel.send`. */
export interface TestSendOptions {
  /** Appended to the public URL. Default `/`. */
  readonly path?: string;
  /** The signing secret. Default: the newest configured for the provider (`verify`). */
  readonly secret?: string;
  /** A body instead of the sample's (a string, bytes, or a value sent as JSON), signed the same way. */
  readonly body?: string | Buffer | object;
}

/** Options of `tunnel.replay`. */
export interface TestReplayOptions {
  /** Another target (port, host:port, URL). Default the tunnel's. */
  readonly to?: number | string;
  /** False: send the captured signature as it is. Default: re-signed with the configured secret. */
  readonly resign?: boolean;
}

/** A tunnel for a test: see openTestTunnel. */
export interface TestTunnel extends AsyncDisposable {
  /** The public URL: requests to it reach the target through the relay and the agent. */
  readonly publicUrl: string;
  /** The relay's URL (the embedded one's, or `options.relay`). */
  readonly relayUrl: string;
  readonly target: Target;
  /** The temporary data directory (captures.db): `hooktunnel requests --data-dir <it>` reads it. Removed by close. */
  readonly dataDir: string;
  /**
   * Resolves with the first exchange matching `match` that no earlier waitFor took, also one that arrived before
   * this call; it is then taken. Rejects after `timeoutMs` with a message listing what did arrive.
   */
  waitFor(match?: ExchangeMatch, options?: { readonly timeoutMs?: number }): Promise<TestExchange>;
  /** Every finished exchange so far, in the order they finished (replays included). */
  exchanges(): TestExchange[];
  /** Sends a signed sample event (`hooktunnel send`) to the public URL; resolves with the sender's view of the answer. */
  send(provider: ProviderName, event: string, options?: TestSendOptions): Promise<SentEvent>;
  /** Replays a capture (by id) or a fixture (a file path or a Fixture object); resolves with the replay's exchange. */
  replay(idOrFixture: string | Fixture, options?: TestReplayOptions): Promise<TestExchange>;
  /** Closes the agent, the embedded relay and the capture store, and removes the temporary data directory. */
  close(): Promise<void>;
}

function secretsOf(verify: TestTunnelOptions['verify']): WebhookSecret[] {
  if (verify === undefined) return [];
  if (Array.isArray(verify)) return [...(verify as readonly WebhookSecret[])];
  return Object.entries(verify as Record<ProviderName, string | readonly string[]>)
    .flatMap(([provider, s]) => (typeof s === 'string' ? [s] : [...s]).map((secret) => ({ provider: provider as ProviderName, secret })));
}

function bodyBytes(body: TestSendOptions['body']): Buffer | undefined {
  if (body === undefined || Buffer.isBuffer(body)) return body;
  return Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
}

/**
 * Starts a tunnel for a test: an embedded relay on loopback (or `options.relay`), an agent forwarding to `target`
 * (a port, host:port or URL), and a capture store in a temporary directory. Every exchange is collected with its
 * bodies; `waitFor` finds them. `close()` (or `await using`) stops it all and removes the directory.
 */
export async function openTestTunnel(target: number | string, options: TestTunnelOptions = {}): Promise<TestTunnel> {
  const parsed = parseTarget(String(target));
  const secrets = secretsOf(options.verify);
  const dir = mkdtempSync(join(tmpdir(), 'hooktunnel-test-'));
  const box = new Mailbox();
  let store: CaptureStore | undefined;
  let relay: RelayHandle | undefined;
  let agent: AgentHandle | undefined;
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => (closed ??= (async () => {
    box.close();
    await agent?.close();
    store?.close();
    await relay?.close();
    rmSync(dir, { recursive: true, force: true });
  })());
  const events = new EventEmitter<AgentEventMap>();
  const listen = (e: EventEmitter<AgentEventMap>): void => {
    attachRecorder(e, store!, () => {});
    collectExchanges(e, (x) => box.add(x));
  };
  try {
    store = CaptureStore.open(dir);
    listen(events);
    if (!options.relay) {
      const { createRelay } = await import('../relay/server.js');
      relay = await createRelay({ host: '127.0.0.1', port: 0, limits: { requestsPerMinute: Number.MAX_SAFE_INTEGER } });
    }
    agent = await connectAgent({
      relay: options.relay ?? relay!.url, target: parsed, token: options.token, timeoutMs: options.timeoutMs, events,
      verify: secrets.length > 0 ? { secrets } : undefined,
    });
  } catch (err) {
    await close();
    throw err;
  }
  const publicUrl = agent.publicUrl;

  const replay = async (what: string | Fixture, opts: TestReplayOptions = {}): Promise<TestExchange> => {
    const to = opts.to === undefined ? parsed : parseTarget(String(opts.to));
    const replayed = replayEvents();
    listen(replayed);
    let outcome;
    if (typeof what === 'string' && EXCHANGE_ID_PATTERN.test(what) && !existsSync(what)) {
      store!.flush();
      const c = findCapture(store!, what);
      outcome = await replayCapture(replayed, c, { target: to, capturedBody: readBody(store!, c.id, REQUEST), secrets, resign: opts.resign });
    } else {
      const fixture = typeof what === 'string' ? parseFixture(readFileSync(what, 'utf8'), what) : what;
      outcome = await replayFixture(replayed, fixture, typeof what === 'string' ? basename(what) : 'fixture', { target: to, secrets, resign: opts.resign });
    }
    return box.all.find((e) => e.id === outcome.event.id)!;
  };

  return {
    publicUrl, relayUrl: options.relay ?? relay!.url, target: parsed, dataDir: dir,
    waitFor: (match = {}, opts = {}) => box.wait(match, opts.timeoutMs ?? options.waitTimeoutMs ?? 5000),
    exchanges: () => [...box.all],
    async send(provider, event, opts = {}) {
      const sample = findSample(provider, event);
      if (!sample) throw new HooktunnelError(ErrorCode.InvalidArgument, `no sample "${event}" for ${provider} (hooktunnel send --list)`);
      const configured = secrets.filter((s) => s.provider === provider);
      const secret = opts.secret !== undefined ? { ...configured.at(-1), provider, secret: opts.secret } : configured.at(-1);
      if (!secret) throw new HooktunnelError(ErrorCode.InvalidArgument, `no secret for ${provider}: pass { secret } or openTestTunnel(…, { verify: { ${provider}: … } })`);
      return sendEvent(sample, publicUrl.replace(/\/+$/, '') + (opts.path ?? '/'), secret, { body: bodyBytes(opts.body) });
    },
    replay,
    close,
    [Symbol.asyncDispose]: close,
  };
}
