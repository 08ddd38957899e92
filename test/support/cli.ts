// Runs the real command line in a child process, as scripts and people do.
import { spawn } from 'node:child_process';

export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Kill {
  /** SIGKILL this long after stdout first matches `after` (from the start when absent). */
  after?: RegExp;
  delayMs: number;
}

/** Runs `handscan ...args`; `kill` sends SIGKILL at a chosen moment; `env` adds variables. */
export function handscan(args: string[], opts: { kill?: Kill; env?: Record<string, string> } = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/handscan.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
    let stdout = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    const arm = () => (timer ??= setTimeout(() => child.kill('SIGKILL'), opts.kill!.delayMs));
    if (opts.kill && !opts.kill.after) arm();
    child.stdout.on('data', (d) => {
      stdout += d;
      if (opts.kill?.after?.test(stdout)) arm();
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** stderr without Dawn's own start-up warnings. */
export const errorLines = (r: Result): string[] => r.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('Warning: '));
