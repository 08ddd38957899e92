// `handscan serve` processes for the stream tests and the benchmark: each a
// real child process, its JSON log lines parsed as they come, so that a test
// can wait for an event ('ready', 'batch') and then kill or stop it.
import { spawn, type ChildProcess } from 'node:child_process';

export interface LogLine {
  event: string;
  level: string;
  [field: string]: unknown;
}

export interface ScorerProcess {
  name: string;
  proc: ChildProcess;
  logs: LogLine[];
  /** Everything on stderr, for failure messages. */
  stderr(): string;
  /** Resolves with the first log line (already seen or to come) that `match` accepts. */
  waitFor(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `handscan serve --consumer name ...args`; `env` adds variables. */
export function startScorer(name: string, args: string[], env: Record<string, string> = {}): ScorerProcess {
  const proc = spawn(process.execPath, ['bin/handscan.js', 'serve', '--consumer', name, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const logs: LogLine[] = [];
  const waiting: { match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  let stderr = '';
  let partial = '';
  proc.stderr!.on('data', (d: Buffer) => {
    stderr += d;
    const lines = (partial + d).split('\n');
    partial = lines.pop()!;
    for (const text of lines) {
      if (!text.startsWith('{')) continue;
      const line = JSON.parse(text) as LogLine;
      logs.push(line);
      for (const w of waiting.filter((w) => w.match(line))) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  proc.stdout!.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('close', (code, signal) => resolve({ code, signal })));
  return {
    name,
    proc,
    logs,
    stderr: () => stderr,
    exited,
    waitFor(match, timeoutMs = 120_000) {
      const seen = logs.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`scorer ${name}: no matching log line after ${timeoutMs} ms; stderr:\n${stderr.slice(-3000)}`)), timeoutMs);
        const done = (l: LogLine) => {
          clearTimeout(timer);
          resolve(l);
        };
        waiting.push({ match, resolve: done });
        void exited.then(({ code, signal }) => {
          clearTimeout(timer);
          reject(new Error(`scorer ${name} exited (${code ?? signal}) before the log line came; stderr:\n${stderr.slice(-3000)}`));
        });
      });
    },
  };
}

export const event = (name: string) => (line: LogLine) => line.event === name;

