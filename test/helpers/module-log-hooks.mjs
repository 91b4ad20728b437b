// The hooks registered by module-log.mjs; they run on node's loader thread.
import { appendFileSync } from 'node:fs';

let file;

/** Receives the log file's path from register(). */
export function initialize(data) {
  file = data.file;
}

/** Logs the URL of each module as it is loaded, then loads it as node would. */
export async function load(url, context, next) {
  if (file) appendFileSync(file, `${url}\n`);
  return next(url, context);
}
