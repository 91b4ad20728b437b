import { appendFileSync } from 'node:fs';
const orig = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, ...rest) => { appendFileSync('/tmp/spy.log', `${Date.now() % 100000} write ${String(chunk).length} ${JSON.stringify(String(chunk).slice(0, 60))}\n`); return orig(chunk, ...rest); };
