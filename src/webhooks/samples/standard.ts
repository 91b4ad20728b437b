import { json, sampleId, type Sample } from './sample.js';

/** Standard Webhooks samples: the `{type, timestamp, data}` envelope the specification recommends. */
export const standardSamples: Sample[] = [
  {
    provider: 'standard', event: 'user.created', description: 'the envelope of the Standard Webhooks specification',
    build(now) {
      return {
        headers: ['Content-Type', 'application/json', 'User-Agent', 'Svix-Webhooks/1.24.0', 'webhook-id', sampleId('msg_', 27)],
        body: json({ type: 'user.created', timestamp: new Date(now).toISOString(), data: { id: sampleId('user_', 16), email: 'ada@example.com', name: 'Ada Lovelace' } }),
      };
    },
  },
];
