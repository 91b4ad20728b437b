import chalk from 'chalk';
import { InvalidArgumentError } from 'commander';

/** Exit codes: 0 fine, 1 runtime failure (relay unreachable, refused, id unknown), 2 bad command-line input. */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A commander argument parser for whole numbers in a range; bad values exit 2 with one clear line. */
export function intOption(name: string, min: number, max: number): (value: string) => number {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}.`);
    return n;
  };
}

/** Collects a repeatable option's values. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Prints one error line and exits. */
export function fail(message: string, code = EXIT_FAILURE): never {
  process.stderr.write(`${chalk.red('error')} ${message}\n`);
  process.exit(code);
}

/** Runs `stop` on SIGINT/SIGTERM, then exits 0; a second signal exits at once. */
export function onSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (): void => {
    if (stopping) process.exit(EXIT_FAILURE);
    stopping = true;
    void stop().then(() => process.exit(0));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
