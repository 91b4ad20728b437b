import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { ErrorCode, HooktunnelError, isHooktunnelError } from '../errors.js';
import { HANDSHAKE_TIMEOUT_MS, decodeAgentControl, encodeControl, type AgentControl } from '../protocol/index.js';

/** WebSocket close code sent after a `refused` message. */
export const CLOSE_REFUSED = 4001;

/**
 * Waits for the agent's `hello` on a fresh connection. Resolves with it, or rejects (after telling the agent why
 * and closing) when it is late or malformed.
 */
export function awaitHello(ws: WebSocket): Promise<Extract<AgentControl, { type: 'hello' }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new HooktunnelError(ErrorCode.ProtocolError, 'no hello within the handshake timeout')), HANDSHAKE_TIMEOUT_MS);
    const fail = (err: HooktunnelError): void => {
      cleanup();
      refuse(ws, err.code, err.message);
      reject(err);
    };
    const onMessage = (data: Buffer, isBinary: boolean): void => {
      if (isBinary) return fail(new HooktunnelError(ErrorCode.ProtocolError, 'expected a hello message first'));
      try {
        const msg = decodeAgentControl(data.toString('utf8'));
        if (msg.type !== 'hello') return fail(new HooktunnelError(ErrorCode.ProtocolError, `expected hello, got ${msg.type}`));
        cleanup();
        resolve(msg);
      } catch (err) {
        if (isHooktunnelError(err)) fail(err);
        else throw err;
      }
    };
    const onClose = (): void => {
      cleanup();
      reject(new HooktunnelError(ErrorCode.ProtocolError, 'the agent closed before saying hello'));
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      ws.off('message', onMessage);
      ws.off('close', onClose);
    };
    ws.on('message', onMessage);
    ws.on('close', onClose);
  });
}

/** Sends a `refused` message and closes; the agent prints the message and does not retry. */
export function refuse(ws: WebSocket, code: string, message: string): void {
  if (ws.readyState !== ws.OPEN) return;
  ws.send(encodeControl({ type: 'refused', code, message }));
  ws.close(CLOSE_REFUSED, code);
}

/** The base URL an agent's tunnel is advertised under, from --public-url or the Host the agent dialled. */
export function advertisedUrl(
  req: IncomingMessage,
  tunnel: string,
  options: { publicUrl?: string; domain?: string; tls: boolean },
): string {
  const base = new URL(options.publicUrl ?? `${options.tls ? 'https' : 'http'}://${req.headers.host ?? 'localhost'}`);
  if (options.domain) return `${base.protocol}//${tunnel}.${options.domain}${base.port ? `:${base.port}` : ''}`;
  const prefix = base.pathname.endsWith('/') ? base.pathname.slice(0, -1) : base.pathname;
  return `${base.protocol}//${base.host}${prefix}/t/${tunnel}`;
}
