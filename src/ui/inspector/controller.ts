import type { EventEmitter } from 'node:events';
import type { AgentEventMap, ExchangeStart, MissedEvent, RequestEvent, StateEvent } from '../../agent/events.js';
import type { Capture } from '../../capture/queries.js';
import { line, wrapLine, type StyledLine } from '../text.js';
import { rowOnlyLines } from './detail-lines.js';
import { helpLines } from './help.js';
import { MAX_WRAPPED_ROWS, listHeight, pageHeight, type Size } from './layout.js';
import { captureRow, finishedRow, isFailure, matchesFilter, missedRow, startedRow, type ExchangeRow } from './rows.js';

/** What the header shows about the tunnel. */
export interface TunnelInfo {
  readonly url: string;
  readonly target: string;
  readonly relay: string;
  /** The relay runs inside this process, on 127.0.0.1. */
  readonly embedded: boolean;
}

/** Result of a copy to the clipboard. */
export type CopyResult = { readonly copied: true; readonly via: string } | { readonly copied: false; readonly reason: string };

/**
 * What the inspector can ask the program to do. The UI itself does no I/O: the CLI provides these (store reads,
 * replays, the editor, the clipboard), tests provide fakes. A rejected promise becomes a notice line.
 */
export interface InspectorActions {
  /** The detail lines of a stored exchange (see detailLines). */
  loadDetail(id: string): Promise<StyledLine[]>;
  /** Sends the exchange's request again; resolves with a sentence for the notice line. The replay arrives as events. */
  replay(id: string): Promise<string>;
  /** Opens the request body in an editor, then replays the edited request; resolves with a sentence. */
  editAndReplay(id: string): Promise<string>;
  /** The exchange's request as a curl command. */
  curlCommand(id: string): Promise<string>;
  /** Puts text on the clipboard, when there is one. */
  copy(text: string): Promise<CopyResult>;
  /** Which of `ids` have `needle` in a body (a store query; bodies never come to the UI). */
  searchBodies(needle: string, ids: readonly string[]): Promise<ReadonlySet<string>>;
  /** Leaves the inspector and stops the agent. */
  quit(): void;
}

/** Connection state as the header shows it. */
export type Connection =
  | { readonly state: 'online' }
  | { readonly state: 'reconnecting'; readonly attempt: number; readonly delayMs: number; readonly reason: string }
  | { readonly state: 'offline'; readonly reason: string };

/** A one-line message under the list: the result of an action, a warning. */
export interface Notice {
  readonly text: string;
  readonly tone: 'info' | 'ok' | 'error';
}

/** A scrolling page over the list: an exchange's detail, the help, a curl command that could not be copied. */
export interface Page {
  readonly kind: 'detail' | 'help' | 'curl';
  /** The exchange shown (detail, curl). */
  readonly id?: string;
  readonly title: string;
  /** Lines wrapped to the terminal width. */
  readonly lines: readonly StyledLine[];
  readonly scroll: number;
  readonly loading: boolean;
}

/** Everything the inspector shows; a new object on every change (for React's useSyncExternalStore). */
export interface InspectorState {
  readonly info: TunnelInfo;
  readonly connection: Connection;
  /** This run's exchanges and failures; `earlier`: rows read from the store at start; `dropped`: lost while offline. */
  readonly counts: { readonly requests: number; readonly errors: number; readonly earlier: number; readonly dropped: number };
  /** Rows kept in memory, oldest first (at most `maxRows`). */
  readonly rows: readonly ExchangeRow[];
  /** The rows that pass the filter. */
  readonly visible: readonly ExchangeRow[];
  /** Index of the selected row in `visible`; -1 when there is none. */
  readonly selected: number;
  /** Index in `visible` of the first row on screen. */
  readonly top: number;
  /** The selection follows the newest row. */
  readonly follow: boolean;
  readonly filter: string;
  readonly editingFilter: boolean;
  readonly page?: Page;
  readonly notice?: Notice;
  readonly size: Size;
}

