import { line, type StyledLine } from '../text.js';

/** Every key, as the help page and the README list them. */
export const KEYS: ReadonlyArray<readonly [keys: string, what: string]> = [
  ['↑ ↓  k j', 'move the selection (in a page: scroll)'],
  ['PgUp PgDn', 'move a page'],
  ['g G  Home End', 'first / last (G follows new exchanges again)'],
  ['Enter', 'open / close the details of the selected exchange'],
  ['r', 'replay the selected exchange (a new row, marked ↻)'],
  ['e', 'edit the request body in $VISUAL/$EDITOR, replay the result'],
  ['c', 'copy as a curl command (shown when there is no clipboard)'],
  ['u', 'copy the public URL'],
  ['m', 'mark the selected exchange (again: unmark it)'],
  ['d', 'diff the selected exchange against the marked one'],
  ['/', 'filter: method, path, status (404, 5xx), is:redelivery, body text; tunnel:NAME route:NAME'],
  ['M', "switch the exchange's route to its next mode (passthrough ack mock fail)"],
  ['t', 'show the next tunnel only, then all again (a project run)'],
  ['Esc', 'close a page; clear the filter'],
  ['?', 'this help'],
  ['q  Ctrl-C', 'quit'],
];

/** The help page. */
export function helpLines(): StyledLine[] {
  const width = Math.max(...KEYS.map(([k]) => k.length));
  return [
    line('Keys', { bold: true }),
    ...KEYS.map(([k, what]): StyledLine => [{ text: `  ${k.padEnd(width)}  `, color: 'cyan' }, { text: what }]),
    line(''),
    line('List', { bold: true }),
    line('  time  method  path  status  duration  request/response body size'),
    [{ text: '  ↻', color: 'magenta' }, { text: ' replay   ' }, { text: '↺', color: 'magenta' }, { text: ' redelivery   ' }, { text: '⏸', color: 'magenta' }, { text: ' missed while offline   ' }, { text: '✓ ✗', color: 'green' }, { text: ' signature valid / invalid' }],
    line('  • marks the exchange d compares with.'),
    line('  Newest at the bottom; the selection follows it until you move up.'),
    line('  Rows come from the capture store too: earlier runs are listed first.'),
  ];
}
