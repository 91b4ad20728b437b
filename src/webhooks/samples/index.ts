import { genericSamples } from './generic.js';
import { githubSamples } from './github.js';
import type { Sample } from './sample.js';
import { shopifySamples } from './shopify.js';
import { slackSamples } from './slack.js';
import { standardSamples } from './standard.js';
import { stripeSamples } from './stripe.js';
import { twilioSamples } from './twilio.js';

export type { Sample, SampleRequest } from './sample.js';

/**
 * The sample events `hooktunnel send` knows, written for this project in the shape of each provider's documented
 * payloads (ids, amounts and names are made up). TypeScript modules rather than JSON files: they build with the
 * rest and get fresh ids and times on every send.
 */
export const SAMPLES: readonly Sample[] = [
  ...githubSamples, ...stripeSamples, ...slackSamples, ...shopifySamples, ...standardSamples, ...twilioSamples, ...genericSamples,
];

/** The sample for `provider` and `event`, or undefined. */
export function findSample(provider: string, event: string): Sample | undefined {
  return SAMPLES.find((s) => s.provider === provider && s.event === event);
}