/** Keys as ink reports them (a subset of its `Key`), so that the controller does not depend on ink. */
export interface KeyPress {
  readonly upArrow?: boolean;
  readonly downArrow?: boolean;
  readonly pageUp?: boolean;
  readonly pageDown?: boolean;
  readonly home?: boolean;
  readonly end?: boolean;
  readonly return?: boolean;
  readonly escape?: boolean;
  readonly ctrl?: boolean;
  readonly meta?: boolean;
  readonly backspace?: boolean;
  readonly delete?: boolean;
  readonly tab?: boolean;
}

/** Options of the controller. */
export interface ControllerOptions {
  /** Rows kept in memory; older ones stay in the store. Default 1000. */
  readonly maxRows?: number;
  /** Agent events are applied in batches at most this often. Default 100 ms (ten redraws a second at most, whatever the request rate). */
  readonly flushMs?: number;
  /** Notices disappear after this long. Default 10 s. */
  readonly noticeMs?: number;
  readonly size?: Size;
  readonly now?: () => number;
}

type Op =
  | { readonly kind: 'start'; readonly e: ExchangeStart }
  | { readonly kind: 'end'; readonly e: RequestEvent; readonly at: number }
  | { readonly kind: 'missed'; readonly e: MissedEvent };

const FILTER_MAX = 200;
const SEARCH_DELAY_MS = 150;

function messageOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]!;
}

/**
 * The inspector's state and behaviour, without React: rows fed from agent events in batches (the screen is
 * redrawn at most every `flushMs`, whatever the request rate), selection and follow mode, the filter, pages, keys.
 * Components render `getState()` and pass keys to `key()`.
 */
export class InspectorController {
  private state: InspectorState;
  private readonly listeners = new Set<() => void>();
  private readonly maxRows: number;
  private readonly flushMs: number;
  private readonly noticeMs: number;
  private readonly now: () => number;
  private pending: Op[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private noticeTimer: NodeJS.Timeout | undefined;
  /** Row positions in `state.rows` by id. */
  private index = new Map<string, number>();
  /** The unwrapped lines of the open page (wrapped again when the width changes). */
  private pageSource: readonly StyledLine[] = [];
  private pageKind: Page['kind'] | undefined;
  /** Bumped whenever a page opens: a detail that loads after the page changed is dropped. */
  private pageToken = 0;
  /** The open detail is of an exchange that was in flight when it opened. */
  private detailInFlight = false;
  private bodyNeedle = '';
  private bodyMatches = new Set<string>();
  private searchQueue: string[] = [];
  private searching = false;
  private searchTimer: NodeJS.Timeout | undefined;
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
    const rows = [...earlier, ...this.state.rows].slice(-this.maxRows);
    this.replaceRows(rows, { counts: { ...this.state.counts, earlier: earlier.length } });
  }

