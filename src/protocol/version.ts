/** The wire protocol version this build speaks. Bumped on any incompatible change to frames or handshake. */
export const PROTOCOL_VERSION = 1;

/** Request header carrying the agent's protocol version on the WebSocket upgrade. */
export const VERSION_HEADER = 'x-hooktunnel-protocol';

/** The relay's own path prefix: handshake, health and metrics live here and nowhere else. */
export const RELAY_PATH_PREFIX = '/_hooktunnel/';

/** Path of the WebSocket endpoint agents connect to. */
export const CONNECT_PATH = '/_hooktunnel/connect';
