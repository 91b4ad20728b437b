import { line, type StyledLine } from '../text.js';

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

/** The page that shows a curl command that could not be copied, split so that it can be selected and pasted. */
export function curlPage(id: string, command: string, reason: string): StyledLine[] {
  const lines: StyledLine[] = [
    line(`Not copied (${reason}). Select the command below, or run:`, { dim: true }),
    line(`  hooktunnel export ${id} --format curl`, { dim: true }),
    line(''),
  ];
  if (command.length > 256 * 1024) return [...lines, line(`(${Math.round(command.length / 1024)} KB: too long to show here)`, { dim: true })];
  return [...lines, ...commandLines(command).map((part, i) => line(`${i === 0 ? '' : '  '}${part}`))];
}
