import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { statusForCode } from '../errors.js';

/** Header naming the cause of every response the relay makes up itself. */
export const ERROR_HEADER = 'X-Hooktunnel-Error';

function errorBody(code: string, message: string): string {
  return `${JSON.stringify({ error: { code, message } })}\n`;
}

/**
 * Answers with a relay error: status from the code, a small JSON body `{error: {code, message}}` and the
 * `X-Hooktunnel-Error` header. Does nothing when the response has already started.
 */
export function sendError(res: ServerResponse, code: string, message: string, extra: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const body = errorBody(code, message);
  res.writeHead(statusForCode(code), {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    [ERROR_HEADER]: code,
    ...extra,
  });
  res.end(body);
}

/**
 * Answers a request whose body will not be read further (too large, too slow) with a relay error, then closes its
 * connection: what is left of the body must not be taken for the next request.
 */
export function refuseAndClose(req: IncomingMessage, res: ServerResponse, code: string, message: string): void {
  sendError(res, code, message, { Connection: 'close' });
  res.once('finish', () => req.socket.destroy());
}

/** The message of `request_timeout`: the sender paused inside its body for longer than `idleMs`. */
export function bodyIdleMessage(idleMs: number): string {
  return `no request body bytes for ${idleMs / 1000} s`;
}

/** Writes an error response straight onto a raw socket (upgrade requests have no ServerResponse) and closes it. */
export function sendSocketError(socket: Duplex, status: number, reason: string, code: string, message: string, extra: Record<string, string> = {}): void {
  const body = errorBody(code, message);
  let more = '';
  for (const [name, value] of Object.entries(extra)) more += `${name}: ${value}\r\n`;
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `${ERROR_HEADER}: ${code}\r\n${more}Connection: close\r\n\r\n${body}`,
  );
}
