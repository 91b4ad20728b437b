import { sanitize } from '../format.js';
import { displayWidth, wrapLine, type Span, type StyledLine } from '../text.js';
import type { InspectorState } from './state.js';
import { headerLines, pageHeight } from './layout.js';
import { StyledText } from './StyledText.js';

const TONE = { info: undefined, ok: 'green', error: 'red' } as const;

function statusLine(state: InspectorState): StyledLine {
  if (state.editingFilter) {
    return [{ text: '/', color: 'cyan', bold: true }, { text: ' filter: ' }, { text: sanitize(state.filter) }, { text: '█', dim: true }, { text: '   Enter keeps it · Esc clears it', dim: true }];
  }
  // Escaped before it is measured and wrapped: errors can quote what a stranger sent.
  if (state.notice) return [{ text: sanitize(state.notice.text), color: TONE[state.notice.tone] }];
  if (state.filter !== '') {
    return [{ text: `filter "${sanitize(state.filter)}": ${state.visible.length} of ${state.rows.length}`, color: 'cyan' }, { text: '   / change · Esc clear', dim: true }];
  }
  return [];
}

function keysLine(state: InspectorState): StyledLine {
  const page = state.page;
  if (!page) {
    const follow: Span[] = state.follow || state.visible.length === 0 ? [] : [{ text: ' G follow', color: 'cyan' }];
    // A project run's own keys come before help and quit, which everyone knows to look for at the end.
    const project = state.info.tunnels ? `M mode ${state.info.tunnels.length > 1 ? 't tunnel ' : ''}` : '';
    return [{ text: `↑↓ move ⏎ open r replay e edit c curl / filter ${project}? help m/d diff q quit`, dim: true }, ...follow];
  }
  const h = pageHeight(state.size, headerLines(state.info.tunnels));
  const position = page.lines.length > h ? `  ${page.scroll + 1}-${Math.min(page.scroll + h, page.lines.length)}/${page.lines.length}` : '';
  const keys = page.kind === 'detail' ? '↑↓ scroll ⏎ back r replay e edit c curl d diff ? help q quit' : '↑↓ scroll ⏎ back q quit';
  // In a narrow terminal the line is cut at its end: the position goes first there, the keys (also in ? help) after.
  if (displayWidth(keys + position) > state.size.columns && position !== '') return [{ text: `${position.trim()}  `, color: 'cyan' }, { text: keys, dim: true }];
  return [{ text: keys, dim: true }, { text: position, color: 'cyan' }];
}

/** The notice (or the filter being typed) and the keys of the current view; a long notice takes both lines. */
export function Footer({ state }: { readonly state: InspectorState }) {
  const status = statusLine(state);
  const width = state.size.columns;
  const long = state.notice !== undefined && !state.editingFilter && displayWidth(status.map((s) => s.text).join('')) > width;
  const [first, second] = long ? wrapLine(status, width, 2) : [status, keysLine(state)];
  return (
    <>
      <StyledText spans={first ?? []} />
      <StyledText spans={second ?? []} />
    </>
  );
}
