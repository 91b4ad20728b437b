import { Text } from 'ink';
import { sanitize } from '../format.js';
import type { StyledLine } from '../text.js';

/**
 * One line of styled text. The last gate before the terminal: every span is escaped here again (escaping is
 * idempotent), so nothing from an exchange reaches ink raw even if a builder forgot to escape it.
 */
export function StyledText({ spans }: { readonly spans: StyledLine }) {
  if (spans.length === 0 || spans.every((s) => s.text === '')) return <Text> </Text>;
  return (
    <Text wrap="truncate-end">
      {spans.map((s, i) => (
        <Text key={i} color={s.color} bold={s.bold} dimColor={s.dim} inverse={s.inverse}>
          {sanitize(s.text)}
        </Text>
      ))}
    </Text>
  );
}
