import { json, sampleId, type Sample } from './sample.js';

/** A generic signed event, for `generic:<Header>` secrets. */
export const genericSamples: Sample[] = [
  {
    provider: 'generic', event: 'ping', description: 'a small JSON event signed with HMAC-SHA256 over the body',
    build: (now) => ({ headers: ['Content-Type', 'application/json'], body: json({ id: sampleId('evt_', 16), type: 'ping', created: new Date(now).toISOString() }) }),
  },
];
