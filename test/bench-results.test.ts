// The benchmark's result files: merging the sections of `npm run bench` and
// `npm run bench:peers`, writing valid JSON and the Markdown table. No GPU, no
// timing: the figures here are made up.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checks, mergeResults, renderMarkdown, writeResults, type PeersSection, type Results, type RunInfo } from '../bench/results.ts';
import { spread } from '../bench/timing.ts';
import type { InferFigures, TrainFigures } from '../bench/whole-step.ts';

const adapter = (name: string): Results['adapter'] => ({ name, vendor: 'mesa', architecture: 'software', software: true, subgroups: { min: 8, max: 8 }, timestampQuery: true });
const host: Results['host'] = { cpu: 'test CPU', cpus: 2, node: 'v20' };
const run = (command: string, load = 0.5): RunInfo => ({ date: '2025-01-01T00:00:00.000Z', command, load_average: { start: load, end: load, cpus: 2 }, duration_s: 60 });

function train(model: 'initial' | 'tuned', batch: number, imagesPerS: number, grows = false): TrainFigures {
  const memory = [0, 1, 2].map((e) => ({ buffers: 70 + (grows ? e : 0), bytes_allocated: 4e7, host_rss_bytes: 3e8 }));
  return {
    model, optimizer: model === 'initial' ? 'rmsprop' : 'adam', batch, images_per_s: imagesPerS, images_per_s_min: imagesPerS - 1, images_per_s_max: imagesPerS + 1,
    step_ms: (batch / imagesPerS) * 1000, images_per_epoch: 3 * batch, epochs: 3, first_epoch_s: 9, epoch_11436_s: 11_436 / imagesPerS,
    epoch_11436_method: 'extrapolated from the timed steps', peak_gpu_bytes: 3e8, parameter_bytes: 5_682_952, memory, gpu_memory_stable: !grows,
  };
}
const infer: InferFigures = { model: 'initial', batch: 256, images_per_s: 150, images_per_s_min: 140, images_per_s_max: 160, images_per_pass: 512, passes: 4, effective_batch: 220, gpu_memory_stable: true };

function benchResults(name: string, grows = false): Results {
  return {
    adapter: adapter(name), host, date: run('npm run bench').date, command: 'npm run bench',
    bench: { run: run('npm run bench', 4.4), quick: true, train: { initial: train('initial', 64, 50, grows), tuned: train('tuned', 128, 45) }, infer: { initial: infer } },
    kernels: { skipped: 'npm run bench -- --quick measures the whole-step figures only' },
  };
}

const peers: PeersSection = {
  run: run('npm run bench:peers'),
  ours: { train: train('initial', 64, 48), infer },
  tfjs_webgpu: { system: 'TensorFlow.js 4.22.0 WebGPU', device: 'llvmpipe', train: { batch: 64, images_per_s: 5, images_per_s_min: 4, images_per_s_max: 6, steps: 4 }, infer: { batch: 256, images_per_s: 36, images_per_s_min: 35, images_per_s_max: 37, batches: 3 } },
  torch_cpu: { skipped: 'python3 cannot import torch' },
  ratios: { tfjs_webgpu: { train: 9.6, infer: 150 / 36 } },
};

