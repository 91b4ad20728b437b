/** The wire protocol version this build speaks. Bumped on any incompatible change to frames or handshake. */
export const PROTOCOL_VERSION = 1;

/** Request header carrying the agent's protocol version on the WebSocket upgrade. */
export const VERSION_HEADER = 'x-hooktunnel-protocol';

/** The relay's own path prefix: handshake, health and metrics live here and nowhere else. */
export const RELAY_PATH_PREFIX = '/_hooktunnel/';

/**
 * WebSocket close code the relay sends to a connection whose tunnel a newer connection of the same owner (one that
 * knows the secret) took over. An agent that still counted its link as alive gets it only when another agent holds
 * its secret (the same data directory in another terminal): it stops rather than take the tunnel back, which would
 * make both flap for ever.
 */
export const CLOSE_REPLACED = 4003;

/** Path of the WebSocket endpoint agents connect to. */
export const CONNECT_PATH = '/_hooktunnel/connect';
