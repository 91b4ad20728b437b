import { render, type Instance } from 'ink';
import { InspectorApp } from './App.js';
import type { InspectorController } from './controller.js';

/** The alternate screen: what the inspector draws disappears on exit and the shell's screen comes back as it was. */
const ENTER = '\u001b[?1049h\u001b[H\u001b[2J';
const LEAVE = '\u001b[?25h\u001b[?1049l';

/** A running inspector. */
export interface InspectorHandle {
  /** Hands the terminal to `work` (an editor): the inspector is taken down, and drawn again when `work` settles. */
  suspend<T>(work: () => Promise<T>): Promise<T>;
  /** Takes the inspector down and gives the terminal back as it was. Safe to call more than once. */
  stop(): void;
}

/** Terminal streams the inspector draws on and reads keys from. */
export interface InspectorStreams {
  readonly stdout: NodeJS.WriteStream;
  readonly stdin: NodeJS.ReadStream;
  readonly stderr: NodeJS.WriteStream;
}

/**
 * Draws the inspector on the alternate screen and reads keys in raw mode until `stop()`. If the process exits
 * another way (a signal, an uncaught error), the terminal is still given back: main screen, cursor, cooked mode.
 */
export function runInspector(controller: InspectorController, streams: InspectorStreams): InspectorHandle {
  let instance: Instance | undefined;
  let stopped = false;
  const mount = (): void => {
    streams.stdout.write(ENTER);
    if (streams.stdout.columns > 0 && streams.stdout.rows > 0) controller.setSize({ columns: streams.stdout.columns, rows: streams.stdout.rows });
    instance = render(<InspectorApp controller={controller} />, {
      stdout: streams.stdout,
      stdin: streams.stdin,
      stderr: streams.stderr,
      exitOnCtrlC: false,
      patchConsole: false,
    });
  };
  const unmount = (): void => {
    instance?.unmount();
    instance?.cleanup();
    instance = undefined;
    streams.stdout.write(LEAVE);
  };
  const onExit = (): void => {
    if (instance) unmount();
    if (streams.stdin.isTTY) streams.stdin.setRawMode(false);
  };
  process.on('exit', onExit);
  mount();
  return {
    async suspend<T>(work: () => Promise<T>): Promise<T> {
      unmount();
      try {
        return await work();
      } finally {
        if (!stopped) mount();
      }
    },
    stop(): void {
      if (stopped) return;
      stopped = true;
      unmount();
      process.off('exit', onExit);
    },
  };
}
