import { FRAME_HEADER_BYTES, FrameType, decodeFrame, encodeWindow, type RequestHead } from '../protocol/index.js';
import type { DeliveryAttempt } from '../model/exchange.js';
import type { RequestEvent } from './events.js';
import { AgentExchange, type ExchangeHost } from './exchange.js';

/** Stream number of detached exchanges: they never reach the relay, so any valid number will do. */
const DETACHED_STREAM = 1;

/**
 * Forwards a request that has no sender waiting (a missed request, a replay) through the same exchange code as
 * live traffic, so it is forwarded, observed and reported identically. The response goes nowhere: every body
 * frame is granted back at once, as if read by an infinitely fast sender. Resolves with the exchange's event.
 */
export function forwardDetached(host: ExchangeHost, id: string, head: RequestHead, body: Buffer, replayOf?: string, attempt?: DeliveryAttempt): Promise<RequestEvent> {
  return new Promise((resolve) => {
    let ex: AgentExchange | undefined = undefined;
    const detached: ExchangeHost = {
      forwarder: host.forwarder,
      preserveHost: host.preserveHost,
      send(frame) {
        const type = frame[0];
        const payload = frame.subarray(FRAME_HEADER_BYTES);
        const granted = type === FrameType.Data ? payload.length : type === FrameType.Response ? payload.length - 4 - payload.readUInt32BE(0) : 0;
        if (granted > 0) queueMicrotask(() => ex?.onFrame(decodeFrame(encodeWindow(DETACHED_STREAM, granted))));
      },
      done() {},
      started: (e, method, path, headers) => host.started(e, method, path, headers),
      requestBody: (e, chunk) => host.requestBody(e, chunk),
      requestEnded: (e) => host.requestEnded(e),
      responded: (e, status, headers) => host.responded(e, status, headers),
      responseBody: (e, chunk) => host.responseBody(e, chunk),
      verifier: host.verifier ? (h) => host.verifier!(h) : undefined,
      deliveries: host.deliveries,
      finished(e, event) {
        host.finished(e, event);
        resolve(event);
      },
    };
    ex = new AgentExchange(id, DETACHED_STREAM, detached, replayOf, attempt);
    ex.open(head, body, true);
  });
}
