import { EventEmitter } from 'node:events';
import chalk from 'chalk';
import type { AgentHandle } from '../agent/connect.js';
import type { AgentEventMap } from '../agent/events.js';
import { preloadForwarding } from '../agent/forward.js';
import { IdentityFile } from '../agent/identity.js';
import { parseTarget } from '../agent/target.js';
import { attachRecorder } from '../capture/recorder.js';
import { findConfigFile, loadConfig, type LoadedConfig } from '../config/load.js';
import { planConfig, type Plan } from '../config/plan.js';
import { isHooktunnelError } from '../errors.js';
import { resolveDataDir } from '../paths.js';
import type { RelayHandle } from '../relay/server.js';
import { sanitize } from '../ui/format.js';
import { batchedLines, type LineSink } from '../ui/printers.js';
import { attachReporter } from '../ui/reporter.js';
import { Deliveries, storeDeliveries } from '../capture/deliveries.js';
import { connectRemembering, loadInspector, openCaptureStore, type AgentCliOptions } from './agent.js';
import type { ProjectInspector } from './inspector.js';
import type { Capture } from '../capture/queries.js';
import type { Target } from '../agent/target.js';
import { wantsInspector } from '../ui/inspector/choose.js';
import { commandSecrets } from './secrets.js';
import { EXIT_FAILURE, EXIT_USAGE, fail, onSignals } from './shared.js';

/** A tunnel whose routes all answer by themselves still needs a target on the handle: nothing is ever sent to it. */
const NO_TARGET = 'http://127.0.0.1:9';

function loadPlan(file: string | undefined): { loaded: LoadedConfig; plan: Plan } {
  const path = file ?? findConfigFile();
  if (!path) fail('missing target: the port or URL of your local server, e.g. `hooktunnel 3000`, or a hooktunnel.yaml here or above (`hooktunnel init` writes one)', EXIT_USAGE);
  try {
    const loaded = loadConfig(path);
    return { loaded, plan: planConfig(loaded) };
  } catch (err) {
    fail(isHooktunnelError(err) ? err.message : String(err), EXIT_USAGE);
  }
}

