import chalk from 'chalk';
import type { Capture } from '../capture/queries.js';
import { headerPairs } from '../protocol/headers.js';
import { deliveryState } from '../model/exchange.js';
import { previewBody } from './body-preview.js';
import { deliveryText } from './printers.js';
import { describeSignature, formatBytes, formatDuration, sanitize } from './format.js';

function headerLines(raw: readonly string[]): string[] {
  return headerPairs(raw).map(([name, value]) => `${chalk.cyan(sanitize(name))}: ${sanitize(value)}`);
}

function signatureColour(status: string): (text: string) => string {
  return status === 'valid' ? chalk.green : status === 'invalid' ? chalk.red : chalk.gray;
}

/** The whole exchange as `hooktunnel show` prints it: request line, headers, body; response status, headers, body. */
export function exchangeText(c: Capture, requestBody: Buffer, responseBody: Buffer): string {
  const lines = [
    chalk.bold(`${c.id}  ${new Date(c.time).toISOString()}  ${formatDuration(c.durationMs)}`) +
      (c.replayOf ? chalk.magenta(`  replay of ${c.replayOf}`) : '') +
      (c.missed ? chalk.magenta('  missed while offline') : '') +
      (c.complete ? '' : chalk.yellow('  incomplete (in flight when the agent stopped)')),
    `${chalk.gray('tunnel')} ${c.tunnelName !== undefined ? `${sanitize(c.tunnelName)} (${sanitize(c.tunnel)})` : sanitize(c.tunnel)}  ${chalk.gray('target')} ${sanitize(c.target)}` +
      (c.route !== undefined ? `  ${chalk.gray('route')} ${sanitize(c.route)}${c.mode ? ` (${c.mode})` : ''}` : ''),
    ...(c.ackAttempt ? [`${chalk.gray('delivery')} ${deliveryText({ ackAttempt: c.ackAttempt, delivery: deliveryState(c) })}`] : []),
    ...(c.deliveryId ? [`${chalk.gray('delivery')} ${sanitize(c.deliveryId)}  ${chalk.gray('attempt')} ${c.attempt ?? 1}${c.redeliveryOf ? chalk.magenta(`  redelivery of ${c.redeliveryOf}`) : ''}`] : []),
    ...(c.signature ? [`${chalk.gray('signature')} ${signatureColour(c.signature.status)(sanitize(describeSignature(c.signature)))}`] : []),
    ...(c.upgrade ? [`${chalk.gray('upgraded')} ${chalk.cyan(sanitize(c.upgrade.protocol))}  ${c.upgrade.messagesIn} messages in, ${c.upgrade.messagesOut} out  ${formatBytes(c.upgrade.bytesIn)} in, ${formatBytes(c.upgrade.bytesOut)} out`] : []),
    '',
    chalk.bold(`${sanitize(c.method)} ${sanitize(c.path)}`),
    ...headerLines(c.requestHeaders),
    '',
    ...previewBody(requestBody, c.requestHeaders, c.requestBytes, c.requestTruncated),
    '',
  ];
  if (c.responseHeaders) {
    lines.push(chalk.bold(`${c.status}`) + chalk.gray(`  ${formatBytes(c.responseBytes)}`), ...headerLines(c.responseHeaders), '');
    lines.push(...previewBody(responseBody, c.responseHeaders, c.responseBytes, c.responseTruncated));
  }
  if (c.error) lines.push('', chalk.red(`${c.error}${c.status ? ` (the sender got ${c.status})` : ''}: ${sanitize(c.message ?? '')}`));
  return `${lines.join('\n')}\n`;
}
