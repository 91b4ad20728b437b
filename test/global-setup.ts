import { installHint, missingTools } from './helpers/tools.js';

/** After the run: one line naming the tools whose tests were skipped, and how to install them (nothing when none). */
export function teardown(): void {
  const missing = missingTools();
  if (missing.length === 0) return;
  const note = process.env.CI ? 'their tests FAILED (CI needs every tool)' : 'their tests were skipped';
  process.stderr.write(`\nhooktunnel: ${missing.join(', ')} not installed, ${note}. Install with: ${installHint(missing)}\n`);
}
