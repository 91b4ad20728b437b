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
import { connectRemembering, openCaptureStore, type AgentCliOptions } from './agent.js';
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
  const agents: AgentHandle[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(agents.map((a) => a.close()));
    out.flush();
    store?.close();
    await embedded?.close();
  };
  onSignals(stop);
  process.stderr.write(`${chalk.gray(`  ${loaded.file}: ${plan.tunnels.length} tunnel(s)${secrets.length > 0 ? `, verifying ${[...new Set(secrets.map((s) => s.provider))].join(', ')}` : ''}`)}\n`);
  // One ledger for all tunnels: a provider's delivery id is the same whichever tunnel it came through.
  const deliveries = store ? storeDeliveries(store) : new Deliveries();
  for (const t of plan.tunnels) {
    // Subscribed before the link opens, as for one tunnel: nothing handed over at `ready` is missed.
    const events = new EventEmitter<AgentEventMap>();
    if (store) attachRecorder(events, store, (err) => process.stderr.write(`${chalk.yellow('warning')} ${t.name}: an exchange could not be captured (${err.message})\n`));
    const sinks = { out: tagged(out, t.name, json), err: tagged(process.stderr, t.name, false) };
    events.once('ready', (ready) => attachReporter(events, ready, { json, embedded: embedded !== undefined }, sinks));
    events.on('disconnected', (d) => {
      if (d.willRetry) return;
      void stop().then(() => process.exit(EXIT_FAILURE));
    });
    const target = parseTarget(t.routes.find((r) => r.target)?.target?.display ?? NO_TARGET);
    const key = IdentityFile.key(relayUrl, `config:${loaded.file}#${t.name}`, t.subdomain);
    try {
      const agent = await connectRemembering({
        relay: relayUrl, target, subdomain: t.subdomain, auth: t.auth, allowIps: t.allowIps, hostHeader: t.hostHeader,
        timeoutMs: t.timeoutMs ?? opts.timeout * 1000, token: opts.token ?? plan.token, forwardMissed: opts.forwardMissed,
        verify: secrets.length > 0 ? { secrets } : undefined, routes: t.routes, noMatch: t.noMatch, events, deliveries,
      }, identities, key, t.subdomain !== undefined);
      agents.push(agent);
      try {
        identities.save(key, { tunnel: agent.tunnelId, secret: agent.secret, url: agent.publicUrl, savedAt: Date.now() });
      } catch (err) {
        process.stderr.write(`${chalk.yellow('warning')} ${t.name}: cannot remember the tunnel id for next time: ${(err as Error).message}\n`);
      }
    } catch (err) {
      await stop();
      fail(`tunnel ${t.name}: ${isHooktunnelError(err) ? err.message : sanitize(String(err))}`);
    }
  }
  preloadForwarding();
}