/** Lines of one tunnel among several: JSON lines get its `name`, text lines start with it. */
function tagged(sink: LineSink, name: string, json: boolean): LineSink {
  return { write: (text: string) => sink.write(json ? text.replace(/^\{/, `{"name":${JSON.stringify(name)},`) : `${chalk.cyan(name)}  ${text}`) };
}

/**
 * `hooktunnel` with no target: starts every tunnel of the project's config file in this one process, each with its
 * own stable URL and routes, into one capture store. `--relay`, `--token`, `--data-dir`, `--verify`, `--json` and
 * `--no-capture` given on the command line win over the file.
 */
export async function runProject(file: string | undefined, opts: AgentCliOptions): Promise<void> {
  const { loaded, plan } = loadPlan(file);
  for (const w of loaded.warnings) process.stderr.write(`${chalk.yellow('warning')} ${w}\n`);
  const dataDir = opts.dataDir ?? plan.dataDir;
  const secrets = [...plan.secrets, ...commandSecrets({ verify: opts.verify, dataDir })];
  const json = opts.json === true;
  // ink and React load while the relay starts (as for one tunnel).
  const inspectorLoading = wantsInspector(opts) ? loadInspector() : undefined;
  let embedded: RelayHandle | undefined;
  let relayUrl = opts.relay ?? plan.relay;
  if (!relayUrl) {
    const { createRelay } = await import('../relay/server.js');
    embedded = await createRelay({ host: '127.0.0.1', port: 0, limits: { requestsPerMinute: Number.MAX_SAFE_INTEGER } });
    relayUrl = embedded.url;
  }
  const store = opts.capture && plan.capture !== false ? openCaptureStore({ ...opts, dataDir }) : undefined;
  const identities = new IdentityFile(resolveDataDir(dataDir));
  const out = batchedLines(process.stdout);
  const agents = new Map<string, AgentHandle>();
  const inspectorModule = await inspectorLoading;
  let inspector: ProjectInspector | undefined;
  const warn = (text: string): void => {
    if (inspector) inspector.controller.notify(text, 'error');
    else process.stderr.write(`${chalk.yellow('warning')} ${text}\n`);
  };
  const stop = async (): Promise<void> => {
    inspector?.stop();
    await Promise.all([...agents.values()].map((a) => a.close()));
    out.flush();
    store?.close();
    await embedded?.close();
  };
  onSignals(stop);
  if (inspectorModule) {
    inspector = inspectorModule.startProjectInspector({
      relay: relayUrl, store, embedded: embedded !== undefined, secrets, timeoutMs: opts.timeout * 1000,
      // Replays keep the captured Host only when every tunnel does (one inspector replays for all of them).
      preserveHost: plan.tunnels.every((t) => t.hostHeader === 'preserve'),
      tunnels: plan.tunnels.map((t) => ({ name: t.name, url: '', routes: t.routes.map((r) => ({ name: r.name, mode: r.mode })) })),
      targetFor: (c) => replayTarget(plan, c),
      cycleMode: (tunnel, route) => nextMode(agents, tunnel, route),
      onQuit: () => void stop().then(() => process.exit(0)),
    });
  }
  process.stderr.write(`${chalk.gray(`  ${loaded.file}: ${plan.tunnels.length} tunnel(s)${secrets.length > 0 ? `, verifying ${[...new Set(secrets.map((s) => s.provider))].join(', ')}` : ''}`)}\n`);
  // One ledger for all tunnels: a provider's delivery id is the same whichever tunnel it came through.
  const deliveries = store ? storeDeliveries(store) : new Deliveries();
  for (const t of plan.tunnels) {
    // Subscribed before the link opens, as for one tunnel: nothing handed over at `ready` is missed.
    const events = new EventEmitter<AgentEventMap>();
    if (store) attachRecorder(events, store, (err) => warn(`${t.name}: an exchange could not be captured (${err.message})`));
    if (inspector) inspector.attach(t.name, events);
    else {
      const sinks = { out: tagged(out, t.name, json), err: tagged(process.stderr, t.name, false) };
      events.once('ready', (ready) => attachReporter(events, ready, { json, embedded: embedded !== undefined }, sinks));
    }
    events.on('disconnected', (d) => {
      if (d.willRetry) return;
      const hadInspector = inspector !== undefined;
      void stop().then(() => {
        // The inspector's screen is gone: say why once more.
        if (hadInspector) process.stderr.write(`${chalk.red('offline')} ${t.name}: ${sanitize(d.reason)}\n`);
        process.exit(EXIT_FAILURE);
      });
    });
    const target = parseTarget(t.routes.find((r) => r.target)?.target?.display ?? NO_TARGET);
    const key = IdentityFile.key(relayUrl, `config:${loaded.file}#${t.name}`, t.subdomain);
    try {
      const agent = await connectRemembering({
        relay: relayUrl, target, subdomain: t.subdomain, auth: t.auth, allowIps: t.allowIps, hostHeader: t.hostHeader,
        timeoutMs: t.timeoutMs ?? opts.timeout * 1000, token: opts.token ?? plan.token, forwardMissed: opts.forwardMissed,
        verify: secrets.length > 0 ? { secrets } : undefined, routes: t.routes, noMatch: t.noMatch, events, name: t.name, deliveries,
      }, identities, key, t.subdomain !== undefined);
      agents.set(t.name, agent);
      try {
        identities.save(key, { tunnel: agent.tunnelId, secret: agent.secret, url: agent.publicUrl, savedAt: Date.now() });
      } catch (err) {
        warn(`${t.name}: cannot remember the tunnel id for next time: ${(err as Error).message}`);
      }
    } catch (err) {
      await stop();
      fail(`tunnel ${t.name}: ${isHooktunnelError(err) ? err.message : sanitize(String(err))}`);
    }
  }
  // Drawn once every tunnel is up: the exchanges that came meanwhile are in its list already.
  inspector?.draw();
  preloadForwarding();
}

/**
 * Where the inspector replays a capture: to its route's target as the config has it now; a capture of a route
 * without one (a mock or fail route, the noMatch answer) was never forwarded and has nowhere to go.
 */
function replayTarget(plan: Plan, c: Capture): Target {
  const route = plan.tunnels.find((t) => t.name === c.tunnelName)?.routes.find((r) => r.name === c.route);
  if (route?.target) return route.target;
  try {
    return parseTarget(c.target);
  } catch {
    throw new Error(`${c.id} was answered by ${c.target}, not forwarded: there is no target to replay it to`);
  }
}

/** Switches a route to the next mode it can run in (passthrough, ack, mock, fail, round again); the notice's sentence. */
function nextMode(agents: ReadonlyMap<string, AgentHandle>, tunnel: string, route: string): string {
  const agent = agents.get(tunnel);
  if (!agent) throw new Error(`tunnel ${tunnel} is not connected yet`);
  const now = agent.routes().find((r) => r.name === route);
  if (!now) throw new Error(`tunnel ${tunnel} has no route ${route} (any more)`);
  const next = now.modes[(now.modes.indexOf(now.mode) + 1) % now.modes.length]!;
  agent.setMode(route, next);
  return `route ${route} of ${tunnel}: ${now.mode} -> ${next}, from the next request on`;
}
