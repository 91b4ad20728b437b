import { spawn } from 'node:child_process';

/** The editor a person chose: `$VISUAL`, else `$EDITOR`, else vi. May hold arguments (`code --wait`). */
export function editorCommand(env: NodeJS.ProcessEnv = process.env): string {
  return env.VISUAL?.trim() || env.EDITOR?.trim() || 'vi';
}

/**
 * Runs the editor on `file` with the terminal (stdio inherited) and resolves with its exit code. The command goes
 * through the shell, as git runs it, so `$EDITOR` may carry arguments; the file is passed as "$1", never spliced.
 */
export function runEditor(file: string, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const editor = editorCommand(env);
  const child =
    process.platform === 'win32'
      ? spawn(`${editor} "${file}"`, { stdio: 'inherit', shell: true, env })
      : spawn('/bin/sh', ['-c', `${editor} "$1"`, 'editor', file], { stdio: 'inherit', env });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}
