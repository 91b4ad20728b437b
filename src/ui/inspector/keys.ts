import type { InspectorController } from './controller.js';
import { headerLines, listHeight, pageHeight } from './layout.js';

/** Keys as ink reports them (a subset of its `Key`), so that the key map does not depend on ink. */
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

/**
 * Adds typed text to the filter: a backspace in it (DEL or BS) deletes, Ctrl-U clears, other control characters
 * (pasted text may hold anything) are dropped; the rest is escaped when shown.
 */
function typeIntoFilter(c: InspectorController, text: string): void {
  let filter = c.getState().filter;
  for (const ch of text) {
    if (ch === '\u007f' || ch === '\b') filter = [...filter].slice(0, -1).join('');
    else if (ch === '\u0015') filter = '';
    else if (!/[\u0000-\u001f\u007f-\u009f]/.test(ch)) filter += ch;
  }
  if (filter !== c.getState().filter) c.setFilter(filter);
}

/**
 * Keys typed faster than they are read (or pasted) arrive as one string, Enter and Backspace included. In the
 * filter the text is taken at once up to an Enter; elsewhere each character is a key of its own.
 */
function typed(c: InspectorController, input: string): void {
  if (input.includes('\u0003')) return c.quit();
  if (c.getState().editingFilter) {
    const end = input.search(/[\r\n]/);
    typeIntoFilter(c, end === -1 ? input : input.slice(0, end));
    if (end === -1) return;
    c.commitFilter();
    if (end + 1 < input.length) typed(c, input.slice(end + 1));
    return;
  }
  for (const ch of input) {
    if (ch === '\r' || ch === '\n') handleKey(c, '', { return: true });
    else if (ch === '\u007f' || ch === '\b') handleKey(c, '', { backspace: true });
    else if (ch === '\t') handleKey(c, '', { tab: true });
    else if (c.getState().editingFilter) typeIntoFilter(c, ch);
    else handleKey(c, ch, {});
  }
}

function filterKey(c: InspectorController, input: string, key: KeyPress): void {
  if (key.return) return c.commitFilter();
  if (key.escape) return c.clearFilter();
  if (key.backspace || key.delete) return typeIntoFilter(c, '\u007f');
  if (key.upArrow || key.downArrow) {
    c.commitFilter();
    return listKey(c, input, key);
  }
  if (key.ctrl && input === 'u') return c.setFilter('');
  if (key.ctrl || key.meta || key.tab) return;
  typeIntoFilter(c, input);
}

function pageKey(c: InspectorController, input: string, key: KeyPress): void {
  const state = c.getState();
  const kind = state.page!.kind;
  const h = pageHeight(state.size, headerLines(state.info.tunnels));
  if (input === 'q') return c.quit();
  if (key.escape || key.return || (kind === 'help' && input === '?')) return c.closePage();
  if (key.upArrow || input === 'k') return c.scroll(-1);
  if (key.downArrow || input === 'j') return c.scroll(1);
  if (key.pageUp || input === 'b') return c.scroll(-h);
  if (key.pageDown || input === ' ' || input === 'f') return c.scroll(h);
  if (key.home || input === 'g') return c.scroll('top');
  if (key.end || input === 'G') return c.scroll('bottom');
  if (input === '?') return c.showHelp();
  if (kind === 'curl' && input === 'c') return c.closePage();
  if (kind !== 'detail') return;
  if (input === 'd') return c.showDiff();
  if (input === 'r') return c.replay();
  if (input === 'e') return c.edit();
  if (input === 'c') return c.copyCurl();
  if (input === 'M') return c.cycleMode();
}

function listKey(c: InspectorController, input: string, key: KeyPress): void {
  const state = c.getState();
  const h = listHeight(state.size, headerLines(state.info.tunnels));
  if (input === 'q') return c.quit();
  if (key.upArrow || input === 'k') return c.move(-1);
  if (key.downArrow || input === 'j') return c.move(1);
  if (key.pageUp) return c.move(-h);
  if (key.pageDown) return c.move(h);
  if (key.home || input === 'g') return c.select(0);
  if (key.end || input === 'G') return c.select(state.visible.length - 1);
  if (key.return) return c.openSelected();
  if (input === '/') return c.startFilter();
  if (key.escape && state.filter !== '') return c.clearFilter();
  if (input === '?') return c.showHelp();
  if (input === 'r') return c.replay();
  if (input === 'e') return c.edit();
  if (input === 'c') return c.copyCurl();
  if (input === 'u') return c.copyUrl();
  if (input === 'M') return c.cycleMode();
  if (input === 't') return c.cycleTunnelFilter();
  if (input === 'm') return c.mark();
  if (input === 'd') return c.showDiff();
}

/** The key map: one key press (or several typed at once) to the controller's intents, by what is on screen. */
export function handleKey(c: InspectorController, input: string, key: KeyPress): void {
  if (key.ctrl && input === 'c') return c.quit();
  if (input.length > 1 && !key.ctrl && !key.meta) return typed(c, input);
  const state = c.getState();
  if (state.editingFilter) return filterKey(c, input, key);
  if (state.page) return pageKey(c, input, key);
  listKey(c, input, key);
}
