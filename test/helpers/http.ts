import { request, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';

/** A response as the sender saw it. */
export interface SentResponse {
  readonly status: number;
  /** `[name, value, …]` in wire order. */
  readonly rawHeaders: string[];
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

/** Sends one request with node:http (no normalisation of the path) and reads the whole answer. */
export function send(
  base: string,
  path: string,
  options: { method?: string; headers?: Record<string, string | string[]> | string[]; body?: Buffer | string } = {},
): Promise<SentResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, method: options.method ?? 'GET', path, headers: options.headers, agent: false },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, rawHeaders: res.rawHeaders, headers: res.headers, body: Buffer.concat(parts) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Starts a GET and resolves with the response paused once its head arrived: a sender that stops reading. */
export function pausedResponse(base: string, path: string): Promise<IncomingMessage> {
  const url = new URL(base);
  const req = request({ host: url.hostname, port: url.port, path, agent: false });
  return new Promise<IncomingMessage>((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (res) => resolve(res.pause())).end();
  });
}

/** The base URL (`http://127.0.0.1:port`) and path prefix of a public tunnel URL. */
export function splitPublicUrl(publicUrl: string): { base: string; prefix: string } {
  const u = new URL(publicUrl);
  return { base: `${u.protocol}//${u.host}`, prefix: u.pathname };
}

/** Writes raw bytes to host:port and collects everything until the peer closes (bounded by `timeoutMs`). */
export function rawExchange(port: number, data: string | Buffer, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const parts: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(Buffer.concat(parts).toString('latin1'));
    }, timeoutMs);
    socket.on('data', (c) => parts.push(c));
    socket.on('error', (err) => {
      clearTimeout(timer);
      if (parts.length) resolve(Buffer.concat(parts).toString('latin1'));
      else reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(parts).toString('latin1'));
    });
    socket.write(data);
  });
}

/** Header values of `name` (case-insensitive) from a raw list, in order. */
export function valuesOf(raw: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) out.push(raw[i + 1]!);
  return out;
}