  /** Shows a notice line (warnings from the program, results of actions). */
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
    this.set({ ...this.windowed(this.state.selected), page: page && { ...page, ...this.wrapPage(this.pageSource, page.scroll) } });
  }

  /** Applies the queued events now (normally done by a timer, at most every `flushMs`). */
  flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const ops = this.pending;
    this.pending = [];
    if (ops.length === 0 || this.disposed) return;
    const rows = [...this.state.rows];
    let { requests, errors } = this.state.counts;
    const completed: string[] = [];
    for (const op of ops) {
      const at = this.index.get(op.kind === 'missed' ? op.e.id : op.e.id);
      const previous = at === undefined ? undefined : rows[at];
      const row = op.kind === 'start' ? startedRow(op.e) : op.kind === 'end' ? finishedRow(op.e, previous, op.at) : missedRow(op.e);
      if (op.kind !== 'start') {
        requests++;
        if (isFailure(row)) errors++;
        completed.push(row.id);
      }
      if (at === undefined) {
        this.index.set(row.id, rows.length);
        rows.push(row);
      } else rows[at] = row;
    }
    this.replaceRows(rows.length > this.maxRows ? rows.slice(rows.length - this.maxRows) : rows, { counts: { ...this.state.counts, requests, errors } });
    if (this.bodyNeedle !== '') this.queueSearch(completed);
    const page = this.state.page;
    // A detail opened while its exchange was in flight is loaded again once it completes.
    if (page?.kind === 'detail' && this.detailInFlight && page.id !== undefined && completed.includes(page.id)) {
      const row = this.state.rows[this.index.get(page.id) ?? -1];
      if (row && !row.pending) {
        this.detailInFlight = false;
        this.loadDetail(row, ++this.pageToken, true);
      }
    }
  }

  private enqueue(op: Op): void {
    this.pending.push(op);
    if (this.flushTimer === undefined && !this.disposed) {
      this.flushTimer = setTimeout(() => this.flush(), this.flushMs);
      this.flushTimer.unref();
    }
  }

  private connectionChanged(e: StateEvent): void {
    if (e.state === 'online') this.set({ connection: { state: 'online' }, info: { ...this.state.info, url: e.url } });
    else if (e.state === 'reconnecting') this.set({ connection: { state: 'reconnecting', attempt: e.attempt, delayMs: e.delayMs, reason: e.reason } });
    else this.set({ connection: { state: 'offline', reason: e.reason } });
  }

  /** Installs a new row list: rebuilds the index, applies the filter, keeps the selection on its row. */
  private replaceRows(rows: ExchangeRow[], patch: Partial<InspectorState>): void {
    this.index = new Map(rows.map((r, i) => [r.id, i]));
    const selectedId = this.state.visible[this.state.selected]?.id;
    this.state = { ...this.state, ...patch, rows };
    this.set(this.refilter(selectedId));
  }

  /** `visible`, `selected` and `top` after the rows or the filter changed. */
  private refilter(selectedId: string | undefined): Partial<InspectorState> {
    const needle = this.state.filter.trim().toLowerCase();
    const visible = needle === '' ? this.state.rows : this.state.rows.filter((r) => matchesFilter(r, needle, this.bodyMatches.has(r.id)));
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
    const h = listHeight(this.state.size);
    const count = this.state.visible.length;
    let top = this.state.top;
    if (selected < top) top = selected;
    if (selected >= top + h) top = selected - h + 1;
    top = Math.max(0, Math.min(top, count - h));
    return { selected, top };
  }

  private select(selected: number): void {
    const count = this.state.visible.length;
    if (count === 0) return;
    const at = Math.max(0, Math.min(selected, count - 1));
    this.set({ ...this.windowed(at), follow: at === count - 1 });
  }

  /** The exchange that actions apply to: the one in the open detail, else the selected row. */
  private actionTarget(): { readonly id: string; readonly pending?: boolean } | undefined {
    const page = this.state.page;
    if (page?.kind === 'detail' && page.id !== undefined) return this.state.rows[this.index.get(page.id) ?? -1] ?? { id: page.id };
    return this.state.visible[this.state.selected];
  }

  // ----- pages

  private wrapPage(source: readonly StyledLine[], scroll: number): { lines: StyledLine[]; scroll: number } {
    const width = Math.max(1, this.state.size.columns);
    // A curl command is wrapped whole: every character of it must be there to copy.
    const rows = this.pageKind === 'curl' ? Number.MAX_SAFE_INTEGER : MAX_WRAPPED_ROWS;
    const lines = source.flatMap((l) => wrapLine(l, width, rows));
    const max = Math.max(0, lines.length - pageHeight(this.state.size));
    return { lines, scroll: Math.max(0, Math.min(scroll, max)) };
  }

  private openPage(kind: Page['kind'], title: string, source: readonly StyledLine[], options: { id?: string; loading?: boolean; keepScroll?: boolean } = {}): void {
    this.pageSource = source;
    this.pageKind = kind;
    const scroll = options.keepScroll ? (this.state.page?.scroll ?? 0) : 0;
    this.set({ page: { kind, title, id: options.id, loading: options.loading === true, ...this.wrapPage(source, scroll) } });
  }

  private closePage(): void {
    this.pageToken++;
    this.pageSource = [];
    this.pageKind = undefined;
    this.set({ page: undefined });
  }

  private scrollPage(delta: number | 'top' | 'bottom'): void {
    const page = this.state.page;
    if (!page) return;
    const target = delta === 'top' ? 0 : delta === 'bottom' ? Number.MAX_SAFE_INTEGER : page.scroll + delta;
    this.set({ page: { ...page, ...this.wrapPage(this.pageSource, target) } });
  }

  private openDetail(row: ExchangeRow): void {
    const token = ++this.pageToken;
    // The list stops following, so that the selection is still on this row when the detail closes.
    this.state = { ...this.state, follow: false };
    this.detailInFlight = row.pending === true;
    if (row.pending) return this.openPage('detail', row.id, rowOnlyLines(row, 'in flight: the rest appears when it completes'), { id: row.id });
    this.openPage('detail', row.id, [line('loading…', { dim: true })], { id: row.id, loading: true });
    this.loadDetail(row, token, false);
  }

  private loadDetail(row: ExchangeRow, token: number, keepScroll: boolean): void {
    this.actions.loadDetail(row.id).then(
      (lines) => {
        if (token === this.pageToken) this.openPage('detail', row.id, lines, { id: row.id, keepScroll });
      },
      (err: unknown) => {
        if (token === this.pageToken) this.openPage('detail', row.id, rowOnlyLines(row, messageOf(err)), { id: row.id, keepScroll });
      },
    );
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

  private act(what: 'replay' | 'edit' | 'curl'): void {
    const row = this.actionTarget();
    if (!row) return this.notify('no exchange selected', 'error');
    if (row.pending) return this.notify(`${row.id} is still in flight`, 'error');
    const { id } = row;
    if (what === 'replay') return this.run(`replaying ${id}`, () => this.actions.replay(id));
    if (what === 'edit') return this.run(`editing ${id}`, () => this.actions.editAndReplay(id));
    this.run(`copying ${id} as curl`, async () => {
      const command = await this.actions.curlCommand(id);
      const copied = await this.actions.copy(command);
      if (copied.copied) return `curl command for ${id} copied to the clipboard (${copied.via})`;
      this.showCurl(id, command, copied.reason);
      return `not copied (${copied.reason}): the command is shown instead`;
    });
  }

  private showCurl(id: string, command: string, reason: string): void {
    ++this.pageToken;
    const lines: StyledLine[] = [
      line(`Not copied (${reason}). Select the command below, or run:`, { dim: true }),
      line(`  hooktunnel export ${id} --format curl`, { dim: true }),
      line(''),
    ];
    if (command.length > 256 * 1024) lines.push(line(`(${Math.round(command.length / 1024)} KB: too long to show here)`, { dim: true }));
    // Split into lines that are still one valid shell command when copied from the screen.
    else for (const [i, part] of commandLines(command).entries()) lines.push(line(`${i === 0 ? '' : '  '}${part}`));
    this.openPage('curl', `curl ${id}`, lines, { id });
  }

  // ----- filter

  private setFilter(filter: string): void {
    const selectedId = this.state.visible[this.state.selected]?.id;
    this.state = { ...this.state, filter };
    const needle = filter.trim();
    if (needle !== this.bodyNeedle) {
      this.bodyNeedle = /^[1-5]xx$/i.test(needle) ? '' : needle;
      this.bodyMatches = new Set();
      this.searchQueue = [];
      clearTimeout(this.searchTimer);
      if (this.bodyNeedle !== '') {
        this.searchTimer = setTimeout(() => this.queueSearch(this.state.rows.filter((r) => !r.pending).map((r) => r.id)), SEARCH_DELAY_MS);
        this.searchTimer.unref();
      }
    }
    this.set(this.refilter(selectedId));
  }

  private queueSearch(ids: readonly string[]): void {
    this.searchQueue.push(...ids);
    if (this.searching || this.searchQueue.length === 0 || this.disposed) return;
    const needle = this.bodyNeedle;
    const batch = this.searchQueue.splice(0);
    this.searching = true;
    this.actions.searchBodies(needle, batch).then(
      (found) => {
        if (needle !== this.bodyNeedle || found.size === 0) return;
        for (const id of found) this.bodyMatches.add(id);
        this.set(this.refilter(this.state.visible[this.state.selected]?.id));
      },
      (err: unknown) => this.notify(`body search failed: ${messageOf(err)}`, 'error'),
    ).finally(() => {
      this.searching = false;
      if (this.bodyNeedle !== '' && this.searchQueue.length > 0) this.queueSearch([]);
    });
  }

  // ----- keys

  /** Handles one key press (or a pasted string). */
  key(input: string, key: KeyPress): void {
    if (key.ctrl && input === 'c') return this.actions.quit();
    if (input.length > 1 && !key.ctrl && !key.meta) return this.typed(input);
    if (this.state.editingFilter) return this.filterKey(input, key);
    if (this.state.page) return this.pageKey(input, key);
    this.listKey(input, key);
  }

  /**
   * Keys typed faster than they are read (or pasted) arrive as one string, Enter and Backspace included. In the
   * filter the text is taken at once up to an Enter; elsewhere each character is a key of its own.
   */
  private typed(input: string): void {
    if (input.includes('\u0003')) return this.actions.quit();
    if (this.state.editingFilter) {
      const end = input.search(/[\r\n]/);
      this.filterText(end === -1 ? input : input.slice(0, end));
      if (end === -1) return;
      this.set({ editingFilter: false });
      if (end + 1 < input.length) this.typed(input.slice(end + 1));
      return;
    }
    for (const ch of input) {
      if (ch === '\r' || ch === '\n') this.key('', { return: true });
      else if (ch === '\u007f' || ch === '\b') this.key('', { backspace: true });
      else if (ch === '\t') this.key('', { tab: true });
      else if (this.state.editingFilter) this.filterText(ch);
      else this.key(ch, {});
    }
  }

  private filterKey(input: string, key: KeyPress): void {
    if (key.return) return this.set({ editingFilter: false });
    if (key.escape) {
      this.state = { ...this.state, editingFilter: false };
      return this.setFilter('');
    }
    if (key.backspace || key.delete) return this.setFilter([...this.state.filter].slice(0, -1).join(''));
    if (key.upArrow || key.downArrow) {
      this.set({ editingFilter: false });
      return this.listKey(input, key);
    }
    if (key.ctrl && input === 'u') return this.setFilter('');
    if (key.ctrl || key.meta || key.tab) return;
    this.filterText(input);
  }

  /**
   * Adds typed text to the filter: a backspace in it (DEL or BS) deletes, Ctrl-U clears, other control characters
   * (pasted text may hold anything) are dropped; the rest is escaped when shown.
   */
  private filterText(input: string): void {
    let filter = this.state.filter;
    for (const ch of input) {
      if (ch === '\u007f' || ch === '\b') filter = [...filter].slice(0, -1).join('');
      else if (ch === '\u0015') filter = '';
      else if (!/[\u0000-\u001f\u007f-\u009f]/.test(ch)) filter += ch;
    }
    if (filter !== this.state.filter) this.setFilter(filter.slice(0, FILTER_MAX));
  }

  private pageKey(input: string, key: KeyPress): void {
    const page = this.state.page!;
    const h = pageHeight(this.state.size);
    if (input === 'q') return this.actions.quit();
    if (key.escape || key.return || (page.kind === 'help' && input === '?')) return this.closePage();
    if (key.upArrow || input === 'k') return this.scrollPage(-1);
    if (key.downArrow || input === 'j') return this.scrollPage(1);
    if (key.pageUp || input === 'b') return this.scrollPage(-h);
    if (key.pageDown || input === ' ' || input === 'f') return this.scrollPage(h);
    if (key.home || input === 'g') return this.scrollPage('top');
    if (key.end || input === 'G') return this.scrollPage('bottom');
    if (input === '?') return this.openPage('help', 'help', helpLines());
    if (page.kind === 'curl' && input === 'c') return this.closePage();
    if (page.kind !== 'detail') return;
    if (input === 'r') return this.act('replay');
    if (input === 'e') return this.act('edit');
    if (input === 'c') return this.act('curl');
  }

  private listKey(input: string, key: KeyPress): void {
    const h = listHeight(this.state.size);
    const { selected } = this.state;
    if (input === 'q') return this.actions.quit();
    if (key.upArrow || input === 'k') return this.select(selected - 1);
    if (key.downArrow || input === 'j') return this.select(selected + 1);
    if (key.pageUp) return this.select(selected - h);
    if (key.pageDown) return this.select(selected + h);
    if (key.home || input === 'g') return this.select(0);
    if (key.end || input === 'G') return this.select(this.state.visible.length - 1);
    if (key.return) {
      const row = this.state.visible[selected];
      return row ? this.openDetail(row) : this.notify('no exchange selected', 'error');
    }
    // An old notice would hide the filter's count once it is set.
    if (input === '/') return this.set({ editingFilter: true, notice: undefined });
    if (key.escape && this.state.filter !== '') return this.setFilter('');
    if (input === '?') return this.openPage('help', 'help', helpLines());
    if (input === 'r') return this.act('replay');
    if (input === 'e') return this.act('edit');
    if (input === 'c') return this.act('curl');
    if (input === 'u') {
      const url = this.state.info.url;
      return this.run('copying the public URL', async () => {
        const copied = await this.actions.copy(url);
        if (!copied.copied) throw new Error(`${copied.reason}; select it in the header`);
        return `public URL copied to the clipboard (${copied.via})`;
      });
    }
  }

  /** Stops timers; the controller ignores everything afterwards. */
  dispose(): void {
    this.disposed = true;
    clearTimeout(this.flushTimer);
    clearTimeout(this.noticeTimer);
    clearTimeout(this.searchTimer);
    this.listeners.clear();
  }
}

