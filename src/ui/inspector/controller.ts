import type { EventEmitter } from 'node:events';
import type { AgentEventMap, ExchangeStart, MissedEvent, RequestEvent, StateEvent } from '../../agent/events.js';
import type { Capture } from '../../capture/queries.js';
import type { ResponseMode } from '../../model/exchange.js';
import { line, wrapLine, type StyledLine } from '../text.js';
import { BodySearch } from './body-search.js';
import { curlPage } from './curl-lines.js';
import { rowOnlyLines } from './detail-lines.js';
import { helpLines } from './help.js';
import { MAX_WRAPPED_ROWS, headerLines, listHeight, pageHeight, type Size } from './layout.js';
import { applyEvents, captureRow, isFailure, matchesFilter, parseFilter, type ExchangeRow, type RowEvent } from './rows.js';
import type { ControllerOptions, InspectorActions, InspectorState, Notice, Page, TunnelInfo } from './state.js';

export type { ControllerOptions, CopyResult, InspectorActions, InspectorState, Notice, Page, ProjectTunnel, TunnelInfo } from './state.js';

const FILTER_MAX = 200;

function messageOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]!;
}

/**
 * The inspector's state and behaviour, without React: rows fed from agent events in batches (the screen is
 * redrawn at most every `flushMs`, whatever the request rate), selection and follow mode, the filter, pages, and
 * the intents keys map to (see keys.ts). Components render `getState()`.
 */
