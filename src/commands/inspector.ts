import type { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentEventMap, ReadyEvent, RequestEvent } from '../agent/events.js';
import { replayCapture, replayEvents } from '../agent/replay.js';
import type { Target } from '../agent/target.js';
import { toCurl } from '../capture/curl.js';
import { diffExchanges, type DiffSide } from '../capture/diff.js';
import { diffLines } from '../ui/diff-lines.js';
import { findCapture, listCaptures, partialRequestBody, readBody, type Capture } from '../capture/queries.js';
import { attachRecorder } from '../capture/recorder.js';
import { REQUEST, RESPONSE } from '../capture/schema.js';
import { searchBodies } from '../capture/search.js';
import type { CaptureStore } from '../capture/store.js';
import type { DeliveryLedger } from '../model/exchange.js';
import { headerValue } from '../protocol/headers.js';
import { describePartialBody, formatBytes, formatDuration } from '../ui/format.js';
import { InspectorController, type InspectorActions, type ProjectTunnel, type TunnelInfo } from '../ui/inspector/controller.js';
import { detailLines } from '../ui/inspector/detail-lines.js';
import { loadInspectorUi } from '../ui/inspector/load.js';
import type { InspectorHandle } from '../ui/inspector/run.js';
import { copyToClipboard } from './clipboard.js';
import { editorCommand, runEditor } from './editor.js';
import type { WebhookSecret } from '../webhooks/types.js';
import { describeResign } from '../webhooks/resign.js';

// ink and React load with this module (it is imported only when the inspector runs), as one bundle when built.
const { runInspector } = await loadInspectorUi();

/** What the inspector needs from the running agent. */
export interface InspectorSetup {
  /** The agent's events (subscribed to when the inspector starts, from the first `ready` on). */
  readonly events: EventEmitter<AgentEventMap>;
  /** Where the agent forwards: replays go there too. */
  readonly target: Target;
  readonly store: CaptureStore | undefined;
  /** The agent's ledger of deliveries: replays are redeliveries of what they replay. */
  readonly deliveries?: DeliveryLedger;
  readonly ready: ReadyEvent;
  readonly embedded: boolean;
  /** The agent's `--host-header preserve`: replays keep the captured Host too. */
  readonly preserveHost: boolean;
  readonly timeoutMs: number;
  /** The agent's `--verify` secrets: replays (`r`, `e`) are re-signed with them and their signature checked. */
  readonly secrets: readonly WebhookSecret[];
  /** Called on `q` / Ctrl-C, after the terminal was given back. */
  readonly onQuit: () => void;
}

/** What a project run's inspector needs: the tunnels' emitters are attached as each tunnel is set up. */
export interface ProjectInspectorSetup extends Omit<InspectorSetup, 'events' | 'target' | 'ready'> {
  readonly relay: string;
  /** The tunnels in the config file's order, with their routes and modes at start. */
  readonly tunnels: readonly ProjectTunnel[];
  /** Where a replay of `c` goes now: its route's target (see targetFor in project.ts). */
  readonly targetFor: (c: Capture) => Target;
  /** Switches route `route` of `tunnel` to its next mode; returns the sentence for the notice line. */
  readonly cycleMode: (tunnel: string, route: string) => string;
}

/** A project run's inspector: tunnels attach before they connect; it is drawn once `draw()` is called. */
export interface ProjectInspector extends RunningInspector {
  /** Shows tunnel `name`'s exchanges, its URL when it is online, and its routes' mode changes. */
  attach(name: string, events: EventEmitter<AgentEventMap>): void;
  /** Starts drawing on the terminal. */
  draw(): void;
}

/** A running inspector, for the agent command to stop and to send warnings to. */
export interface RunningInspector {
  readonly controller: InspectorController;
  stop(): void;
}

/** How many exchanges the list keeps in memory (the store keeps the rest). */
const MAX_ROWS = 1000;

function needStore(store: CaptureStore | undefined): CaptureStore {
  if (!store) throw new Error('captures are off (--no-capture): only the summary is known');
  return store;
}

