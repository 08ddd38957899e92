// `handscan scan` as a real process: started, its address read from the line
// it prints, and stopped (SIGKILL unless the test stopped it) after each test.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';

const HANDSCAN = fileURLToPath(new URL('../../bin/handscan.js', import.meta.url));

export interface ScanProcess {
  /** The page's address as printed, with ?token= when there is one. */
  url: string;
  /** The address without the page's query: where /api/... lives. */
  base: string;
  proc: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `handscan scan ...args` in `cwd`, resolving once it listens; rejects, with its output, if it exits first. */
export function startScan(args: string[], cwd: string): Promise<ScanProcess> {
  return launch(args, cwd).ready;
}

function launch(args: string[], cwd: string): { proc: ChildProcess; ready: Promise<ScanProcess> } {
  const proc = spawn(process.execPath, [HANDSCAN, 'scan', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.on('close', (code, signal) => r({ code, signal })));
  const ready = new Promise<ScanProcess>((resolve, reject) => {
    let listening = false;
    proc.stdout!.on('data', (d: Buffer) => {
      out += d;
      const m = listening ? null : /scanning \d+ candidates at (\S+)/.exec(out);
      if (!m) return;
      listening = true;
      resolve({ url: m[1], base: new URL(m[1]).origin, proc, output: () => out, exited });
    });
    proc.stderr!.on('data', (d: Buffer) => (out += d));
    exited.then(({ code, signal }) => reject(new Error(`handscan scan exited (${signal ?? code}) before listening:\n${out}`)));
  });
  return { proc, ready };
}

/** startScan, with every process it started SIGKILLed after each test (pass or fail) unless it has exited. */
export function useScanProcesses(): (args: string[], cwd: string) => Promise<ScanProcess> {
  let started: ChildProcess[] = [];
  afterEach(() => {
    for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    started = [];
  });
  return (args, cwd) => {
    const { proc, ready } = launch(args, cwd);
    started.push(proc);
    return ready;
  };
}
