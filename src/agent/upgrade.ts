import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import type { ForwardHandler, ForwardRequest } from './forward.js';
import type { Target } from './target.js';

/** A forward handler that can also take over a connection the target switched to another protocol (101). */
export interface UpgradeHandler extends ForwardHandler {
  /** The target answered 101: `socket` now speaks the new protocol; `head` is what it sent right behind the 101. */
  onUpgrade(statusText: string, rawHeaders: string[], socket: Socket, head: Buffer): void;
}

/** An upgrade request to forward: the request (no body) and the protocol asked for. */
export interface UpgradeRequest extends ForwardRequest {
  readonly protocol: string;
}

function headersTimeout(timeoutMs: number): Error {
  // The code undici gives a missing response head, so that classifyForwardError reports a timeout as for any request.
  return Object.assign(new Error(`no response within ${timeoutMs / 1000} s`), { code: 'UND_ERR_HEADERS_TIMEOUT' });
}

/**
 * Sends an upgrade request to the target with node:http (undici does not hand over an upgraded socket as a
 * stream of raw bytes both ways) on a connection of its own. A 101 goes to `onUpgrade`; any other answer is
 * played to the handler as undici would (head, body chunks with backpressure, end or error).
 */
export function forwardUpgrade(target: Target, timeoutMs: number, req: UpgradeRequest, handler: UpgradeHandler): void {
  const url = new URL(target.origin);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  let settled = false;
  const fail = (err: Error): void => {
    if (settled) return;
    settled = true;
    handler.onError(err);
  };
  let out: ClientRequest;
  try {
    out = request({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port || undefined,
      method: req.method,
      path: target.basePath + req.path,
      headers: [...req.headers, 'Connection', 'Upgrade', 'Upgrade', req.protocol],
      agent: false,
    });
  } catch (err) {
    return fail(err as Error);
  }
  handler.onConnect((err) => out.destroy(err ?? new Error('cancelled')));
  out.setTimeout(timeoutMs, () => out.destroy(headersTimeout(timeoutMs)));
  out.on('error', fail);
  out.on('upgrade', (res: IncomingMessage, socket: Socket, head: Buffer) => {
    settled = true;
    out.setTimeout(0);
    socket.setTimeout(0);
    handler.onUpgrade(res.statusMessage ?? '', res.rawHeaders, socket, head);
  });
  out.on('response', (res: IncomingMessage) => {
    out.setTimeout(0);
    const raw = res.rawHeaders.map((v) => Buffer.from(v, 'latin1'));
    handler.onHeaders(res.statusCode ?? 502, raw, () => res.resume(), res.statusMessage ?? '');
    res.on('data', (chunk: Buffer) => {
      if (!settled && !handler.onData(chunk)) res.pause();
    });
    res.on('end', () => {
      if (settled) return;
      settled = true;
      handler.onComplete(null);
    });
    res.on('error', fail);
    res.on('close', () => {
      if (!res.complete) fail(Object.assign(new Error('connection reset'), { code: 'ECONNRESET' }));
    });
  });
  out.end();
}
