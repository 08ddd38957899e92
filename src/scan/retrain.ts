// The scan server's retrain: `handscan train` in a child process, fine-tuning
// the current checkpoint on the labels file into a new run, one at a time,
// with the last lines of its output kept for the page to show.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The `handscan` command, whatever the working folder. */
const HANDSCAN = fileURLToPath(new URL('../../bin/handscan.js', import.meta.url));
/** Lines of the run's output kept. */
export const KEPT_LINES = 50;

export type RetrainState = 'idle' | 'running' | 'done' | 'failed';

export interface RetrainRequest {
  weights: string;
  labels: string;
  data: string;
  epochs: number | null;
  /** The scan's --preprocess, when it overrode the checkpoint's. */
  preprocess: string | null;
}

/** A run's folder name: runs/scan-<UTC time to the millisecond>. */
export function runFolder(now = new Date()): string {
  return join('runs', `scan-${now.toISOString().replace(/[-:]/g, '').replace('.', '')}`);
}

export class Retrain {
  state: RetrainState = 'idle';
  lines: string[] = [];
  run: string | undefined;
  error: string | undefined;
  private child: ChildProcess | null = null;
  private partial = '';

  /**
   * Starts the run; `onTrained` (switching the server to its best.h5) runs
   * once it has succeeded, and its failure fails the retrain.
   */
  start(request: RetrainRequest, onTrained: (bestWeights: string) => Promise<void>): void {
    const run = runFolder();
    const args = ['train', '--init-weights', request.weights, '--labels', request.labels, '--data', request.data, '--out', run];
    if (request.epochs !== null) args.push('--epochs', String(request.epochs));
    if (request.preprocess !== null) args.push('--preprocess', request.preprocess);
    this.state = 'running';
    this.lines = [`handscan ${args.join(' ')}`];
    this.run = run;
    this.error = undefined;
    this.partial = '';
    const child = spawn(process.execPath, [HANDSCAN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout!.on('data', (d: Buffer) => this.output(d));
    child.stderr!.on('data', (d: Buffer) => this.output(d));
    child.on('error', (e) => this.finish(`could not start train: ${e.message}`));
    child.on('close', (code, signal) => {
      this.output(Buffer.from('\n'));
      const best = join(run, 'best.h5');
      if (code !== 0 || !existsSync(best)) return this.finish(this.failure(code, signal));
      onTrained(best).then(
        () => this.finish(undefined),
        (e: Error) => this.finish(e.message),
      );
    });
  }

  /** Stops a run in progress (the server is shutting down). */
  stop(): void {
    this.child?.kill('SIGTERM');
  }

  get running(): boolean {
    return this.state === 'running';
  }

  describe(version: number) {
    return { state: this.state, lines: this.lines, version, ...(this.run ? { run: this.run } : {}), ...(this.error ? { error: this.error } : {}) };
  }

  /** Keeps whole lines (a progress bar's carriage returns end one too), the last KEPT_LINES of them. */
  private output(chunk: Buffer): void {
    const parts = (this.partial + chunk.toString('utf8')).split(/\r\n|\r|\n/);
    this.partial = parts.pop()!;
    const clean = parts.map((l) => l.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '').trimEnd()).filter((l) => l !== '');
    this.lines = [...this.lines, ...clean].slice(-KEPT_LINES);
  }

  /** Why a run failed: its own last error line (handscan's one-line errors start with 'handscan: '), else how it ended. */
  private failure(code: number | null, signal: NodeJS.Signals | null): string {
    const own = [...this.lines].reverse().find((l) => l.startsWith('handscan: '));
    if (own) return own.slice('handscan: '.length);
    return signal ? `train was stopped by ${signal}` : code === 0 ? `train wrote no ${join(this.run!, 'best.h5')}` : `train exited with code ${code}`;
  }

  private finish(error: string | undefined): void {
    if (this.state !== 'running') return;
    this.child = null;
    this.state = error === undefined ? 'done' : 'failed';
    this.error = error;
  }
}
