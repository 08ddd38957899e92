// Runs the real command line in a child process, as scripts and people do.
import { spawn } from 'node:child_process';

export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `handscan ...args`; `killAfterMs` sends SIGKILL at that moment; `env` adds variables. */
export function handscan(args: string[], opts: { killAfterMs?: number; env?: Record<string, string> } = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/handscan.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = opts.killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** stderr without Dawn's own start-up warnings. */
export const errorLines = (r: Result): string[] => r.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('Warning: '));
