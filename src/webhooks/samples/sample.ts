import { randomBytes, randomUUID } from 'node:crypto';
import type { ProviderName } from '../types.js';

/** A sample event, unsigned: `send` signs it for the URL it goes to. */
export interface SampleRequest {
  /** Headers the provider sends besides its signature, `[name, value, …]`. */
  readonly headers: string[];
  readonly body: Buffer;
}

/** One sample event of one provider. */
export interface Sample {
  readonly provider: ProviderName;
  readonly event: string;
  /** One line for `send --list`. */
  readonly description: string;
  /** Builds the request at `now` (ms since the epoch), with fresh ids. */
  build(now: number): SampleRequest;
}

/** JSON body bytes. */
export function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value, null, 2));
}

/** A provider-style id: `prefix` + `length` random base-36 characters. */
export function sampleId(prefix: string, length = 24): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return prefix + [...randomBytes(length)].map((b) => alphabet[b % alphabet.length]).join('');
}

export { randomUUID };
