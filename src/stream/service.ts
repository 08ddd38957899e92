// A scorer's loop: collect a batch of entries (claimed idle ones first, then
// new ones), decode them, score them on the GPU, write the results and
// acknowledge (results.ts). Collecting and decoding the next batch overlaps
// scoring and writing the previous one: the GPU works on its own threads
// while the CPU reads packets. A stop (SIGTERM) ends the loop after the batch
// in hand is written and acknowledged.
import { checkDataset, type Dataset } from '../data/dataset.ts';
import { ALERT_FIELDS, checkInput, FLOAT32_DIGITS, probabilityColumns, type Scoring } from '../train/scoring.ts';
import { decodeEntry, type DecodedEntry, type DecodeTimes } from './decode.ts';
import { groupBacklog, type ConsumerGroup, type Entry } from './group.ts';
import type { StreamKeys } from './keys.ts';
import { errorText, type Log } from './log.ts';
import type { Metrics } from './metrics.ts';
import type { RedisClient } from './redis.ts';
import type { EntryOutcome, Field, ResultWriter } from './results.ts';
import type { Scorer } from './scorer.ts';

/** How long an idle read waits for entries: also how soon an idle scorer notices a stop. */
const IDLE_BLOCK_MS = 1_000;
/** While the GPU is busy past --max-wait-ms, how long each read waits for more entries. */
const BUSY_POLL_MS = 20;
/** How often the group's backlog is read for the metrics. */
const BACKLOG_EVERY_MS = 1_000;

export interface ServiceOptions {
  keys: StreamKeys;
  consumer: string;
  batch: number;
  maxWaitMs: number;
  claimIdleMs: number;
  maxDeliveries: number;
  /** What each result names as its model: a label and the weights file's SHA-256. */
  model: { label: string; sha256: string };
}

export class ScoringService {
  private stopping = false;
  /** A batch is being scored or written. */
  private busy = false;
  private failure: unknown = null;
  private nextClaim = 0;
  private nextBacklog = 0;

  constructor(
    private readonly group: ConsumerGroup,
    /** A connection of its own, so that writes never wait behind a blocked read. */
    private readonly writerClient: RedisClient,
    private readonly writer: ResultWriter,
    private readonly scorer: Scorer,
    private readonly scoring: Scoring,
    private readonly metrics: Metrics,
    private readonly log: Log,
    private readonly o: ServiceOptions,
  ) {}

  /** Ends the loop once the batch in hand is written and acknowledged. */
  stop(): void {
    this.stopping = true;
  }

  /** Runs until stop(); throws what the scorer could not survive (its entries stay pending for others). */
  async run(): Promise<void> {
    let inFlight: Promise<void> = Promise.resolve();
    while (!this.stopping) {
      const batch = await this.collect();
      if (batch.length === 0) {
        await this.refreshBacklog();
        continue;
      }
      await inFlight;
      this.busy = true;
      // Caught at once: a rejection left waiting while the next batch is collected would count as unhandled.
      inFlight = this.finish(batch)
        .catch((e) => {
          this.failure ??= e;
          this.stopping = true;
        })
        .finally(() => (this.busy = false));
    }
    await inFlight;
    if (this.failure !== null) throw this.failure;
  }

  /**
   * A batch, decoded as it arrives: claimed entries first, then new ones, up
   * to --batch entries, or --max-wait-ms after the first, or, while the
   * previous batch is still on the GPU, until it is done. So batches grow
   * to what the GPU gets through meanwhile, and nothing waits longer than it
   * would have for the GPU anyway.
   */
  private async collect(): Promise<DecodedEntry[]> {
    const { batch, maxWaitMs, claimIdleMs } = this.o;
    const decoded: DecodedEntry[] = [];
    if (Date.now() >= this.nextClaim) {
      const t0 = performance.now();
      const claimed = await this.group.claim(batch, claimIdleMs);
      this.metrics.time('read', performance.now() - t0);
      // Until a scan of the pending list is done, claim again at the next batch.
      if (claimed.scanned) this.nextClaim = Date.now() + claimIdleMs / 2;
      if (claimed.entries.length > 0) {
        this.metrics.claimed += claimed.entries.length;
        this.log('info', 'claimed', { entries: claimed.entries.length, ids: [claimed.entries[0].id, claimed.entries.at(-1)!.id] });
        decoded.push(...this.decode(claimed.entries));
      }
    }
    let deadline = decoded.length > 0 ? Date.now() + maxWaitMs : null;
    while (decoded.length < batch && !this.stopping) {
      const left = deadline === null ? IDLE_BLOCK_MS : deadline - Date.now();
      if (left < 1 && !this.busy) break;
      // What is there already, timed as Redis's work; then, if nothing was, a wait that is idle time.
      const t0 = performance.now();
      let got = await this.group.read(batch - decoded.length, null);
      this.metrics.time('read', performance.now() - t0);
      if (got.length === 0) got = await this.group.read(batch - decoded.length, Math.ceil(Math.max(left, BUSY_POLL_MS)));
      if (got.length === 0) {
        if (deadline === null) break;
        continue;
      }
      decoded.push(...this.decode(got));
      deadline ??= Date.now() + maxWaitMs;
    }
    return decoded;
  }

