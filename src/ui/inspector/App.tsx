import { Box, Text, useInput, useStdout } from 'ink';
import { useEffect, useSyncExternalStore } from 'react';
import type { InspectorController } from './controller.js';
import { ExchangeList } from './ExchangeList.js';
import { Footer } from './Footer.js';
import { Header } from './Header.js';
import { handleKey } from './keys.js';
import { MIN_COLUMNS, MIN_ROWS, frameHeight, tooSmall } from './layout.js';
import { PageView } from './PageView.js';

/** Follows the terminal's size: the controller lays out for it. */
function useResize(controller: InspectorController): void {
  const { stdout } = useStdout();
  useEffect(() => {
    const resized = (): void => {
      if (stdout.columns > 0 && stdout.rows > 0) controller.setSize({ columns: stdout.columns, rows: stdout.rows });
    };
    stdout.on('resize', resized);
    return () => void stdout.off('resize', resized);
  }, [stdout, controller]);
}

/**
 * The inspector: header, then the list of exchanges or a page (detail, help, curl), then the notice and key
 * lines. Renders the controller's state and hands it every key; it does no I/O of its own.
 */
export function InspectorApp({ controller }: { readonly controller: InspectorController }) {
  const state = useSyncExternalStore(controller.subscribe, controller.getState);
  useResize(controller);
  useInput((input, key) => handleKey(controller, input, key));
  const { size } = state;
  if (tooSmall(size)) {
    return (
      <Text wrap="truncate-end">
        too small: {size.columns}×{size.rows}, needs {MIN_COLUMNS}×{MIN_ROWS} · q quits
      </Text>
    );
  }
  return (
    <Box flexDirection="column" width={size.columns} height={frameHeight(size)}>
      <Header state={state} />
      {state.page ? <PageView state={state} page={state.page} /> : <ExchangeList state={state} />}
      <Footer state={state} />
    </Box>
  );
}
