import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import chalk from 'chalk';
import { connectAgent, type AgentHandle, type AgentOptions } from '../agent/connect.js';
import type { AgentEventMap } from '../agent/events.js';
import { preloadForwarding } from '../agent/forward.js';
import { IdentityFile } from '../agent/identity.js';
import type { Target } from '../agent/target.js';
import { Deliveries, storeDeliveries } from '../capture/deliveries.js';
import { attachRecorder } from '../capture/recorder.js';
import { CaptureStore } from '../capture/store.js';
import { ErrorCode, isHooktunnelError } from '../errors.js';
import { resolveDataDir } from '../paths.js';
import type { RelayHandle } from '../relay/server.js';
import { sanitize } from '../ui/format.js';
import { batchedLines } from '../ui/printers.js';
import { attachReporter } from '../ui/reporter.js';
import { wantsInspector } from '../ui/inspector/choose.js';
import type { RunningInspector } from './inspector.js';
import { EXIT_FAILURE, EXIT_USAGE, fail, onSignals } from './shared.js';
import { commandSecrets } from './secrets.js';

/** Port the embedded relay tries first, so the local URL stays the same between runs; any free port otherwise. */
const EMBEDDED_RELAY_PORT = 7071;

/** The agent command's options, as commander parsed them (agent-command.ts). */
export interface AgentCliOptions {
  relay?: string;
  subdomain?: string;
  json?: boolean;
  /** False with --no-ui. */
  ui: boolean;
  hostHeader: 'rewrite' | 'preserve';
  timeout: number;
  dataDir?: string;
  forwardMissed?: boolean;
  token?: string;
  auth?: string;
  allowIp?: string[];
  ca?: string;
  capture: boolean;
  captureMaxBody: number;
  retain: number;
  retainBytes: number;
  verify?: string[];
  /** `--config FILE`: the project's config file instead of the one found from the working directory. */
  config?: string;
}

/** Connects, preferring the tunnel id this machine held last time on this relay (same URL as before). */
export async function connectRemembering(options: AgentOptions, identities: IdentityFile, key: string, named: boolean): Promise<AgentHandle> {
  const remembered = identities.load(key);
  try {
    return await connectAgent({ ...options, subdomain: options.subdomain ?? remembered?.tunnel, secret: remembered?.secret });
  } catch (err) {
    // The id used last time is held by someone else now: a new URL beats no URL.
    if (!named && remembered && isHooktunnelError(err, ErrorCode.TunnelTaken)) return connectAgent(options);
    throw err;
  }
}

