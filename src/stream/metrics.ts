// A scorer's figures, in Prometheus's text exposition format (version
// 0.0.4), served on a local port at /metrics. Counters count since start;
// the rate and the latency quantiles are over a recent window, so that they
// say how the scorer is doing now.
import { createServer, type Server } from 'node:http';
import { InputError } from '../errors.ts';

/** The window of the alerts-per-second gauge. */
const RATE_WINDOW_MS = 10_000;
/** Latencies kept for the quantiles: the most recent ones. */
const LATENCY_WINDOW = 4096;
const QUANTILES = [0.5, 0.9, 0.99];

/** Busy time per stage: where an alert's time goes. */
export const STAGES = ['read', 'decode', 'preprocess', 'gpu', 'write'] as const;
export type Stage = (typeof STAGES)[number];

export class Metrics {
  alerts = 0;
  entries = 0;
  deadLettered = 0;
  /** Entries scored here that another scorer had written first (claimed while this one was slow). */
  duplicates = 0;
  claimed = 0;
  deviceErrors = 0;
  pending = 0;
  lag: number | null = null;
  readonly stageSeconds = Object.fromEntries(STAGES.map((s) => [s, 0])) as Record<Stage, number>;
  private readonly batchBuckets: number[];
  private readonly batchCounts: number[];
  private batchSum = 0;
  private batches = 0;
  private readonly latencies: number[] = [];
  private latencySum = 0;
  private latencyCount = 0;
  private readonly recent: { at: number; alerts: number }[] = [];

  constructor(readonly maxBatch: number) {
    // Powers of two up to the largest batch.
    this.batchBuckets = [];
    for (let b = 1; b < maxBatch; b *= 2) this.batchBuckets.push(b);
    this.batchBuckets.push(maxBatch);
    this.batchCounts = this.batchBuckets.map(() => 0);
  }

  /** A batch written: its alerts scored, and each one's latency in ms. */
  batch(alerts: number, latenciesMs: readonly number[]): void {
    this.alerts += alerts;
    this.batches++;
    this.batchSum += alerts;
    this.batchBuckets.forEach((le, i) => (this.batchCounts[i] += alerts <= le ? 1 : 0));
    this.recent.push({ at: Date.now(), alerts });
    for (const ms of latenciesMs) {
      this.latencies.push(ms);
      this.latencySum += ms / 1000;
      this.latencyCount++;
    }
    if (this.latencies.length > LATENCY_WINDOW) this.latencies.splice(0, this.latencies.length - LATENCY_WINDOW);
  }

  time(stage: Stage, ms: number): void {
    this.stageSeconds[stage] += ms / 1000;
  }

  /** Alerts written per second over the last RATE_WINDOW_MS. */
  rate(now = Date.now()): number {
    while (this.recent.length > 0 && this.recent[0].at < now - RATE_WINDOW_MS) this.recent.shift();
    return this.recent.reduce((n, r) => n + r.alerts, 0) / (RATE_WINDOW_MS / 1000);
  }

  /** The q-quantile of the recent latencies in seconds, or NaN before the first. */
  latencyQuantile(q: number): number {
    if (this.latencies.length === 0) return NaN;
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] / 1000;
  }

  render(): string {
    const out: string[] = [];
    const metric = (name: string, type: string, help: string, lines: string[]) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines);
    const value = (v: number) => (Number.isNaN(v) ? 'NaN' : String(v));
    metric('handscan_alerts_scored_total', 'counter', 'Alerts scored and written to the output stream.', [`handscan_alerts_scored_total ${this.alerts}`]);
    metric('handscan_alerts_per_second', 'gauge', `Alerts written per second over the last ${RATE_WINDOW_MS / 1000} s.`, [`handscan_alerts_per_second ${value(this.rate())}`]);
    metric('handscan_entries_total', 'counter', 'Input entries acknowledged by this scorer.', [`handscan_entries_total ${this.entries}`]);
    metric('handscan_dead_lettered_total', 'counter', 'Alerts and packets written to the dead-letter stream.', [`handscan_dead_lettered_total ${this.deadLettered}`]);
    metric('handscan_duplicates_total', 'counter', 'Entries scored here that another scorer had written first (nothing written twice).', [`handscan_duplicates_total ${this.duplicates}`]);
    metric('handscan_claimed_total', 'counter', 'Entries taken over from idle consumers (XAUTOCLAIM).', [`handscan_claimed_total ${this.claimed}`]);
    metric('handscan_device_errors_total', 'counter', 'Device errors survived by opening a new engine.', [`handscan_device_errors_total ${this.deviceErrors}`]);
    metric('handscan_pending_entries', 'gauge', "The group's entries delivered and not yet acknowledged (XINFO GROUPS).", [`handscan_pending_entries ${this.pending}`]);
    metric('handscan_lag_entries', 'gauge', "The group's entries not yet delivered to any consumer (XINFO GROUPS).", [`handscan_lag_entries ${value(this.lag ?? NaN)}`]);
    metric('handscan_batch_alerts', 'histogram', 'Alerts per scored batch.', [
      ...this.batchBuckets.map((le, i) => `handscan_batch_alerts_bucket{le="${le}"} ${this.batchCounts[i]}`),
      `handscan_batch_alerts_bucket{le="+Inf"} ${this.batches}`,
      `handscan_batch_alerts_sum ${this.batchSum}`,
      `handscan_batch_alerts_count ${this.batches}`,
    ]);
    metric('handscan_alert_latency_seconds', 'summary', `From the input entry's time to its result, over the last ${LATENCY_WINDOW} alerts.`, [
      ...QUANTILES.map((q) => `handscan_alert_latency_seconds{quantile="${q}"} ${value(this.latencyQuantile(q))}`),
      `handscan_alert_latency_seconds_sum ${this.latencySum}`,
      `handscan_alert_latency_seconds_count ${this.latencyCount}`,
    ]);
    metric('handscan_stage_seconds_total', 'counter', 'Busy time per stage (read and write are Redis round trips; the stages overlap).', STAGES.map((s) => `handscan_stage_seconds_total{stage="${s}"} ${this.stageSeconds[s]}`));
    return `${out.join('\n')}\n`;
  }
}

/** Serves `metrics` at http://127.0.0.1:port/metrics (port 0: any free one); resolves to the port. */
export function serveMetrics(metrics: Metrics, port: number): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url?.split('?')[0] === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(metrics.render());
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found: the metrics are at /metrics\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new InputError(`serve: cannot serve metrics on 127.0.0.1:${port} (${e.code ?? e.message})`)));
    server.listen(port, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port }));
  });
}