export class InspectorController {
  private state: InspectorState;
  private readonly listeners = new Set<() => void>();
  private readonly maxRows: number;
  private readonly flushMs: number;
  private readonly noticeMs: number;
  private readonly now: () => number;
  private pending: RowEvent[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private noticeTimer: NodeJS.Timeout | undefined;
  /** The open page's lines before wrapping (wrapped again when the width changes). */
  private pageSource: readonly StyledLine[] = [];
  /** Bumped whenever a page opens or closes: a detail that loads after that is dropped. */
  private pageToken = 0;
  /** The open detail is of an exchange that was in flight when it opened. */
  private detailInFlight = false;
  private readonly bodies: BodySearch;
  private disposed = false;

  constructor(
    info: TunnelInfo,
    private readonly actions: InspectorActions,
    options: ControllerOptions = {},
  ) {
    this.maxRows = options.maxRows ?? 1000;
    this.flushMs = options.flushMs ?? 100;
    this.noticeMs = options.noticeMs ?? 10_000;
    this.now = options.now ?? Date.now;
    this.bodies = new BodySearch(
      (needle, ids) => this.actions.searchBodies(needle, ids),
      () => this.set(this.refilter()),
      (err) => this.notify(`body search failed: ${messageOf(err)}`, 'error'),
    );
    this.state = {
      info, connection: { state: 'online' }, counts: { requests: 0, errors: 0, earlier: 0, dropped: 0 }, rows: [], visible: [],
      selected: -1, top: 0, follow: true, filter: '', editingFilter: false, size: options.size ?? { columns: 80, rows: 24 },
    };
  }

  /** The current state (the same object until something changes). */
  readonly getState = (): InspectorState => this.state;

  /** Calls `listener` after every change; returns the unsubscribe function. */
  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  private set(patch: Partial<InspectorState>): void {
    if (this.disposed) return;
    this.state = { ...this.state, ...patch };
    for (const l of this.listeners) l();
  }

  // ----- feeding

  /** Subscribes to an agent's (or a replay's) events; returns the function that unsubscribes. */
  attach(events: EventEmitter<AgentEventMap>): () => void {
    const start = (e: ExchangeStart): void => this.enqueue({ kind: 'start', e });
    const end = (e: RequestEvent): void => this.enqueue({ kind: 'end', e, at: this.now() });
    const missed = (e: MissedEvent): void => this.enqueue({ kind: 'missed', e });
    const state = (e: StateEvent): void => this.connectionChanged(e);
    const dropped = (e: { count: number }): void => {
      this.set({ counts: { ...this.state.counts, dropped: this.state.counts.dropped + e.count } });
      this.notify(`${e.count} request(s) arrived while offline and did not fit in the relay's queue: they are lost`, 'error');
    };
    events.on('exchange-start', start);
    events.on('request', end);
    events.on('missed', missed);
    events.on('state', state);
    events.on('dropped', dropped);
    return () => {
      events.off('exchange-start', start);
      events.off('request', end);
      events.off('missed', missed);
      events.off('state', state);
      events.off('dropped', dropped);
    };
  }

  /** Shows earlier captures (oldest first) before this run's exchanges. */
  seed(captures: readonly Capture[]): void {
    const known = new Set(this.state.rows.map((r) => r.id));
    const earlier = captures.filter((c) => !known.has(c.id)).map(captureRow);
    this.state = { ...this.state, rows: [...earlier, ...this.state.rows].slice(-this.maxRows), counts: { ...this.state.counts, earlier: earlier.length } };
    this.set(this.refilter());
  }

  /** Shows a notice line (warnings from the program, results of actions) for a while. */
  notify(text: string, tone: Notice['tone'] = 'info'): void {
    clearTimeout(this.noticeTimer);
    this.noticeTimer = setTimeout(() => this.set({ notice: undefined }), this.noticeMs);
    this.noticeTimer.unref();
    this.set({ notice: { text, tone } });
  }

  /** The terminal's size changed. */
  setSize(size: Size): void {
    if (size.columns === this.state.size.columns && size.rows === this.state.size.rows) return;
    this.state = { ...this.state, size };
    const page = this.state.page;
    this.set({ ...this.windowed(this.state.selected), page: page && { ...page, ...this.wrapPage(page.kind, this.pageSource, page.scroll) } });
  }

  private enqueue(ev: RowEvent): void {
    this.pending.push(ev);
    if (this.flushTimer === undefined && !this.disposed) {
      this.flushTimer = setTimeout(() => this.flush(), this.flushMs);
      this.flushTimer.unref();
    }
  }

  /** Applies the queued events now (normally done by a timer, at most every `flushMs`). */
  flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const events = this.pending;
    this.pending = [];
    if (events.length === 0 || this.disposed) return;
    const { rows, completed } = applyEvents(this.state.rows, events, this.maxRows);
    const { requests, errors } = this.state.counts;
    const redeliveries = (this.state.counts.redeliveries ?? 0) + completed.filter((r) => r.redeliveryOf !== undefined).length;
    const counts = { ...this.state.counts, requests: requests + completed.length, errors: errors + completed.filter(isFailure).length, redeliveries };
    this.state = { ...this.state, rows, counts };
    this.set(this.refilter());
    this.bodies.add(completed.map((r) => r.id));
    // A detail opened while its exchange was in flight is loaded again once it completes.
    const page = this.state.page;
    const done = page?.kind === 'detail' && this.detailInFlight ? completed.find((r) => r.id === page.id && !r.pending) : undefined;
    if (done) {
      this.detailInFlight = false;
      this.loadDetail(done, ++this.pageToken, true);
    }
  }

  private connectionChanged(e: StateEvent): void {
    if (e.state === 'online') this.set({ connection: { state: 'online' }, info: { ...this.state.info, url: e.url } });
    else if (e.state === 'reconnecting') this.set({ connection: { state: 'reconnecting', attempt: e.attempt, delayMs: e.delayMs, reason: e.reason } });
    else this.set({ connection: { state: 'offline', reason: e.reason } });
  }

  // ----- the list

