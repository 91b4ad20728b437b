import { createHash, timingSafeEqual } from 'node:crypto';
import { customAlphabet } from 'nanoid';
import { ErrorCode, HooktunnelError } from '../errors.js';

/** Alphabet of generated tunnel ids: lower-case letters and digits, safe as a DNS label. */
const ID_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';
/** 12 characters of 36 give about 62 bits: not guessable by scanning. */
const RANDOM_ID_LENGTH = 12;

/** A fresh random tunnel id. */
export const randomTunnelId = customAlphabet(ID_ALPHABET, RANDOM_ID_LENGTH);

/** A fresh owner's secret (about 190 bits). */
export const randomSecret = customAlphabet(`${ID_ALPHABET}ABCDEFGHIJKLMNOPQRSTUVWXYZ`, 32);

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Names a relay never hands out: they look like the relay operator's own hosts. */
export const RESERVED_TUNNEL_IDS: ReadonlySet<string> = new Set([
  'www', 'api', 'admin', 'app', 'mail', 'smtp', 'ftp', 'relay', 'status', 'dashboard', 'hooktunnel', 'localhost', 'static', 'assets',
]);

/** Checks a requested tunnel id; throws `invalid_tunnel_id` with the reason. */
export function validateTunnelId(id: string): void {
  if (!LABEL.test(id)) {
    throw new HooktunnelError(ErrorCode.InvalidTunnelId, `tunnel id "${id}" is not a DNS label (a-z, 0-9 and inner "-", at most 63 characters)`);
  }
  if (RESERVED_TUNNEL_IDS.has(id)) throw new HooktunnelError(ErrorCode.InvalidTunnelId, `tunnel id "${id}" is reserved`);
}

/** SHA-256 of an owner's secret: what a store keeps instead of the secret. */
export function secretDigest(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

/** Throws `tunnel_taken` unless `secret` is the one whose digest is `digest` (compared in constant time). */
export function checkOwner(id: string, digest: Buffer, secret: string | undefined): void {
  if (secret === undefined || digest.length !== 32 || !timingSafeEqual(digest, secretDigest(secret))) {
    throw new HooktunnelError(ErrorCode.TunnelTaken, `tunnel id "${id}" is in use by another agent`);
  }
}
