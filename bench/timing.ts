// Timing for the benchmarks: summary statistics of repeated measurements, and
// GPU time of recorded work, from timestamp queries where the adapter has them
// and from the wall clock around a full sync elsewhere.
import { DeviceError, TensorTooLargeError, type Engine } from '../src/kernels/engine.ts';

/** Median and spread of repeated measurements. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function spread(values: readonly number[]): Spread {
  if (values.length === 0) throw new Error('spread: no measurements');
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1], n: s.length };
}

/** Prints rows as an aligned plain-text table. */
export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  console.log(['', line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n'));
}

/** A measurement the device rejected: its figures would time work that never ran. */
export class GpuError extends Error {}

/**
 * Runs `f` inside validation and out-of-memory error scopes and throws a
 * GpuError for the first GPU error it caused: one the engine reports (a
 * DeviceError, a tensor over the binding limit) or one of the work the engine
 * does not record (the timer's timestamp passes). Without this, the bench
 * would time dispatches that never ran.
 */
export async function checked<T>(g: Engine, what: string, f: () => Promise<T>): Promise<T> {
  const d = g.device;
  d.pushErrorScope('validation');
  d.pushErrorScope('out-of-memory');
  let value: T | undefined;
  let thrown: unknown = null;
  try {
    value = await f();
  } catch (e) {
    thrown = e;
  }
  const oom = await d.popErrorScope();
  const validation = await d.popErrorScope();
  if (thrown instanceof DeviceError || thrown instanceof TensorTooLargeError) {
    throw new GpuError(`${what}: ${(thrown as Error).message.split('\n')[0]}`);
  }
  if (thrown !== null) throw thrown;
  const error = validation ?? oom;
  if (error) throw new GpuError(`${what}: ${error.message.split('\n')[0]}`);
  return value as T;
}

export type TimingMethod = 'timestamp-query' | 'wall-clock';

/**
 * Times one batch of GPU work at a time. With timestamp queries, an empty
 * compute pass in its own submit writes a timestamp before the work and another
 * after it: the work is not changed, and the engine's encoder is not touched.
 * Each measurement starts from an idle queue, so nothing earlier is counted.
 */
export class GpuTimer {
  readonly method: TimingMethod;
  private querySet: GPUQuerySet | null = null;
  private resolved: GPUBuffer | null = null;
  private readback: GPUBuffer | null = null;

  constructor(private readonly g: Engine) {
    this.method = g.info.timestampQuery ? 'timestamp-query' : 'wall-clock';
    if (this.method === 'timestamp-query') {
      const d = g.device;
      this.querySet = d.createQuerySet({ type: 'timestamp', count: 2 });
      this.resolved = d.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
      this.readback = d.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    }
  }

  /** Milliseconds the GPU spent on what `record` encodes (it must not read back). */
  async time(record: () => void): Promise<number> {
    await this.g.sync();
    if (!this.querySet) {
      const t0 = performance.now();
      record();
      await this.g.sync();
      return performance.now() - t0;
    }
    this.mark({ beginningOfPassWriteIndex: 0 });
    record();
    this.g.submit();
    this.mark({ endOfPassWriteIndex: 1 });
    await this.readback!.mapAsync(GPUMapMode.READ);
    const [t0, t1] = new BigInt64Array(this.readback!.getMappedRange().slice(0));
    this.readback!.unmap();
    return Number(t1 - t0) / 1e6;
  }

  /** Submits an empty pass that writes one timestamp; the end mark also resolves both. */
  private mark(write: { beginningOfPassWriteIndex: number } | { endOfPassWriteIndex: number }): void {
    const d = this.g.device;
    const encoder = d.createCommandEncoder();
    encoder.beginComputePass({ timestampWrites: { querySet: this.querySet!, ...write } }).end();
    if ('endOfPassWriteIndex' in write) {
      encoder.resolveQuerySet(this.querySet!, 0, 2, this.resolved!, 0);
      encoder.copyBufferToBuffer(this.resolved!, 0, this.readback!, 0, 16);
    }
    d.queue.submit([encoder.finish()]);
  }

  destroy(): void {
    this.querySet?.destroy();
    this.resolved?.destroy();
    this.readback?.destroy();
  }
}