  /** `visible`, `selected` and `top` after the rows or the filter changed; the selection stays on its row. */
  private refilter(): Partial<InspectorState> {
    const selectedId = this.state.visible[this.state.selected]?.id;
    const filter = parseFilter(this.state.filter);
    const all = filter.text === '' && filter.tunnel === undefined && filter.route === undefined;
    const visible = all ? this.state.rows : this.state.rows.filter((r) => matchesFilter(r, filter, this.bodies.has(r.id)));
    let selected = visible.length - 1;
    if (!this.state.follow) {
      const at = selectedId === undefined ? -1 : visible.findIndex((r) => r.id === selectedId);
      selected = at >= 0 ? at : Math.min(Math.max(this.state.selected, 0), visible.length - 1);
    }
    this.state = { ...this.state, visible };
    return { visible, ...this.windowed(selected) };
  }

  /** `selected` and a `top` that keeps it on screen. */
  private windowed(selected: number): { selected: number; top: number } {
    const h = listHeight(this.state.size, headerLines(this.state.info.tunnels));
    let top = this.state.top;
    if (selected < top) top = selected;
    if (selected >= top + h) top = selected - h + 1;
    return { selected, top: Math.max(0, Math.min(top, this.state.visible.length - h)) };
  }

  /** Selects row `index` of the visible rows (clamped); the last row means following new ones again. */
  select(index: number): void {
    const count = this.state.visible.length;
    if (count === 0) return;
    const at = Math.max(0, Math.min(index, count - 1));
    this.set({ ...this.windowed(at), follow: at === count - 1 });
  }

  /** Moves the selection by `delta` rows. */
  move(delta: number): void {
    this.select(this.state.selected + delta);
  }

  // ----- pages

  private wrapPage(kind: Page['kind'], source: readonly StyledLine[], scroll: number): { lines: StyledLine[]; scroll: number } {
    const width = Math.max(1, this.state.size.columns);
    // A curl command is wrapped whole: every character of it must be there to copy.
    const rows = kind === 'curl' ? Number.MAX_SAFE_INTEGER : MAX_WRAPPED_ROWS;
    const lines = source.flatMap((l) => wrapLine(l, width, rows));
    const max = Math.max(0, lines.length - pageHeight(this.state.size, headerLines(this.state.info.tunnels)));
    return { lines, scroll: Math.max(0, Math.min(scroll, max)) };
  }

  private openPage(kind: Page['kind'], source: readonly StyledLine[], options: { id?: string; loading?: boolean; keepScroll?: boolean } = {}): void {
    this.pageSource = source;
    const scroll = options.keepScroll ? (this.state.page?.scroll ?? 0) : 0;
    this.set({ page: { kind, id: options.id, loading: options.loading === true, ...this.wrapPage(kind, source, scroll) } });
  }

  /** Closes the page (detail, help, curl) and shows the list again. */
  closePage(): void {
    this.pageToken++;
    this.pageSource = [];
    this.set({ page: undefined });
  }

  /** Scrolls the page by `delta` lines, or to its top or bottom. */
  scroll(delta: number | 'top' | 'bottom'): void {
    const page = this.state.page;
    if (!page) return;
    const target = delta === 'top' ? 0 : delta === 'bottom' ? Number.MAX_SAFE_INTEGER : page.scroll + delta;
    this.set({ page: { ...page, ...this.wrapPage(page.kind, this.pageSource, target) } });
  }

  /** Opens the help page. */
  showHelp(): void {
    this.pageToken++;
    this.openPage('help', helpLines());
  }

  /** Opens the detail of the selected exchange; its bodies are read now, for it alone. */
  openSelected(): void {
    const row = this.state.visible[this.state.selected];
    if (!row) return this.notify('no exchange selected', 'error');
    const token = ++this.pageToken;
    // The list stops following, so that the selection is still on this row when the detail closes.
    this.state = { ...this.state, follow: false };
    this.detailInFlight = row.pending === true;
    if (row.pending) return this.openPage('detail', rowOnlyLines(row, 'in flight: the rest appears when it completes'), { id: row.id });
    this.openPage('detail', [line('loading…', { dim: true })], { id: row.id, loading: true });
    this.loadDetail(row, token, false);
  }

