import { Agent, request as httpRequest, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { ErrorCode } from '../../errors.js';
import { hasHeader } from '../../protocol/headers.js';
import { stripHopByHop, type RequestHead } from '../../protocol/index.js';
import { sendError } from '../respond.js';
import { ADDED_HOST_HEADER, AUTH_HEADER, CLUSTER_PREFIX, NOT_HERE_HEADER, REMOTE_HEADER, sign } from './auth.js';

/** What became of a request sent to another node. */
export type Forwarded =
  /** The node took it: the sender has been (or is being) answered from there. */
  | 'served'
  /** The node could not be reached before any of the body left: the request is untouched, the caller decides. */
  | 'unreachable'
  /** The node does not hold the tunnel (its agent just moved): the request is untouched. */
  | 'not_here';

/**
 * How long a node has to say whether it takes a request (100 Continue, or an answer). It answers that from its own
 * table without a store call, so a node that takes longer is treated as gone.
 */
const ANSWER_TIMEOUT_MS = 3000;

/**
 * Sends requests to the other nodes of a cluster over HTTP, one request per exchange on kept-alive connections.
 * The head goes with `Expect: 100-continue`, and the node's 100 Continue says it holds the tunnel. A body streamed
 * from the sender leaves only after it, so a node that is gone, or no longer holds the tunnel, leaves the request
 * whole for another try or the away path. A body already read whole (`body`) goes with the head at once: a refusal
 * leaves it in hand just the same.
 */
export class NodeForwarder {
  private readonly http = new Agent({ keepAlive: true });
  private readonly https = new HttpsAgent({ keepAlive: true });
  private active = 0;

  constructor(private readonly secret: string) {}

  /**
   * Relays one sender request (`head` as this node built it) to tunnel `tunnel` on `node`, streaming the body from
   * `req` (or `body`, already read) and the answer back to `res`, byte for byte, with backpressure both ways.
   */
  async forward(node: string, tunnel: string, head: RequestHead, req: IncomingMessage, res: ServerResponse, body?: Buffer): Promise<Forwarded> {
    const first = await this.attempt(node, tunnel, head, req, res, body);
    // A kept-alive connection the other node closed just as this request went out: once more, on a new one.
    return first === 'stale' ? this.attempt(node, tunnel, head, req, res, body).then((r) => (r === 'stale' ? 'unreachable' : r)) : first;
  }

  /** Sender requests being answered through another node now (a draining relay waits for them). */
  get inFlight(): number {
    return this.active;
  }

  private attempt(node: string, tunnel: string, head: RequestHead, req: IncomingMessage, res: ServerResponse, body?: Buffer): Promise<Forwarded | 'stale'> {
    const path = `${CLUSTER_PREFIX}tunnel/${tunnel}${head.path}`;
    let headers = head.headers.slice();
    const base = new URL(node);
    const addedHost = !hasHeader(headers, 'host');
    if (addedHost) headers.unshift('Host', base.host);
    const hasBody = body ? body.length > 0 : req.headers['transfer-encoding'] !== undefined;
    // A body without a length goes chunked (hop-by-hop: the other node drops the header again).
    if (hasBody && !hasHeader(headers, 'content-length')) headers.push('Transfer-Encoding', 'chunked');
    headers.push('Expect', '100-continue', AUTH_HEADER, sign(this.secret, head.method, path, head.remote), REMOTE_HEADER, head.remote);
    if (addedHost) headers.push(ADDED_HOST_HEADER, '1');
    return new Promise<Forwarded | 'stale'>((resolve) => {
      let settled = false;
      // True once bytes of a streamed body have left (it cannot be sent again); a read body always can be.
      let sending = false;
      let answered: IncomingMessage | undefined;
      const settle = (r: Forwarded | 'stale'): void => {
        if (settled) return;
        settled = true;
        if (r === 'served' && !res.destroyed) {
          this.active++;
          res.once('close', () => this.active--);
        }
        resolve(r);
      };
      const out = this.open(base, head.method, path, headers);
      const timer = setTimeout(() => out.destroy(new Error(`no answer from ${node} within ${ANSWER_TIMEOUT_MS} ms`)), ANSWER_TIMEOUT_MS);
      out.on('continue', () => {
        clearTimeout(timer);
        settle('served');
        if (body) return;
        sending = true;
        req.pipe(out);
      });
      out.on('response', (answer) => {
        clearTimeout(timer);
        if (!sending && answer.headers[NOT_HERE_HEADER] !== undefined) {
          answer.resume();
          out.destroy();
          return settle('not_here');
        }
        settle('served');
        answered = answer;
        this.answer(answer, res, out, req, sending || body !== undefined);
      });
      out.on('error', () => {
        clearTimeout(timer);
        if (!settled) return settle(out.reusedSocket ? 'stale' : 'unreachable');
        // The other node answered whole and then closed (a refusal mid-body, 413): the answer stands.
        if (answered?.complete) return;
        if (!res.headersSent) sendError(res, ErrorCode.AgentDisconnected, 'the relay node holding the tunnel went away before answering');
        else if (!res.writableFinished) res.destroy();
      });
      // The sender went away: the other node learns it as an aborted request and resets the stream to the agent.
      res.on('close', () => {
        if (!res.writableFinished) out.destroy();
      });
      if (body) out.end(body);
      else out.flushHeaders();
    });
  }

  /** Writes the other node's answer to the sender (`sent`: the request's body went, or is going, to that node). */
  private answer(answer: IncomingMessage, res: ServerResponse, out: ClientRequest, req: IncomingMessage, sent: boolean): void {
    const aborted = (): void => void res.destroy();
    answer.on('aborted', aborted);
    answer.on('error', aborted);
    try {
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, stripHopByHop(answer.rawHeaders));
    } catch {
      answer.destroy();
      return sendError(res, ErrorCode.BadAgentResponse, 'the relay node holding the tunnel sent a response head that is not valid HTTP');
    }
    answer.pipe(res);
    // Answered before it took the whole body (a refusal): the rest is never read, so the sender's connection goes.
    if (!sent) answer.once('end', () => out.destroy());
    res.once('finish', () => {
      if (!req.complete) req.socket.destroy();
    });
  }

  /** Asks `node` to hand the agent of `tunnel` what was kept for it (a request kept here just now). */
  notify(node: string, tunnel: string): Promise<void> {
    const path = `${CLUSTER_PREFIX}deliver/${tunnel}`;
    return new Promise<void>((resolve) => {
      const out = this.open(new URL(node), 'POST', path, ['Host', new URL(node).host, 'Content-Length', '0', AUTH_HEADER, sign(this.secret, 'POST', path, ''), REMOTE_HEADER, '']);
      const timer = setTimeout(() => out.destroy(), ANSWER_TIMEOUT_MS);
      out.on('response', (answer) => answer.resume().on('end', () => resolve()).on('error', () => resolve()));
      out.on('error', () => resolve());
      out.on('close', () => {
        clearTimeout(timer);
        resolve();
      });
      out.end();
    });
  }

  private open(base: URL, method: string, path: string, headers: string[]): ClientRequest {
    const secure = base.protocol === 'https:';
    const options = { hostname: base.hostname.replace(/^\[|\]$/g, ''), port: base.port || (secure ? 443 : 80), method, path, headers, agent: secure ? this.https : this.http };
    return secure ? httpsRequest(options) : httpRequest(options);
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.http.destroy();
    this.https.destroy();
  }
}