/** File name extension for the edited body, so that the editor highlights it. */
function extensionFor(headers: readonly string[]): string {
  const type = headerValue(headers, 'content-type')?.toLowerCase() ?? '';
  if (type.includes('json')) return '.json';
  if (type.includes('xml')) return '.xml';
  if (type.includes('x-www-form-urlencoded')) return '.txt';
  return type.startsWith('text/') ? '.txt' : '.bin';
}

function replayedText(id: string, event: RequestEvent, what = ''): string {
  if (event.error) throw new Error(`${event.error}: ${event.message ?? 'no answer'}`);
  return `replayed ${id}${what} as ${event.id}: ${event.status} in ${formatDuration(event.durationMs)}`;
}

/** The actions behind the inspector's keys: the store, replay through the agent's own forwarding, editor, clipboard. */
function actionsFor(setup: ActionSetup, events: EventEmitter<AgentEventMap>, handle: () => InspectorHandle): InspectorActions {
  const { store } = setup;

  const capturedRequest = (id: string): { c: Capture; body: Buffer; target: Target } => {
    const c = findCapture(needStore(store), id);
    const body = readBody(needStore(store), c.id, REQUEST);
    const partial = partialRequestBody(c, body);
    if (partial) throw new Error(`${describePartialBody(partial)}; use hooktunnel replay ${c.id} --body FILE`);
    // To the target this agent forwards to now, also for captures of an earlier run (which may have had another).
    return { c, body, target: setup.targetFor(c) };
  };
  // As `hooktunnel replay` does (replayCapture): a recognised signature is made again (fresh timestamp, over this
  // body) when a secret for it is known; otherwise the captured headers go as they are, and the row's mark says how it fared.
  const send = async (c: Capture, target: Target, captured: Buffer, body?: Buffer): Promise<{ event: RequestEvent; note: string }> => {
    const { event, resign } = await replayCapture(events, c, { target, capturedBody: captured, body, secrets: setup.secrets, timeoutMs: setup.timeoutMs, preserveHost: setup.preserveHost, deliveries: setup.deliveries });
    const text = resign && describeResign(resign, true);
    return { event, note: text ? `, ${resign.resigned ? text : `${text} (--verify)`}` : '' };
  };

  return {
    async loadDetail(id) {
      const c = findCapture(needStore(store), id);
      return detailLines(c, readBody(needStore(store), c.id, REQUEST), readBody(needStore(store), c.id, RESPONSE));
    },
    async replay(id) {
      const { c, body, target } = capturedRequest(id);
      const { event, note } = await send(c, target, body);
      return replayedText(c.id, event, note);
    },
    async editAndReplay(id) {
      const { c, body, target } = capturedRequest(id);
      // mkdtemp makes the directory 0700; the file is 0600: bodies hold secrets.
      const dir = mkdtempSync(join(tmpdir(), 'hooktunnel-edit-'));
      try {
        const file = join(dir, `body${extensionFor(c.requestHeaders)}`);
        writeFileSync(file, body, { mode: 0o600, flag: 'wx' });
        const code = await handle().suspend(() => runEditor(file));
        if (code === 127) throw new Error(`editor not found: ${editorCommand()} (set $VISUAL or $EDITOR)`);
        if (code !== 0) throw new Error(`${editorCommand()} exited with ${code}: nothing replayed`);
        const edited = readFileSync(file);
        if (edited.equals(body)) return `body unchanged: nothing replayed (r replays ${c.id} as it is)`;
        const { event, note } = await send(c, target, body, edited);
        return replayedText(c.id, event, ` with the edited body (${formatBytes(edited.length)})${note}`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    async curlCommand(id) {
      const c = findCapture(needStore(store), id);
      return toCurl({ capture: { ...c, target: setup.targetFor(c).display }, requestBody: readBody(needStore(store), c.id, REQUEST), responseBody: Buffer.alloc(0) });
    },
    async loadDiff(a, b) {
      const side = (id: string): DiffSide => {
        const c = findCapture(needStore(store), id);
        return { capture: c, requestBody: readBody(needStore(store), c.id, REQUEST), responseBody: readBody(needStore(store), c.id, RESPONSE) };
      };
      return diffLines(diffExchanges(side(a), side(b)));
    },
    copy: (text) => copyToClipboard(text),
    async searchBodies(needle, ids) {
      return store ? searchBodies(store, needle, ids) : new Set();
    },
    quit: () => setup.onQuit(),
    ...(setup.cycleMode ? { cycleMode: async (tunnel: string, route: string) => setup.cycleMode!(tunnel, route) } : {}),
  };
}

/** What the actions need: the setup without the agent's events, and where a capture is replayed to. */
type ActionSetup = Omit<InspectorSetup, 'events' | 'target' | 'ready'> & {
  readonly targetFor: (c: Capture) => Target;
  readonly cycleMode?: (tunnel: string, route: string) => string;
};

type Streams = { stdout: NodeJS.WriteStream; stdin: NodeJS.ReadStream; stderr: NodeJS.WriteStream };

/** A controller with its actions, replays recorded, earlier captures listed; `draw` puts it on the terminal. */
function prepare(setup: ActionSetup, info: TunnelInfo, streams: Streams): { controller: InspectorController; replays: EventEmitter<AgentEventMap>; draw(): void; stop(): void } {
  let handle: InspectorHandle | undefined;
  // Replays get their own emitter: recorded with replayOf and shown as new rows, like the agent's exchanges.
  const replays = replayEvents();
  const controller = new InspectorController(info, actionsFor(setup, replays, () => handle!), {
    maxRows: MAX_ROWS,
    size: { columns: streams.stdout.columns || 80, rows: streams.stdout.rows || 24 },
  });
  if (setup.store) attachRecorder(replays, setup.store, (err) => controller.notify(`a replay was not captured: ${err.message}`, 'error'));
  if (setup.store) {
    try {
      controller.seed(listCaptures(setup.store, MAX_ROWS));
    } catch (err) {
      controller.notify(`earlier captures cannot be read: ${(err as Error).message}`, 'error');
    }
  }
  controller.attach(replays);
  return {
    controller,
    replays,
    draw: () => void (handle ??= runInspector(controller, streams)),
    stop() {
      handle?.stop();
      controller.dispose();
    },
  };
}

/**
 * Starts the inspector for a project run (several tunnels in one process, one store): one list for all of them,
 * with a tunnel column when there are several, the tunnels' URLs and the routes' modes in the header.
 */
export function startProjectInspector(setup: ProjectInspectorSetup, streams: Streams = { stdout: process.stdout, stdin: process.stdin, stderr: process.stderr }): ProjectInspector {
  const first = setup.tunnels[0];
  const info: TunnelInfo = { url: first?.url ?? '', target: '', relay: setup.relay, embedded: setup.embedded, tunnels: setup.tunnels };
  const inspector = prepare(setup, info, streams);
  const { controller } = inspector;
  return {
    controller,
    attach(name, events) {
      controller.attach(events);
      events.on('state', (e) => e.state === 'online' && controller.tunnelOnline(name, e.url));
      events.on('mode', (e) => controller.modeChanged(name, e.route, e.mode));
    },
    draw: inspector.draw,
    stop: inspector.stop,
  };
}

/**
 * Starts the inspector for a connected agent: earlier captures from the store first, then the agent's events,
 * drawn on the terminal until `stop()`.
 */
export function startInspector(setup: InspectorSetup, streams: Streams = { stdout: process.stdout, stdin: process.stdin, stderr: process.stderr }): RunningInspector {
  const info = { url: setup.ready.url, target: setup.ready.target, relay: setup.ready.relay, embedded: setup.embedded };
  const inspector = prepare({ ...setup, targetFor: () => setup.target }, info, streams);
  inspector.controller.attach(setup.events);
  inspector.draw();
  return { controller: inspector.controller, stop: inspector.stop };
}
