import { Command, Option } from 'commander';
import { headerArgument, targetArgument } from './arguments.js';
import type { ReplayFlags } from './replay.js';
import type { SaveFlags } from './save.js';
import { VERIFY_HELP, verifyArgument } from './secrets.js';
import { intOption } from './shared.js';
import type { StoreFlags } from './store-access.js';

/**
 * `requests`, `show`, `diff`, `replay` and `export`: the commands that read the capture store. The store and what reads it
 * are loaded only when one of them runs (capture.ts, replay.ts).
 */
export function captureCommands(version: string): Command[] {
  const dataDir = (): Option => new Option('--data-dir <dir>', "the agent's data directory (default: HOOKTUNNEL_HOME, else the platform data directory)");
  const requests = new Command('requests')
    .description('list the newest captured exchanges')
    .addOption(new Option('--limit <n>', 'how many').argParser(intOption('--limit', 1, 10_000_000)).default(20))
    .option('--json', 'one JSON object per capture (NDJSON), oldest first')
    .option('--tunnel <name>', "only this tunnel's captures (its name in the config file, or its id)")
    .option('--route <name>', "only this route's captures (its name, or #<n>)")
    .option('--redeliveries', 'only redeliveries: a delivery id seen before, or a replay')
    .addOption(dataDir())
    .action(async (opts: StoreFlags & { limit: number; json?: boolean; tunnel?: string; route?: string; redeliveries?: boolean }) => (await import('./capture.js')).runRequests(opts));
  const show = new Command('show')
    .description('show one exchange: headers and bodies')
    .argument('<id>', 'capture id, or a unique prefix of it')
    .option('--json', 'one JSON object with request and response, bodies in base64')
    .addOption(dataDir())
    .action(async (id: string, opts: StoreFlags & { json?: boolean }) => (await import('./capture.js')).runShow(id, opts));
  const diff = new Command('diff')
    .description('compare two captured exchanges: request line, headers, bodies (JSON by path), status, signatures; exit 0 same, 1 different, 2 bad input')
    .argument('<a>', 'capture id, or a unique prefix of it')
    .argument('<b>', 'capture id, or a unique prefix of it')
    .option('--json', 'one JSON object describing the differences')
    .addOption(dataDir())
    .action(async (a: string, b: string, opts: StoreFlags & { json?: boolean }) => (await import('./diff.js')).runDiff(a, b, opts));
  const replay = new Command('replay')
    .description('send a captured request or fixture files again (to its target, or --to another); the replay is captured too')
    .argument('<id|file>', 'capture id (or a unique prefix of it), a fixture file, or a folder of fixture files')
    .option('--to <target>', 'send to this port, host:port or URL instead (needed for fixture files)', targetArgument)
    .option('--header <header>', "set a header, 'Name: value' ('Name:' removes it); repeatable", headerArgument)
    .option('--body <file>', 'replace the body with this file (- for standard input)')
    .option('--json', 'print the {"type":"request",…} event instead of a line')
    .addOption(new Option('--verify <provider=secret>', VERIFY_HELP).argParser(verifyArgument))
    .option('--secret <secret>', 'the secret of the provider that signed the captured request (to re-sign it)')
    .option('--no-resign', 'send the captured signature headers untouched (default: re-sign when the secret is known)')
    .addOption(dataDir())
    .action(async (id: string, opts: ReplayFlags) => (await import('./replay.js')).runReplay(id, opts));
  const exportCmd = new Command('export')
    .description('export captures as HAR 1.2 or curl commands')
    .argument('[ids...]', 'capture ids or unique prefixes (default: all, oldest first)')
    .addOption(new Option('--format <format>', 'output format').choices(['har', 'curl']).default('har'))
    .addOption(dataDir())
    .action(async (ids: string[], opts: StoreFlags & { format: 'har' | 'curl' }) => (await import('./capture.js')).runExport(ids, opts, version));
  const save = new Command('save')
    .description('write one capture as a JSON fixture file (default fixtures/<provider>-<event>.json)')
    .argument('<id>', 'capture id, or a unique prefix of it')
    .argument('[file]', 'the file to write')
    .option('--keep-secrets', 'keep signature, credential and token headers (default: left out)')
    .option('--reserialize', 'write a JSON body as a JSON value, sent re-serialised compactly (not byte for byte)')
    .option('--force', 'overwrite an existing file')
    .addOption(new Option('--verify <provider=secret>', VERIFY_HELP).argParser(verifyArgument))
    .addOption(dataDir())
    .action(async (id: string, file: string | undefined, opts: SaveFlags) => (await import('./save.js')).runSave(id, file, opts));
  const importCmd = new Command('import')
    .description('bring the entries of a HAR file (ours, or a browser devtools export) into the capture store')
    .argument('<file>', 'the HAR file')
    .addOption(dataDir())
    .action(async (file: string, opts: StoreFlags) => (await import('./import.js')).runImport(file, opts));
  return [requests, show, diff, replay, exportCmd, save, importCmd];
}
