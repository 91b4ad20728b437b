#!/usr/bin/env node
// `hooktunnel --version` alone is answered here, from package.json, before commander and the command definitions
// load (they are most of what the CLI loads before parsing); everything else starts the CLI.
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-v')) {
  process.stdout.write(`${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
} else {
  await import('../dist/cli.js');
}
