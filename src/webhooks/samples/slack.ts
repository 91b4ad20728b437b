import { json, sampleId, type Sample } from './sample.js';

const headers = (): string[] => ['User-Agent', 'Slackbot 1.0 (+https://api.slack.com/robots)', 'Content-Type', 'application/json', 'Accept', '*/*'];

/** Slack Events API samples. */
export const slackSamples: Sample[] = [
  {
    provider: 'slack', event: 'url_verification', description: 'the challenge Slack sends when an events URL is saved',
    build: () => ({ headers: headers(), body: json({ token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl', challenge: sampleId('', 48), type: 'url_verification' }) }),
  },
  {
    provider: 'slack', event: 'event_callback', description: 'a message posted in a channel (message.channels)',
    build(now) {
      const ts = `${(now / 1000).toFixed(6)}`;
      return {
        headers: headers(),
        body: json({
          token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl', team_id: 'T0001', api_app_id: 'A0KRD7HC3', type: 'event_callback',
          event: { type: 'message', channel: 'C2147483705', user: 'U2147483697', text: 'Hello from hooktunnel', ts, event_ts: ts, channel_type: 'channel' },
          event_id: sampleId('Ev', 10).toUpperCase(), event_time: Math.floor(now / 1000),
          authorizations: [{ enterprise_id: null, team_id: 'T0001', user_id: 'U0KRQLJ9H', is_bot: true }], event_context: sampleId('4-', 40),
        }),
      };
    },
  },
];
