// Keras-like progress: a bar per epoch with loss, accuracy, images per second
// and ETA on a terminal (cli-progress); plain lines when output is a file or pipe.
import cliProgress from 'cli-progress';

export interface ProgressLine {
  /** Advances to `done` of `total`; `fields` are shown after the bar. */
  update(done: number, fields?: Record<string, string>): void;
  /** Ends the bar with a closing summary line. */
  finish(summary: string): void;
}

const formatDuration = (s: number) => (s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(0)}s`);

/** A progress line for `total` items, titled e.g. "Epoch 3/50". */
export function progress(title: string, total: number, unit = 'img'): ProgressLine {
  const started = performance.now();
  const rate = (done: number) => done / Math.max(1e-9, (performance.now() - started) / 1000);
  const describe = (fields: Record<string, string>) =>
    Object.entries(fields)
      .map(([k, v]) => `${k} ${v}`)
      .join(' | ');
  if (process.stdout.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${title} |{bar}| {value}/{total} | {fields} | {rate} ${unit}/s | ETA {eta_formatted}`, barsize: 24, hideCursor: true, etaBuffer: 50 },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { fields: '', rate: '-' });
    return {
      update: (done, fields = {}) => bar.update(done, { fields: describe(fields), rate: rate(done).toFixed(1) }),
      finish: (summary) => {
        bar.stop();
        console.log(`${title}: ${summary}`);
      },
    };
  }
  // Without a terminal: a line at each quarter, then the summary.
  let nextQuarter = 1;
  return {
    update: (done, fields = {}) => {
      if (done < (total * nextQuarter) / 4 || done >= total) return;
      while (done >= (total * nextQuarter) / 4) nextQuarter++;
      const r = rate(done);
      console.log(`${title} ${done}/${total} | ${describe(fields)} | ${r.toFixed(1)} ${unit}/s | ETA ${formatDuration((total - done) / r)}`);
    },
    finish: (summary) => console.log(`${title}: ${summary}`),
  };
}
