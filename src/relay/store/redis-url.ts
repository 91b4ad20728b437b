// Apart from redis.ts so that the CLI can name a Redis URL without loading ioredis.

/** `redis://user:secret@host` → `redis://user:***@host`: what may appear in a message. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(an invalid Redis URL)';
  }
}
