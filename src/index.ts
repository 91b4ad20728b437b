/** The public API: everything the CLI does, as typed functions. */
export { createRelay, type RelayHandle, type RelayOptions, type RelayStats } from './relay/server.js';
export { connectAgent, type AgentHandle, type AgentOptions } from './agent/connect.js';
export { parseTarget, type Target } from './agent/target.js';
export type { AgentEventMap, ReadyEvent, RequestEvent, ExchangeStart, ExchangeResponse } from './agent/events.js';
export { ErrorCode, HooktunnelError, isHooktunnelError, statusForCode } from './errors.js';
export { PROTOCOL_VERSION } from './protocol/index.js';
