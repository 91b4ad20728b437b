/**
 * Whether `hooktunnel <target>` shows the inspector: only for a person at a terminal (stdout and stdin both TTYs),
 * not with `--json` or `--no-ui`, not on a dumb terminal, and not under CI, where ink draws nothing until exit.
 */
export function wantsInspector(opts: { json?: boolean; ui?: boolean }, streams = { stdout: process.stdout, stdin: process.stdin }, env = process.env): boolean {
  if (opts.json === true || opts.ui === false) return false;
  if (!streams.stdout.isTTY || !streams.stdin.isTTY || env.TERM === 'dumb') return false;
  // The test ink itself uses (is-in-ci): CI set to anything but "0"/"false", CONTINUOUS_INTEGRATION, or a CI_* variable.
  const ci = (env.CI !== undefined && env.CI !== '0' && env.CI !== 'false') || 'CONTINUOUS_INTEGRATION' in env || Object.keys(env).some((k) => k.startsWith('CI_'));
  return !ci;
}