  private loadDetail(row: ExchangeRow, token: number, keepScroll: boolean): void {
    const show = (lines: readonly StyledLine[]): void => {
      if (token === this.pageToken) this.openPage('detail', lines, { id: row.id, keepScroll });
    };
    this.actions.loadDetail(row.id).then(show, (err: unknown) => show(rowOnlyLines(row, messageOf(err))));
  }

  // ----- the filter

  /** Starts typing a filter (an old notice would hide the filter's count). */
  startFilter(): void {
    this.set({ editingFilter: true, notice: undefined });
  }

  /** Stops typing; the filter stays. */
  commitFilter(): void {
    this.set({ editingFilter: false });
  }

  /** Sets the filter text (the list follows at once; body matches come from the store a moment later). */
  setFilter(filter: string): void {
    const text = filter.slice(0, FILTER_MAX);
    this.state = { ...this.state, filter: text };
    // `tunnel:` and `route:` words are not looked for in bodies: the rest of the filter is.
    this.bodies.setNeedle(parseFilter(text).text, () => this.state.rows.filter((r) => !r.pending).map((r) => r.id));
    this.set(this.refilter());
  }

  /** Clears the filter and stops typing it. */
  clearFilter(): void {
    this.state = { ...this.state, editingFilter: false };
    this.setFilter('');
  }

  // ----- actions

  private run(label: string, work: () => Promise<string>): void {
    this.notify(`${label}…`);
    work().then(
      (text) => {
        // A replay's row is queued by now: show it together with the sentence about it.
        this.flush();
        this.notify(text, 'ok');
      },
      (err: unknown) => this.notify(`${label} failed: ${messageOf(err)}`, 'error'),
    );
  }

  /** The exchange that actions apply to: the one in the open detail, else the selected row. */
  private target(): string | undefined {
    const page = this.state.page;
    const row = page?.kind === 'detail' ? this.state.rows.find((r) => r.id === page.id) : this.state.visible[this.state.selected];
    const id = page?.kind === 'detail' ? page.id : row?.id;
    if (id === undefined) return void this.notify('no exchange selected', 'error');
    if (row?.pending) return void this.notify(`${id} is still in flight`, 'error');
    return id;
  }

  /** Replays the exchange (the result arrives as a new row). */
  replay(): void {
    const id = this.target();
    if (id !== undefined) this.run(`replaying ${id}`, () => this.actions.replay(id));
  }

  /** Edits the exchange's request body in an editor, then replays it. */
  edit(): void {
    const id = this.target();
    if (id !== undefined) this.run(`editing ${id}`, () => this.actions.editAndReplay(id));
  }

  /** Copies the exchange's request as a curl command; without a clipboard, shows it on a page. */
  copyCurl(): void {
    const id = this.target();
    if (id === undefined) return;
    this.run(`copying ${id} as curl`, async () => {
      const command = await this.actions.curlCommand(id);
      const copied = await this.actions.copy(command);
      if (copied.copied) return `curl command for ${id} copied to the clipboard (${copied.via})`;
      this.pageToken++;
      this.openPage('curl', curlPage(id, command, copied.reason), { id });
      return `not copied (${copied.reason}): the command is shown instead`;
    });
  }

  /** Copies the public URL. */
  copyUrl(): void {
    const url = this.state.info.url;
    this.run('copying the public URL', async () => {
      const copied = await this.actions.copy(url);
      if (!copied.copied) throw new Error(`${copied.reason}; select it in the header`);
      return `public URL copied to the clipboard (${copied.via})`;
    });
  }