/** Splits a shell command at unquoted spaces into words. */
function shellWords(command: string): string[] {
  const words: string[] = [];
  let current = '';
  let quote: "'" | "$'" | undefined;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (quote) {
      // Inside $'…' a backslash escapes the next character (an escaped quote does not end it).
      if (c === '\\' && quote === "$'") {
        current += c + (command[++i] ?? '');
        continue;
      }
      if (c === "'") quote = undefined;
      current += c;
    } else if (c === ' ') {
      if (current !== '') words.push(current);
      current = '';
    } else if (c === '\\') {
      current += c + (command[++i] ?? '');
    } else {
      if (c === "'") quote = command[i - 1] === '$' ? "$'" : "'";
      current += c;
    }
  }
  if (current !== '') words.push(current);
  return words;
}

/**
 * A shell command (as toCurl writes it) as several lines that are still one command: a new line before each header,
 * method and data option of curl and before the last word (the URL), lines ending in ` \\`, or in `|` after a pipe.
 */
export function commandLines(command: string): string[] {
  const words = shellWords(command);
  const lines: string[] = [];
  let current: string[] = [];
  const end = (suffix: string): void => {
    if (current.length > 0) lines.push(`${current.join(' ')}${suffix}`);
    current = [];
  };
  let inCurl = false;
  words.forEach((word, i) => {
    if (word === '|') return end(' |');
    const option = inCurl && (word === '-H' || word === '-X' || word.startsWith('--data'));
    if (current.length > 0 && (option || i === words.length - 1)) end(' \\');
    inCurl ||= word === 'curl';
    current.push(word);
  });
  end('');
  return lines;
}
