import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { STARTER_CONFIG } from '../config/init.js';
import { EXIT_FAILURE, fail } from './shared.js';

/** `hooktunnel init`: writes a commented starter hooktunnel.yaml. */
export function initCommand(): Command {
  return new Command('init')
    .description('write a commented starter hooktunnel.yaml in this folder (one tunnel to port 3000: edit it, then run `hooktunnel`)')
    .option('--config <file>', 'write it here instead', 'hooktunnel.yaml')
    .option('--force', 'replace the file if it exists')
    .action((opts: { config: string; force?: boolean }) => {
      const file = resolve(opts.config);
      try {
        writeFileSync(file, STARTER_CONFIG, { flag: opts.force ? 'w' : 'wx' });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        fail(code === 'EEXIST' ? `${file} exists already: edit it, or pass --force to replace it` : `cannot write ${file}: ${code ?? (err as Error).message}`, EXIT_FAILURE);
      }
      process.stdout.write(`wrote ${file}: edit its tunnels, then run \`hooktunnel\` in this folder\n`);
    });
}
