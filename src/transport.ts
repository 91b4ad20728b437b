import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/**
 * Returns a send function for `ws` that writes every frame sent during one event-loop turn with a single syscall:
 * the socket is corked at the first send and uncorked after the poll phase (setImmediate). Under load many
 * exchanges finish in one turn, and on small VMs each write that wakes the peer costs tens of microseconds.
 */
export function batchedSender(ws: WebSocket): (frame: Buffer | string) => void {
  // ws 8 keeps the underlying net.Socket in `_socket` (not public API; checked against ws 8.23). A client
  // WebSocket has it only once the upgrade is done, so it is looked up at each send, not when this is called
  // (looking it up early silently disabled batching on the agent). Without it, frames are sent one by one.
  let corked: Socket | undefined;
  const uncork = (): void => {
    const socket = corked!;
    corked = undefined;
    if (!socket.destroyed) socket.uncork();
  };
  return (frame) => {
    if (ws.readyState !== ws.OPEN) return;
    if (!corked) {
      const socket = (ws as unknown as { _socket?: Socket })._socket;
      if (socket) {
        corked = socket;
        socket.cork();
        setImmediate(uncork);
      }
    }
    ws.send(frame);
  };
}