  private decode(entries: Entry[]): DecodedEntry[] {
    const times: DecodeTimes = { decodeMs: 0, preprocessMs: 0 };
    const { weights, step } = this.scoring;
    const refuse = (samples: Dataset) => {
      try {
        checkInput(weights, this.scorer.inputShape(samples.shape), samples, step);
        return null;
      } catch (e) {
        return errorText(e);
      }
    };
    const decoded = entries.map((entry) =>
      entry.deliveries > this.o.maxDeliveries
        ? { entry, samples: null, dead: [{ alert: '', error: `${this.o.keys.input} entry ${entry.id}: delivered ${entry.deliveries} times, more than --max-deliveries ${this.o.maxDeliveries}: it may be what stopped the scorers that had it` }] }
        : decodeEntry(entry, this.o.keys.input, step, times, refuse),
    );
    this.metrics.time('decode', times.decodeMs);
    this.metrics.time('preprocess', times.preprocessMs);
    return decoded;
  }

  /** Scores, writes and acknowledges a batch; a failed write leaves its entries pending, to be claimed again. */
  private async finish(batch: DecodedEntry[]): Promise<void> {
    const parts = batch.flatMap((d) => (d.samples === null ? [] : [d.samples]));
    const samples = parts.length === 0 ? null : concat(parts, `${this.o.keys.input} batch`);
    let probs: Float32Array = new Float32Array(0);
    if (samples !== null) {
      const t0 = performance.now();
      probs = await this.scorer.score(samples);
      this.metrics.time('gpu', performance.now() - t0);
      this.metrics.deviceErrors = this.scorer.deviceErrors;
    }
    const outcomes = this.outcomes(batch, probs, samples === null ? 1 : probs.length / samples.ids.length);
    const t0 = performance.now();
    let latencies: (number | null)[];
    try {
      latencies = await this.writer.write(outcomes);
    } catch (e) {
      this.log('error', 'write_failed', { error: errorText(e), entries: batch.length, note: 'the entries stay pending and will be claimed again' });
      return;
    }
    const writeMs = performance.now() - t0;
    this.metrics.time('write', writeMs);
    let alerts = 0;
    let dead = 0;
    const alertLatencies: number[] = [];
    outcomes.forEach((o, i) => {
      const ms = latencies[i];
      if (ms === null) return void this.metrics.duplicates++;
      alerts += o.results.length;
      dead += o.dead.length;
      for (let r = 0; r < o.results.length; r++) alertLatencies.push(ms);
    });
    this.metrics.entries += latencies.filter((ms) => ms !== null).length;
    this.metrics.deadLettered += dead;
    this.metrics.batch(alerts, alertLatencies);
    batch.forEach((d, i) => {
      if (latencies[i] !== null) for (const { error } of d.dead) this.log('warn', 'dead_letter', { entry: d.entry.id, error });
    });
    this.log('info', 'batch', { entries: batch.length, alerts, dead, duplicates: latencies.filter((ms) => ms === null).length, write_ms: Math.round(writeMs) });
    await this.refreshBacklog();
  }

  /** Each entry's results (candid, probabilities, packet facts, model) and dead letters. */
  private outcomes(batch: DecodedEntry[], probs: Float32Array, classes: number): EntryOutcome[] {
    const names = probabilityColumns(classes).names.map((n) => `p_${n}`);
    const { consumer, model } = this.o;
    let row = 0;
    return batch.map(({ entry, samples, dead }) => ({
      id: entry.id,
      results: (samples?.ids ?? []).map((candid, i) => {
        const alert = samples!.candidates![i];
        const p = probs.subarray(row * classes, ++row * classes);
        const facts = ALERT_FIELDS.flatMap((f): Field[] => (alert.fields[f] === undefined ? [] : [[f, String(alert.fields[f])]]));
        const fields: Field[] = [
          ['candid', candid],
          ['objectId', alert.objectId],
          ...names.map((n, c): Field => [n, p[c].toPrecision(FLOAT32_DIGITS)]),
          ['model', model.label],
          ['model_sha256', model.sha256],
          ['preprocess', this.scoring.step],
          ...facts,
          ['entry', entry.id],
          ['consumer', consumer],
        ];
        return { candid, fields };
      }),
      dead: dead.map(({ alert, error }): Field[] => [
        ['entry', entry.id],
        ['alert', alert],
        ['error', error],
        ['deliveries', String(entry.deliveries)],
        ['consumer', consumer],
        // The entry itself, to replay once fixed.
        ...[...entry.fields].map(([name, value]): Field => [name, value]),
      ]),
    }));
  }

  private async refreshBacklog(): Promise<void> {
    if (Date.now() < this.nextBacklog) return;
    this.nextBacklog = Date.now() + BACKLOG_EVERY_MS;
    try {
      Object.assign(this.metrics, await groupBacklog(this.writerClient, this.o.keys.input, this.group.group));
    } catch (e) {
      this.log('warn', 'backlog_failed', { error: errorText(e) });
    }
  }
}

/** The batch's samples as one dataset, in entry order (each entry's shape was checked against the network's). */
function concat(parts: Dataset[], source: string): Dataset {
  const values = parts.reduce((n, p) => n + p.images.length, 0);
  const images = new Float32Array(values);
  let at = 0;
  for (const p of parts) {
    images.set(p.images, at);
    at += p.images.length;
  }
  const ids = parts.flatMap((p) => p.ids);
  return checkDataset({
    shape: parts[0].shape,
    images,
    preprocess: parts[0].preprocess,
    labels: new Uint8Array(ids.length),
    scheme: 'unlabelled',
    ids,
    source,
    candidates: parts.flatMap((p) => p.candidates!),
  });
}
