import type { EventEmitter } from 'node:events';
import { fixtureBytes, fixtureCapture, type Fixture } from '../capture/fixture.js';
import { signRequest } from '../webhooks/resign.js';
import type { WebhookSecret } from '../webhooks/types.js';
import { capturedPublicUrl } from '../webhooks/url.js';
import { detectSignature } from '../webhooks/verify.js';
import type { AgentEventMap } from './events.js';
import { replayCapture, type ReplayCaptureOptions, type ReplayOutcome } from './replay.js';
import type { Target } from './target.js';

/** How to replay a fixture (see replayFixture). */
export interface ReplayFixtureOptions extends Pick<ReplayCaptureOptions, 'resign' | 'editHeaders' | 'preserveHost' | 'timeoutMs'> {
  readonly target: Target;
  /** Secrets to sign with (the fixture's provider's newest) and to check the replay against. */
  readonly secrets: readonly WebhookSecret[];
}

/**
 * The fixture's headers, signed for its provider when the fixture names one, its signature headers were left out
 * (`save` removes them) and a secret for it is known: replayCapture then recognises the signature and re-signs it
 * like any capture's.
 */
function withSignature(f: Fixture, tunnel: string, headers: readonly string[], body: Buffer, secrets: readonly WebhookSecret[]): string[] {
  if (!f.provider || detectSignature(headers, secrets)) return [...headers];
  const secret = secrets.filter((s) => s.provider === f.provider).at(-1);
  if (!secret) return [...headers];
  const url = (capturedPublicUrl(headers, tunnel) ?? 'http://localhost') + f.path;
  return signRequest({ url, headers, body }, secret, Date.now()).headers;
}

/**
 * Sends a fixture like a capture: through replayCapture (re-signed with a fresh timestamp for its provider, the
 * replay's own signature checked, recorded by whatever listens on `events` with `replayOf` = `name`).
 * Unless `resign: false`, a fixture whose signature headers were removed is signed for its `provider` first.
 */
export function replayFixture(events: EventEmitter<AgentEventMap>, f: Fixture, name: string, options: ReplayFixtureOptions): Promise<ReplayOutcome> {
  const body = fixtureBytes(f);
  const c = fixtureCapture(f, name, options.target.display);
  const signed = options.resign === false ? c : { ...c, requestHeaders: withSignature(f, c.tunnel, c.requestHeaders, body, options.secrets) };
  return replayCapture(events, signed, { ...options, capturedBody: body });
}
