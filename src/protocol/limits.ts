/**
 * Largest body chunk carried by one Data frame. Socket reads (16-64 KiB) are gathered up to this size within one
 * event-loop turn (see DataBatcher): fewer, larger frames move a 50 MiB body with far fewer sends and syscalls.
 */
export const MAX_CHUNK_BYTES = 256 * 1024;

/** Largest encoded request or response head (method, path, headers as JSON). */
export const MAX_HEAD_BYTES = 512 * 1024;

/** Largest WebSocket message either end accepts; anything bigger closes the connection. */
export const MAX_FRAME_BYTES = MAX_HEAD_BYTES + MAX_CHUNK_BYTES + 64;

/**
 * Per-stream flow-control window: bytes of body one side may send on a stream before the other side grants more
 * credit. It bounds what a slow reader makes the other process buffer, per stream.
 */
export const STREAM_WINDOW_BYTES = 2 * 1024 * 1024;

/** The receiver returns credit once it has consumed this many bytes (fewer WINDOW frames than per-chunk). */
export const WINDOW_UPDATE_THRESHOLD = STREAM_WINDOW_BYTES / 4;

/**
 * A request body up to this size, announced by Content-Length, is sent inline with the request head in one
 * frame; the same for response bodies that arrive with their head. One frame instead of three per direction.
 */
export const INLINE_BODY_BYTES = 64 * 1024;

/** Default time the agent waits for the target's response head before answering 504. */
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 30_000;

/** Relay pings each agent this often; an agent that misses a whole interval is terminated. */
export const HEARTBEAT_INTERVAL_MS = 5_000;

/** Time allowed for the WebSocket handshake and the hello/ready exchange. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
