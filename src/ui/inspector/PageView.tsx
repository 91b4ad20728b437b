import type { InspectorState, Page } from './state.js';
import { headerLines, pageHeight } from './layout.js';
import { StyledText } from './StyledText.js';

/** The part of a page (detail, help, curl command) that is on screen, padded to the page's height. */
export function PageView({ state, page }: { readonly state: InspectorState; readonly page: Page }) {
  const height = pageHeight(state.size, headerLines(state.info.tunnels));
  const shown = page.lines.slice(page.scroll, page.scroll + height);
  const pad = Math.max(0, height - shown.length);
  return (
    <>
      {shown.map((l, i) => (
        <StyledText key={i} spans={l} />
      ))}
      {Array.from({ length: pad }, (_, i) => (
        <StyledText key={`pad${i}`} spans={[]} />
      ))}
    </>
  );
}
