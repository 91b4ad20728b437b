import { sampleId, type Sample } from './sample.js';

/** Twilio samples: a form-encoded Messaging webhook, as Twilio posts it to a phone number's SMS URL. */
export const twilioSamples: Sample[] = [
  {
    provider: 'twilio', event: 'message.received', description: 'an incoming SMS (form-encoded)',
    build() {
      const sid = sampleId('SM', 32);
      const params = new URLSearchParams({
        ToCountry: 'US', ToState: 'CA', SmsMessageSid: sid, NumMedia: '0', ToCity: 'SAN FRANCISCO', FromZip: '94105', SmsSid: sid,
        FromState: 'CA', SmsStatus: 'received', FromCity: 'SAN FRANCISCO', Body: 'Hello from hooktunnel! Ça marche?', FromCountry: 'US',
        To: '+15005550006', ToZip: '94105', NumSegments: '1', MessageSid: sid, AccountSid: sampleId('AC', 32), From: '+14155551234', ApiVersion: '2010-04-01',
      });
      return {
        headers: ['Content-Type', 'application/x-www-form-urlencoded', 'User-Agent', 'TwilioProxy/1.1', 'I-Twilio-Idempotency-Token', sampleId('', 32), 'Accept', '*/*'],
        body: Buffer.from(params.toString()),
      };
    },
  },
];
