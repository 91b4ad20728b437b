import { InvalidArgumentError } from 'commander';
import { parseTarget, type Target } from '../agent/target.js';
import { isHooktunnelError } from '../errors.js';

// Commander parsers shared by several commands. Loaded with the command definitions, before anything is parsed:
// they import nothing that opens sockets or files.

/** Commander parser of a target (the agent's argument, `replay --to`): a port, host:port or URL; else exit 2. */
export function targetArgument(value: string): Target {
  try {
    return parseTarget(value);
  } catch (err) {
    throw new InvalidArgumentError(isHooktunnelError(err) ? err.message : String(err));
  }
}

/** Commander parser of a repeatable `--header 'Name: value'`; anything else exits 2. */
export function headerArgument(value: string, previous: string[] = []): string[] {
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+:/.test(value) || /[\r\n\0]/.test(value)) {
    throw new InvalidArgumentError(`--header must look like 'Name: value' (got "${value}").`);
  }
  return [...previous, value];
}
