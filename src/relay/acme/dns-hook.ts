import { spawn } from 'node:child_process';

/** How long the hook may take: publishing a DNS record and waiting for it to be visible can be slow. */
export const DNS_HOOK_TIMEOUT_MS = 300_000;

/** What the hook is asked to do. */
export type DnsHookAction = 'set' | 'clear';

/**
 * Runs the `--acme-dns-hook` command (through `sh -c`) with three arguments — `set` or `clear`, the record's name
 * (`_acme-challenge.<domain>`) and its TXT value — also given as HOOKTUNNEL_ACME_ACTION, HOOKTUNNEL_ACME_NAME and
 * HOOKTUNNEL_ACME_VALUE. `set` must not exit before the record is published. Rejects when the command exits
 * non-zero, cannot start, or runs longer than `timeoutMs`, with the end of its stderr in the message.
 */
export function runDnsHook(command: string, action: DnsHookAction, name: string, value: string, timeoutMs = DNS_HOOK_TIMEOUT_MS): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', `${command} "$@"`, 'hooktunnel-dns-hook', action, name, value], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, HOOKTUNNEL_ACME_ACTION: action, HOOKTUNNEL_ACME_NAME: name, HOOKTUNNEL_ACME_VALUE: value },
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const said = (): string => (stderr.trim() ? `: ${stderr.trim().split('\n').slice(-3).join(' / ')}` : '');
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`the DNS hook could not start (${err.message})`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve();
      const how = signal === 'SIGKILL' ? `ran longer than ${timeoutMs / 1000} s` : signal ? `was killed by ${signal}` : `exited with ${code}`;
      reject(new Error(`the DNS hook (${action} ${name}) ${how}${said()}`));
    });
  });
}
