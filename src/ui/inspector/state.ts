import type { ResponseMode } from '../../model/exchange.js';
import type { StyledLine } from '../text.js';
import type { Size } from './layout.js';
import type { ExchangeRow } from './rows.js';

/** What the header shows about the tunnel. */
export interface TunnelInfo {
  readonly url: string;
  readonly target: string;
  readonly relay: string;
  /** The relay runs inside this process, on 127.0.0.1. */
  readonly embedded: boolean;
  /** A project run's tunnels (a config file's), in the file's order: the header lists them and their routes. */
  readonly tunnels?: readonly ProjectTunnel[];
}

/** One tunnel of a project run, as the header shows it. */
export interface ProjectTunnel {
  readonly name: string;
  /** Its public URL; empty until it is connected. */
  readonly url: string;
  readonly routes: ReadonlyArray<{ readonly name: string; readonly mode: ResponseMode }>;
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
  /** The lines of the diff of two stored exchanges (`a` the marked one), as `hooktunnel diff` prints them. */
  loadDiff(a: string, b: string): Promise<StyledLine[]>;
  /** Puts text on the clipboard, when there is one. */
  copy(text: string): Promise<CopyResult>;
  /** Which of `ids` have `needle` in a body (a store query; bodies never come to the UI). */
  searchBodies(needle: string, ids: readonly string[]): Promise<ReadonlySet<string>>;
  /** Leaves the inspector and stops the agent. */
  quit(): void;
  /**
   * A project run's: switches route `route` of tunnel `tunnel` to its next response mode; resolves with a sentence.
   * Absent when the run has no routes.
   */
  cycleMode?(tunnel: string, route: string): Promise<string>;
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
  readonly kind: 'detail' | 'help' | 'curl' | 'diff';
  /** The exchange shown (detail, curl). */
  readonly id?: string;
  /** Lines wrapped to the terminal width. */
  readonly lines: readonly StyledLine[];
  readonly scroll: number;
  readonly loading: boolean;
}

/** Everything the inspector shows; a new object on every change (for React's useSyncExternalStore). */
export interface InspectorState {
  readonly info: TunnelInfo;
  readonly connection: Connection;
  /**
   * This run's exchanges, failures and redeliveries; `earlier`: rows read from the store at start; `dropped`: lost
   * while offline.
   */
  readonly counts: { readonly requests: number; readonly errors: number; readonly earlier: number; readonly dropped: number; readonly redeliveries?: number };
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
  /** The exchange marked with `m`: `d` shows the diff of the selected one against it. */
  readonly marked?: string;
  readonly page?: Page;
  readonly notice?: Notice;
  readonly size: Size;
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