const dir = mkdtempSync(join(tmpdir(), 'handscan-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bench results', () => {
  it('spread gives the median (mean of the middle two for an even count), min and max', () => {
    expect(spread([5, 1, 3])).toEqual({ median: 3, min: 1, max: 5, n: 3 });
    expect(spread([4, 1, 2, 3])).toEqual({ median: 2.5, min: 1, max: 4, n: 4 });
  });

  it('a peers run keeps the bench sections of the same adapter, and drops another adapter\'s', () => {
    const previous = benchResults('llvmpipe');
    const same = mergeResults(previous, { adapter: adapter('llvmpipe'), host, date: peers.run.date, command: 'npm run bench:peers', peers });
    expect(same.bench).toEqual(previous.bench);
    expect(same.kernels).toEqual(previous.kernels);
    expect(same.peers).toEqual(peers);
    expect(same.command).toBe('npm run bench:peers');
    const other = mergeResults(previous, { adapter: adapter('NVIDIA H100'), host, date: peers.run.date, command: 'npm run bench:peers', peers });
    expect(other.bench).toBeUndefined();
    expect(other.adapter.name).toBe('NVIDIA H100');
  });

  it('writes results.json as valid JSON with the required fields, and RESULTS.md beside it, leaving no temporary', async () => {
    const r = mergeResults(benchResults('llvmpipe'), { adapter: adapter('llvmpipe'), host, date: peers.run.date, command: 'npm run bench:peers', peers });
    const [json, md] = [join(dir, 'results.json'), join(dir, 'RESULTS.md')];
    await writeResults(r, json, md);
    const back = JSON.parse(readFileSync(json, 'utf8'));
    expect(back).toEqual(r);
    expect(back.bench.train.initial.images_per_s).toBe(50);
    expect(back.bench.train.tuned.images_per_s).toBe(45);
    expect(back.bench.infer.initial.images_per_s).toBe(150);
    expect(back.adapter.name).toBe('llvmpipe');
    expect(readFileSync(md, 'utf8')).toBe(renderMarkdown(r));
    expect(readdirSync(dir).sort()).toEqual(['RESULTS.md', 'results.json']);
  });

  it('RESULTS.md names the device, the commands, the figures, the peers and a busy machine', () => {
    const md = renderMarkdown({ ...benchResults('llvmpipe'), peers });
    expect(md).toContain('**llvmpipe**');
    expect(md).toContain('npm run bench:peers');
    expect(md).toContain('50.0 (49.0–51.0) images/s');
    expect(md).toContain('TensorFlow.js 4.22.0 WebGPU');
    expect(md).toContain('9.6× / 4.2×');
    expect(md).toContain('python3 cannot import torch');
    expect(md).toContain('Not measured: npm run bench -- --quick');
    expect(md).toContain('predictAll ran 220 images at a time');
    // The bench run had load 4.4 on 2 CPUs, the peers run 0.5.
    expect(md.match(/\*\*Noisy:\*\*/g)).toHaveLength(1);
  });

  it('checks report the issue\'s targets, GPU memory growth among them', () => {
    const met = checks({ ...benchResults('llvmpipe'), peers });
    expect(met.map(([, , ok]) => ok)).toEqual([true, false, true, true]);
    const grows = checks(benchResults('llvmpipe', true));
    expect(grows[0][2]).toBe(false);
    expect(grows[0][1]).toBe('70 → 72 buffers, 38.1 → 38.1 MiB');
  });

  it('failures show as failures: a network that did not train, inference measured at half the batch', () => {
    const r = benchResults('llvmpipe');
    const error = 'inference with the initial net at batch 256: Binding size (156008448) is larger than the maximum storage buffer binding size (134217728).';
    r.bench!.train.tuned = { model: 'tuned', batch: 128, failed: 'training the tuned net at batch 128: out of memory' };
    r.bench!.infer.initial = { ...infer, batch: 128, effective_batch: 128, failed_batch: { batch: 256, error } };
    const md = renderMarkdown(r);
    expect(md).toContain('| training, tuned net, batch 128 | **failed** | training the tuned net at batch 128: out of memory |');
    expect(md).toContain('inference, initial net, batch 128 (batch 256 **failed**: inference with the initial net');
    expect(md).not.toContain('one epoch of 11,436 images, tuned net');
    const met = checks(r);
    expect(met).toContainEqual(['tuned net trains at batch 128', 'training the tuned net at batch 128: out of memory', false]);
    expect(met).toContainEqual(['inference, initial net, at batch 256 runs', error, false]);
  });

  it('braai rows and the decoding check: decoding must outrun scoring, and results from before braai still render', () => {
    const r = benchResults('llvmpipe');
    expect(renderMarkdown(r)).not.toContain('braai net');
    const braaiInfer: InferFigures = { ...infer, model: 'braai', images_per_s: 400, images_per_s_min: 390, images_per_s_max: 410, effective_batch: 256 };
    const decode = { packets: 10_000, packets_per_s: 830, packets_per_s_min: 820, packets_per_s_max: 840, seconds: 12, passes: 3, preprocess: 'braai' as const };
    r.bench!.infer.braai = braaiInfer;
    r.bench!.decode = decode;
    const md = renderMarkdown(r);
    expect(md).toContain('| inference, braai net, batch 256 | 400.0 (390.0–410.0) images/s |');
    expect(md).toContain("| decoding 10,000 ZTF alert packets into braai's input | 830.0 (820.0–840.0) packets/s |");
    expect(checks(r)).toContainEqual(['decoding 10,000 ZTF packets is faster than braai scores them', '830.0 packets/s decoded, 400.0 images/s scored', true]);
    r.bench!.decode = { ...decode, packets_per_s: 300 };
    expect(checks(r).find(([what]) => what.startsWith('decoding'))![2]).toBe(false);
  });
});
