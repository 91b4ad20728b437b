/** The public API: everything the CLI does, as typed functions. */
export { createRelay, type ClusterOptions, type RelayHandle, type RelayOptions, type RelayStats } from './relay/server.js';
export { connectAgent, type AgentHandle, type AgentOptions, type RouteMode } from './agent/connect.js';
export { parseTarget, type Target } from './agent/target.js';
export type { AgentEventMap, ReadyEvent, RequestEvent, ExchangeStart, ExchangeResponse, MissedEvent, ModeEvent, SignatureCheck } from './agent/events.js';
export { ErrorCode, HooktunnelError, isHooktunnelError, statusForCode } from './errors.js';
export { PROTOCOL_VERSION } from './protocol/index.js';
export { CaptureStore, openCaptureStore, STORE_DEFAULTS, type StoreOptions } from './capture/store.js';
export { REQUEST, RESPONSE, type CaptureHead, type CaptureEnd, type Direction } from './capture/schema.js';
export { findCapture, listCaptures, readBody, selectCaptures, type Capture } from './capture/queries.js';
export { attachRecorder } from './capture/recorder.js';
export { toHar, type CaptureWithBodies } from './capture/har.js';
export { toCurl, shellQuote } from './capture/curl.js';
export { replayCapture, replayRequest, replayEvents, type ReplayCaptureOptions, type ReplayOutcome, type ReplayRequest } from './agent/replay.js';
export { newExchangeId, type Exchange, type ExchangeOpening, type ExchangeOutcome, type DeliveryLedger, type DeliveryMark } from './model/exchange.js';
export { diffExchanges, type ExchangeDiff, type DiffSide, type BodyDiff, type HeaderDiff } from './capture/diff.js';
export { Deliveries, storeDeliveries } from './capture/deliveries.js';
export { deliveryIdOf } from './webhooks/delivery.js';
export {
  startVerification, verifySignature, detectSignature, resignRequest, resignCaptured, describeResign, signRequest, withSecretFor, senderUrls, capturedPublicUrl,
  loadSecrets, parseVerifySpec, parseVerifyList, readVerifyConfig, SAMPLES, findSample, PROVIDERS, Reason, DEFAULT_TOLERANCE_SECONDS, VERIFY_ENV,
  type WebhookSecret, type VerifyOptions, type SignatureVerifier, type ProviderName, type SignatureReason, type Resigned, type SigningSecret, type CapturedRequest, type Sample,
} from './webhooks/index.js';
export { openTestTunnel, type TestTunnel, type TestTunnelOptions, type TestSendOptions, type TestReplayOptions } from './testing/tunnel.js';
export type { TestExchange, TestMessage } from './testing/collector.js';
export type { ExchangeMatch } from './testing/match.js';
export { sendEvent, type SentEvent } from './agent/send-event.js';
export { replayFixture, type ReplayFixtureOptions } from './agent/replay-fixture.js';
export { FIXTURE_FORMAT, parseFixture, captureToFixture, fixtureBytes, fixtureText, fixtureFileName, type Fixture, type FixtureOptions } from './capture/fixture.js';
export { parseHar, IMPORTED_TUNNEL, type ImportedEntry } from './capture/har-import.js';