  /** Switches the route of the exchange (in the open detail, else selected) to its next response mode. */
  cycleMode(): void {
    const page = this.state.page;
    const id = page?.kind === 'detail' ? page.id : this.state.visible[this.state.selected]?.id;
    const row = id === undefined ? undefined : this.state.rows.find((r) => r.id === id);
    if (!row) return this.notify('no exchange selected', 'error');
    const cycle = this.actions.cycleMode;
    if (!cycle || row.route === undefined || row.tunnelName === undefined) return this.notify('this exchange took no route: modes are switched for the routes of a config file', 'error');
    if (row.route === 'no route') return this.notify('no route matched this exchange: its answer is the tunnel\'s noMatch', 'error');
    const { tunnelName, route } = row;
    this.run(`switching route ${route}`, () => cycle(tunnelName, route));
  }

  /** A route's mode changed (from this inspector or elsewhere): the header shows the new one. */
  modeChanged(tunnel: string, route: string, mode: ResponseMode): void {
    const tunnels = this.state.info.tunnels?.map((t) => (t.name !== tunnel ? t : { ...t, routes: t.routes.map((r) => (r.name === route ? { ...r, mode } : r)) }));
    if (tunnels) this.set({ info: { ...this.state.info, tunnels } });
  }

  /** A project run's tunnel is connected (or reconnected under another URL): the header shows its URL. */
  tunnelOnline(tunnel: string, url: string): void {
    const tunnels = this.state.info.tunnels?.map((t) => (t.name === tunnel ? { ...t, url } : t));
    if (tunnels) this.set({ info: { ...this.state.info, tunnels, url: tunnels[0]?.url ?? url } });
  }

  /** Filters the list to the next tunnel of a project run (`tunnel:NAME`), and after the last back to all of them. */
  cycleTunnelFilter(): void {
    const names = this.state.info.tunnels?.map((t) => t.name) ?? [];
    if (names.length < 2) return this.notify('one tunnel only: nothing to filter by', 'error');
    const current = parseFilter(this.state.filter).tunnel;
    const at = current === undefined ? -1 : names.findIndex((n) => n.toLowerCase() === current);
    const next = names[at + 1];
    const rest = this.state.filter.split(/\s+/).filter((w) => w !== '' && !/^tunnel:/i.test(w));
    // The footer then shows the filter and its count (a notice would hide them).
    clearTimeout(this.noticeTimer);
    this.state = { ...this.state, notice: undefined };
    this.setFilter([...(next !== undefined ? [`tunnel:${next}`] : []), ...rest].join(' '));
  }

  /** Marks the selected exchange (again: unmarks it), for `d` to compare with. */
  mark(): void {
    const row = this.state.visible[this.state.selected];
    if (!row) return this.notify('no exchange selected', 'error');
    if (this.state.marked === row.id) {
      this.set({ marked: undefined });
      return this.notify(`unmarked ${row.id}`);
    }
    this.set({ marked: row.id });
    this.notify(`marked ${row.id}: select another and press d to compare`, 'ok');
  }

  /** Opens the diff of the exchange (the open detail's, else the selected one) against the marked one. */
  showDiff(): void {
    const marked = this.state.marked;
    if (marked === undefined) return this.notify('mark an exchange with m first, then select another and press d', 'error');
    const id = this.target();
    if (id === undefined) return;
    if (id === marked) return this.notify(`${id} is the marked exchange: select another to compare with it`, 'error');
    const token = ++this.pageToken;
    this.state = { ...this.state, follow: false };
    this.openPage('diff', [line('comparing…', { dim: true })], { id, loading: true });
    const show = (lines: readonly StyledLine[]): void => {
      if (token === this.pageToken) this.openPage('diff', lines, { id });
    };
    this.actions.loadDiff(marked, id).then(show, (err: unknown) => show([line(`cannot compare ${marked} with ${id}: ${messageOf(err)}`, { color: 'red' })]));
  }

  /** Leaves the inspector. */
  quit(): void {
    this.actions.quit();
  }

  /** Stops timers; the controller ignores everything afterwards. */
  dispose(): void {
    this.disposed = true;
    clearTimeout(this.flushTimer);
    clearTimeout(this.noticeTimer);
    this.bodies.stop();
    this.listeners.clear();
  }
}