/** `hooktunnel <target>`: connects (to the embedded relay unless `--relay`), captures, shows the exchanges until stopped. */
export async function runAgent(target: Target | undefined, opts: AgentCliOptions): Promise<void> {
  if (!target) fail('missing target: the port or URL of your local server, e.g. `hooktunnel 3000`', EXIT_USAGE);
  let ca: Buffer | undefined;
  try {
    ca = opts.ca ? readFileSync(opts.ca) : undefined;
  } catch (err) {
    fail(`cannot read --ca ${opts.ca}: ${(err as Error).message}`, EXIT_USAGE);
  }
  const secrets = commandSecrets(opts);
  // ink and React take the longest to load: they load while the relay starts and the store opens.
  const inspectorLoading = wantsInspector(opts) ? loadInspector() : undefined;
  let embedded: RelayHandle | undefined;
  let relayUrl = opts.relay;
  if (!relayUrl) {
    const { createRelay } = await import('../relay/server.js');
    // Only this machine can reach it, so no per-minute cap: a local load test through the tunnel is yours to run.
    const limits = { requestsPerMinute: Number.MAX_SAFE_INTEGER };
    embedded = await createRelay({ host: '127.0.0.1', port: EMBEDDED_RELAY_PORT, limits }).catch(() => createRelay({ host: '127.0.0.1', port: 0, limits }));
    relayUrl = embedded.url;
  }
  const identities = new IdentityFile(resolveDataDir(opts.dataDir));
  const key = IdentityFile.key(relayUrl, target.display, opts.subdomain);
  const options: AgentOptions = {
    relay: relayUrl, target, subdomain: opts.subdomain, hostHeader: opts.hostHeader, timeoutMs: opts.timeout * 1000,
    forwardMissed: opts.forwardMissed, token: opts.token, auth: opts.auth, allowIps: opts.allowIp, ca,
    verify: secrets.length > 0 ? { secrets } : undefined,
  };
  // Everything that listens to the agent is in place before the first connection: a request the relay hands over
  // right behind `ready` (one held while this agent was restarting, a kept one) is captured and shown like any other.
  const events = new EventEmitter<AgentEventMap>();
  const store = opts.capture ? openCaptureStore(opts) : undefined;
  // The agent's and the inspector's replays share it: a replay from the inspector counts among the attempts.
  const deliveries = store ? storeDeliveries(store) : new Deliveries();
  let inspector: RunningInspector | undefined;
  if (store) {
    attachRecorder(events, store, (err) => {
      const text = `an exchange could not be captured (${err.message}); forwarding goes on, later capture failures are not reported`;
      if (inspector) inspector.controller.notify(text, 'error');
      else process.stderr.write(`${chalk.yellow('warning')} ${text}\n`);
    });
  }
  const inspectorModule = await inspectorLoading;
  // The last lines (the final state, exchanges failed by close()) must reach stdout before the process exits.
  const out = batchedLines(process.stdout);
  let agent: AgentHandle | undefined;
  const stop = async (): Promise<void> => {
    inspector?.stop();
    await agent?.close();
    out.flush();
    store?.close();
    await embedded?.close();
  };
  // The first `ready` starts the screen or the printer, synchronously, before the agent hands over any request.
  events.once('ready', (ready) => {
    if (inspectorModule) {
      inspector = inspectorModule.startInspector({
        events, target, store, deliveries, ready, embedded: embedded !== undefined, preserveHost: opts.hostHeader === 'preserve', timeoutMs: opts.timeout * 1000, secrets,
        onQuit: () => void stop().then(() => process.exit(0)),
      });
    } else {
      attachReporter(events, ready, { json: opts.json === true, embedded: embedded !== undefined }, { out, err: process.stderr });
    }
    // The URL is out: load the forwarding code (undici) now, so the first request does not wait for it.
    preloadForwarding();
  });
  let offlineReason: string | undefined;
  events.on('state', (e) => {
    if (e.state === 'offline') offlineReason = e.reason;
  });
  events.on('disconnected', (d) => {
    if (d.willRetry) return;
    const hadInspector = inspector !== undefined;
    void stop().then(() => {
      // The plain printer has said it already; the inspector's screen is gone, so say it once more.
      if (hadInspector) process.stderr.write(`${chalk.red('offline')} ${sanitize(offlineReason ?? d.reason)}\n`);
      process.exit(EXIT_FAILURE);
    });
  });
  if (secrets.length > 0) {
    // Provider names only: secrets are never printed.
    const providers = [...new Set(secrets.map((s) => s.provider))].join(', ');
    process.stderr.write(`${chalk.gray(`  verifying webhook signatures: ${providers}`)}\n`);
  }
  // Before anything says the tunnel is ready: whoever reads that may signal us at once.
  onSignals(stop);
  try {
    agent = await connectRemembering({ ...options, events, deliveries }, identities, key, opts.subdomain !== undefined);
  } catch (err) {
    inspector?.stop();
    store?.close();
    await embedded?.close();
    fail(isHooktunnelError(err) ? err.message : String(err));
  }
  try {
    identities.save(key, { tunnel: agent.tunnelId, secret: agent.secret, url: agent.publicUrl, savedAt: Date.now() });
  } catch (err) {
    process.stderr.write(`${chalk.yellow('warning')} cannot remember the tunnel id for next time: ${(err as Error).message}\n`);
  }
}

/**
 * Loads the inspector (React and ink: not needed without a terminal) with React's production build, whatever
 * NODE_ENV says: the development build is several times slower and keeps more memory with every redraw. NODE_ENV is
 * read when React loads and put back afterwards, so the editor and clipboard programs see the user's own.
 */
export async function loadInspector(): Promise<typeof import('./inspector.js')> {
  const previous = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    return await import('./inspector.js');
  } finally {
    if (previous === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = previous;
  }
}

/** Opens the capture store; a store that cannot be opened is a warning, never a reason not to forward. */
export function openCaptureStore(opts: AgentCliOptions): CaptureStore | undefined {
  try {
    return CaptureStore.open(resolveDataDir(opts.dataDir), { maxBodyBytes: opts.captureMaxBody, retain: opts.retain, retainBytes: opts.retainBytes });
  } catch (err) {
    process.stderr.write(`${chalk.yellow('warning')} captures are not recorded: ${(err as Error).message}\n`);
    return undefined;
  }
}
