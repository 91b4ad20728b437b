import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
// Only commander and the command definitions load here: each command imports what it needs when it runs, so
// `--version`, `--help` and usage errors answer without loading ink, React, undici, ws or better-sqlite3.
import { defineAgentCommand } from './commands/agent-command.js';
import { captureCommands } from './commands/capture-commands.js';
import { relayCommand } from './commands/relay-command.js';
import { sendCommand } from './commands/send-command.js';
import { EXIT_USAGE, fail } from './commands/shared.js';
import { isHooktunnelError } from './errors.js';
import { initCommand } from './commands/init-command.js';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function buildProgram(): Command {
  const program = new Command('hooktunnel')
    .description('Receive webhooks on your own machine: a public URL that reaches your local server through a relay.')
    .version(VERSION, '-v, --version')
    // The agent's options (--json, --data-dir, --token) belong to it; after a subcommand's name they are the subcommand's.
    .enablePositionalOptions();
  // Before the subcommands, so that they inherit it: usage errors exit 2 from main().
  program.exitOverride();
  defineAgentCommand(program);
  program.addCommand(relayCommand().exitOverride());
  for (const command of captureCommands(VERSION)) program.addCommand(command.exitOverride());
  program.addCommand(sendCommand().exitOverride());
  program.addCommand(initCommand().exitOverride());
  return program;
}

/** Parses argv and runs the command. Only the CLI turns errors into output and exit codes. */
export async function main(argv: string[]): Promise<void> {
  // `hooktunnel requests --json | head -1` closes the pipe early: that is the reader's choice, not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE);
    fail(isHooktunnelError(err) ? err.message : String((err as Error)?.stack ?? err));
  }
}

await main(process.argv);
