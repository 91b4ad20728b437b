/** Webhook signatures: recognise, verify incrementally, re-sign, and sample events. Pure: no sockets, no files but config. */
export * from './types.js';
export { headerValue, setHeader } from '../protocol/headers.js';
export { detectSignature, startVerification, verifySignature, SCHEMES } from './verify.js';
export { describeResign, resignCaptured, resignRequest, signRequest, withSecretFor, type CapturedRequest, type Resigned, type SigningSecret } from './resign.js';
export { senderUrls, capturedPublicUrl } from './url.js';
export { loadSecrets, parseVerifySpec, parseVerifyList, readVerifyConfig, VERIFY_ENV, CONFIG_FILE, type SecretSources } from './secrets.js';
export { SAMPLES, findSample, type Sample, type SampleRequest } from './samples/index.js';
export { TWILIO_FORM_CAP } from './twilio.js';
