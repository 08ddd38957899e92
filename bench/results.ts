// bench/results.json (machine-readable) and bench/RESULTS.md (rendered from
// it). `npm run bench` and `npm run bench:peers` each own some sections and
// keep the others, so that one file holds the latest figures of both; every
// section carries the date and command of the run that measured it.
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AdapterDescription } from '../src/kernels/engine.ts';
import { writeFileAtomic } from '../src/io/atomic-file.ts';
import type { DecodeFigures } from './decode.ts';
import type { KernelResults } from './kernels.ts';
import { isFailed, type Failed, type InferFigures, type TrainFigures } from './whole-step.ts';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const RESULTS_JSON = join(BENCH_DIR, 'results.json');
export const RESULTS_MD = join(BENCH_DIR, 'RESULTS.md');

/** When and where a section was measured. */
export interface RunInfo {
  date: string;
  command: string;
  /** 1-minute load averages at the start and end, with the CPU count: how busy the machine was. */
  load_average: { start: number; end: number; cpus: number };
  duration_s: number;
}

export interface PeerFigures {
  system: string;
  /** The adapter a GPU peer ran on, or the CPU threads of a CPU peer. */
  device: string;
  train: { batch: number; images_per_s: number; images_per_s_min: number; images_per_s_max: number; steps: number };
  infer: { batch: number; images_per_s: number; images_per_s_min: number; images_per_s_max: number; batches: number };
}

export interface Skipped {
  skipped: string;
}

export interface PeersSection {
  run: RunInfo;
  ours: { train: TrainFigures | Failed; infer: InferFigures | Failed };
  tfjs_webgpu: PeerFigures | Skipped;
  torch_cpu: PeerFigures | Skipped;
  /** Only where python3's torch sees a CUDA device. */
  torch_cuda?: PeerFigures | Skipped;
  /** ours / peer images per second, for each peer that ran (null where ours failed). */
  ratios: { [peer: string]: { train: number | null; infer: number | null } };
}

/** One run of `npm run bench:stream`: scorers on a Redis stream, fed as fast as possible or at a rate. */
export interface StreamRun {
  model: 'braai' | 'initial';
  scorers: number;
  /** Entries per second pushed; null: as fast as the server took them (a backlog from the start). */
  offered_per_s: number | null;
  alerts: number;
  /** Alerts over the time from the first entry's XADD to the last result's write. */
  alerts_per_s: number;
  /** From each entry's id time to its result's write, on the server's clock. */
  latency_ms: { p50: number; p99: number; max: number };
  /** Busy time per alert, summed over the scorers (the stages overlap within a scorer). */
  per_alert_ms: { decode: number; preprocess: number; gpu: number; redis: number };
}

export interface StreamSection {
  run: RunInfo;
  redis: string;
  batch: number;
  packets: string;
  runs: StreamRun[];
}

export interface Results {
  adapter: AdapterDescription;
  host: { cpu: string; cpus: number; node: string };
  /** The latest run that wrote this file. */
  date: string;
  command: string;
  bench?: {
    run: RunInfo;
    quick: boolean;
    /** braai and decode are absent from results measured before braai was a built-in model. */
    train: { initial: TrainFigures | Failed; tuned: TrainFigures | Failed; braai?: TrainFigures | Failed };
    infer: { initial: InferFigures | Failed; braai?: InferFigures | Failed };
    decode?: DecodeFigures;
  };
  kernels?: { run: RunInfo; results: KernelResults } | Skipped;
  peers?: PeersSection;
  stream?: StreamSection;
}

/** Starts a RunInfo; call `finish` at the end of the run. */
export function startRun(command: string): { finish: () => RunInfo } {
  const t0 = performance.now();
  const start = loadavg()[0];
  const date = new Date().toISOString();
  return { finish: () => ({ date, command, load_average: { start, end: loadavg()[0], cpus: cpus().length }, duration_s: (performance.now() - t0) / 1000 }) };
}

export function hostInfo(): Results['host'] {
  return { cpu: cpus()[0]?.model ?? 'unknown', cpus: cpus().length, node: process.version };
}

/** The file's current contents, or null when absent or unreadable. */
export function readResults(path = RESULTS_JSON): Results | null {
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Results;
  } catch {
    return null;
  }
}

/**
 * `update` over the previous results of the same adapter; figures from another
 * adapter are dropped rather than mixed into this device's table.
 */
export function mergeResults(previous: Results | null, update: Omit<Results, 'bench' | 'kernels' | 'peers'> & Partial<Results>): Results {
  const same = previous !== null && previous.adapter.name === update.adapter.name;
  return { ...(same ? previous : {}), ...update };
}

/** Writes results.json and RESULTS.md, each atomically. */
export async function writeResults(r: Results, json = RESULTS_JSON, md = RESULTS_MD): Promise<void> {
  await writeFileAtomic(json, `${JSON.stringify(r, null, 2)}\n`);
  await writeFileAtomic(md, renderMarkdown(r));
}

export const isSkipped = (x: object | undefined): x is Skipped => x !== undefined && 'skipped' in x;

/** The issue's targets that these results can decide: [what, value, passed]. */
export function checks(r: Results): [string, string, boolean][] {
  const out: [string, string, boolean][] = [];
  const p = r.peers;
  if (p && !isSkipped(p.tfjs_webgpu)) {
    const ratio = p.ratios.tfjs_webgpu;
    const infer = p.ours.infer;
    const at = !isFailed(infer) && infer.failed_batch ? ` (ours at batch ${infer.batch}: batch 256 failed)` : '';
    out.push(['training, initial net, batch 64: ≥ 8× TF.js WebGPU', times(ratio.train), (ratio.train ?? 0) >= 8]);
    out.push([`inference, batch 256: ≥ 5× TF.js WebGPU${at}`, times(ratio.infer), (ratio.infer ?? 0) >= 5 && at === '']);
  }
  if (r.kernels && !isSkipped(r.kernels)) {
    for (const k of r.kernels.results.cases) {
      if (!/^conv[23]$/.test(k.layer)) continue;
      out.push([`${k.op} ${k.layer} batch ${k.batch}: ≥ 20 GFLOP/s`, `${k.gflop_per_s!.toFixed(1)} GFLOP/s`, k.gflop_per_s! >= 20]);
    }
    for (const f of r.kernels.results.failures) out.push([`${f.op} ${f.layer} batch ${f.batch} runs`, f.error, false]);
  }
  if (r.bench) {
    for (const t of trained(r.bench)) {
      if (isFailed(t)) {
        out.push([`${t.model} net trains at batch ${t.batch}`, t.failed, false]);
        continue;
      }
      const [first, last] = [t.memory[0], t.memory[t.memory.length - 1]];
      out.push([`${t.model} net: no GPU buffer growth over ${t.epochs} epochs after the warm-up`, `${first.buffers} → ${last.buffers} buffers, ${mib(first.bytes_allocated)} → ${mib(last.bytes_allocated)} MiB`, t.gpu_memory_stable]);
    }
    for (const infer of inferred(r.bench)) {
      const failure = isFailed(infer) ? infer.failed : infer.failed_batch?.error;
      if (failure) out.push([`inference, ${infer.model} net, at batch 256 runs`, failure, false]);
    }
    const [decode, braai] = [r.bench.decode, r.bench.infer.braai];
    if (decode && braai && !isFailed(braai)) {
      out.push([`decoding ${decode.packets.toLocaleString('en-US')} ZTF packets is faster than braai scores them`, `${num(decode.packets_per_s)} packets/s decoded, ${num(braai.images_per_s)} images/s scored`, decode.packets_per_s > braai.images_per_s]);
    }
  }
  return out;
}

type Bench = NonNullable<Results['bench']>;
const trained = (b: Bench) => [b.train.initial, b.train.tuned, ...(b.train.braai ? [b.train.braai] : [])];
const inferred = (b: Bench) => [b.infer.initial, ...(b.infer.braai ? [b.infer.braai] : [])];

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const num = (x: number, digits = 1) => x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const times = (x: number | null) => (x === null ? 'n/a' : `${num(x)}×`);
type Rate = { images_per_s: number; images_per_s_min: number; images_per_s_max: number };
const rate = (f: Rate | Failed) => (isFailed(f) ? `failed: ${f.failed}` : `${num(f.images_per_s)} (${num(f.images_per_s_min)}–${num(f.images_per_s_max)})`);
/** ", at batch 128: batch 256 failed" where inference fell back to a smaller batch. */
const fallback = (f: InferFigures | Failed) => (!isFailed(f) && f.failed_batch ? ` at batch ${f.batch} (batch ${f.failed_batch.batch} failed: ${f.failed_batch.error})` : '');

/** "; predictAll ran 220 images at a time" where the adapter's binding limit capped the batch. */
const capped = (f: InferFigures | Failed) => (!isFailed(f) && f.effective_batch < f.batch ? `; predictAll ran ${f.effective_batch} images at a time (every activation must fit one storage binding)` : '');

/**
 * A warning line when other work shared the machine: the bench alone keeps
 * every CPU busy (lavapipe runs a thread per core), so only a load above the
 * CPU count plus one says something else was running.
 */
function loadNote(run: RunInfo): string[] {
  const { start, end, cpus } = run.load_average;
  if (Math.max(start, end) <= cpus + 1) return [];
  return [`> **Noisy:** this section was measured on a busy machine (1-minute load average ${start.toFixed(1)} at the start, ${end.toFixed(1)} at the end, on ${cpus} CPUs): other work shared the CPU, so these figures are low and widely spread. Rerun on a quiet machine.`, ''];
}

function table(header: string[], rows: string[][]): string[] {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

/** The whole-step table's rows for one trained network (one row when it failed). */
function trainRows(t: TrainFigures | Failed): { speed: string[]; epoch: string[]; peak: string[]; growth: string[] } | { failed: string[] } {
  if (isFailed(t)) return { failed: [`training, ${t.model} net, batch ${t.batch}`, '**failed**', t.failed] };
  const [first, last] = [t.memory[0], t.memory[t.memory.length - 1]];
  return {
    speed: [`training, ${t.model} net, batch ${t.batch}, ${t.optimizer}`, `${rate(t)} images/s`, `${t.epochs} epochs of ${t.images_per_epoch} images after one warm-up epoch (${num(t.first_epoch_s)} s, shader compilation included); ${num(t.step_ms, 0)} ms per step`],
    epoch: [`one epoch of 11,436 images, ${t.model} net, batch ${t.batch}`, `${num(t.epoch_11436_s)} s`, t.epoch_11436_method],
    peak: [`peak GPU memory of a training step, ${t.model} net, batch ${t.batch}`, `${mib(t.peak_gpu_bytes)} MiB`, `buffer pool's high-water mark: ${mib(t.parameter_bytes)} MiB of parameters, plus optimizer state, activations, gradients and the batch`],
    growth: [
      `memory from epoch to epoch, ${t.model} net`,
      t.gpu_memory_stable ? 'GPU: no growth' : '**GPU: grows**',
      `after each of the ${t.epochs} timed epochs: GPU ${first.buffers} → ${last.buffers} buffers, ${mib(first.bytes_allocated)} → ${mib(last.bytes_allocated)} MiB allocated; host resident set ${mib(first.host_rss_bytes)} → ${mib(last.host_rss_bytes)} MiB`,
    ],
  };
}

export function renderMarkdown(r: Results): string {
  const a = r.adapter;
  const lines: string[] = [
    '# Benchmark results',
    '',
    'Generated from `bench/results.json` by `npm run bench` and `npm run bench:peers`; do not edit by hand.',
    '',
    `- Adapter: **${a.name}** (vendor ${a.vendor || '-'}, architecture ${a.architecture || '-'}${a.software ? ', a CPU implementation' : ''}; subgroups ${a.subgroups ? `${a.subgroups.min}-${a.subgroups.max}` : 'no'}; timestamp queries ${a.timestampQuery ? 'yes' : 'no'})`,
    `- Host: ${r.host.cpu}, ${r.host.cpus} CPUs, Node ${r.host.node}`,
    '',
    'Reproduce:',
    '',
    '```sh',
    'npm run bench            # every kernel, the whole-step figures over ten epochs, and the stream scorers',
    'npm run bench -- --quick # the whole-step figures only, over three epochs',
    'npm run bench:stream     # the stream scorers alone, on a redis-server of their own',
    'npm run bench:peers      # TF.js WebGPU and PyTorch beside this engine, in one run',
    '```',
    '',
  ];
  if (r.bench) {
    const nets = trained(r.bench).map(trainRows);
    const pick = (key: 'speed' | 'epoch' | 'peak' | 'growth') => nets.flatMap((n) => ('failed' in n ? (key === 'speed' ? [n.failed] : []) : [n[key]]));
    const decode = r.bench.decode;
    lines.push(`## Whole steps`, '', `\`${r.bench.run.command}\`, ${r.bench.run.date}, ${num(r.bench.run.duration_s, 0)} s.`, '');
    lines.push(...loadNote(r.bench.run));
    lines.push(
      ...table(
        ['figure', 'median (min–max)', 'how'],
        [
          ...pick('speed'),
          ...inferred(r.bench).map((infer) =>
            isFailed(infer)
              ? [`inference, ${infer.model} net, batch ${infer.batch}`, '**failed**', infer.failed]
              : [`inference, ${infer.model} net, batch ${infer.batch}${infer.failed_batch ? ` (batch ${infer.failed_batch.batch} **failed**: ${infer.failed_batch.error})` : ''}`, `${rate(infer)} images/s`, `${infer.passes} passes of ${infer.images_per_pass} images through predictAll after one warm-up pass${capped(infer)}`],
          ),
          ...(decode
            ? [[`decoding ${decode.packets.toLocaleString('en-US')} ZTF alert packets into braai's input`, `${rate({ images_per_s: decode.packets_per_s, images_per_s_min: decode.packets_per_s_min, images_per_s_max: decode.packets_per_s_max })} packets/s`, `readAlertSet (Avro, gunzip, FITS, the braai step) on the fixture packets held in memory, ${decode.passes} pass${decode.passes === 1 ? '' : 'es'} after one warm-up; ${num(decode.seconds)} s a pass`]]
            : []),
          ...pick('epoch'),
          ...pick('peak'),
          ...pick('growth'),
        ],
      ),
      '',
      'Training goes through `trainEpoch` and inference through `predictAll` (src/train/fit.ts), fed by the real batch source from random cutouts (uint8 69×69×3 for the paper\'s networks, float32 63×63×3 for braai); times are wall clock, from the epoch\'s first upload to its last readback.',
      '',
    );
  }
  if (r.peers) {
    const p = r.peers;
    lines.push('## Peers, measured side by side in one run', '', `\`${p.run.command}\`, ${p.run.date}, ${num(p.run.duration_s, 0)} s.`, '');
    lines.push(...loadNote(p.run));
    const row = (name: string, device: string, f: PeerFigures | Skipped, ratio?: PeersSection['ratios'][string]) =>
      isSkipped(f) ? [name, device, 'skipped', 'skipped', f.skipped] : [f.system, f.device, rate(f.train), rate(f.infer), ratio ? `${times(ratio.train)} / ${times(ratio.infer)}` : '-'];
    lines.push(
      ...table(
        ['system', 'device', 'training, initial net, batch 64 (images/s)', 'inference, batch 256 (images/s)', 'ours / peer (train / infer)'],
        [
          ['Handscan (this engine)', a.name, rate(p.ours.train), `${rate(p.ours.infer)}${fallback(p.ours.infer)}${capped(p.ours.infer)}`, '-'],
          row('TensorFlow.js WebGPU', a.name, p.tfjs_webgpu, p.ratios.tfjs_webgpu),
          row('PyTorch CPU', 'CPU, 2 threads', p.torch_cpu, p.ratios.torch_cpu),
          ...(p.torch_cuda ? [row('PyTorch CUDA', 'CUDA', p.torch_cuda, p.ratios.torch_cuda)] : []),
        ],
      ),
      '',
      'Each system trains the same initial network (RMSprop, categorical cross-entropy) on random inputs. TF.js runs `model.trainOnBatch` and `predict` + `data()` in a child process, through the same `webgpu` package and adapter; PyTorch runs channels-last, on the CPU with 2 threads (and on CUDA where there is a device). Medians with min–max over timed steps (peers) or epochs (ours), after warm-up.',
      '',
    );
  }
  if (r.stream) lines.push(...streamLines(r.stream));
  if (r.kernels) {
    lines.push('## Kernels', '');
    if (isSkipped(r.kernels)) lines.push(`Not measured: ${r.kernels.skipped}.`, '');
    else {
      const k = r.kernels.results;
      lines.push(`\`${r.kernels.run.command}\`, ${r.kernels.run.date}, ${num(r.kernels.run.duration_s, 0)} s. Timing: ${k.timing}.`, '');
      lines.push(...loadNote(r.kernels.run));
      lines.push(
        `GEMM ceiling of this adapter: **${num(k.gemm_ceiling_gflop_per_s)} GFLOP/s**, ${k.gemm_ceiling_how}. Memory ceiling: **${num(k.copy_gb_per_s)} GB/s**, ${k.copy_how}. "Of ceiling" divides a GEMM's GFLOP/s by the first, a memory-bound kernel's GB/s by the second.`,
        '',
        ...table(
          ['kernel', 'layer', 'batch', 'shapes', 'GEMM', 'median ms (min–max, n)', 'GFLOP/s', 'GB/s', 'of ceiling'],
          k.cases.map((c) => [
            c.op,
            c.layer,
            c.batch === null ? '-' : String(c.batch),
            c.shapes,
            c.gemm ?? '-',
            `${num(c.ms.median, 2)} (${num(c.ms.min, 2)}–${num(c.ms.max, 2)}, ${c.ms.n})`,
            c.gflop_per_s === null ? '-' : num(c.gflop_per_s),
            c.gb_per_s === null ? '-' : num(c.gb_per_s),
            c.of_ceiling === null ? '-' : `${Math.round(c.of_ceiling * 100)}%`,
          ]),
        ),
        '',
        ...(k.failures.length > 0 ? ['The device rejected these cases (no figures):', '', ...k.failures.map((f) => `- ${f.op} ${f.layer}${f.batch === null ? '' : ` batch ${f.batch}`} (${f.shapes}): ${f.error}`), ''] : []),
        "Each kernel runs alone through `gpuBackend` (its padding, packing and reduction passes included), on inputs uploaded once; the first run compiles and is not timed. The tuned network's GEMMs have the same shapes at batch 128. conv1's input gradient is not listed: a training step never computes it.",
        '',
      );
    }
  }
  const c = checks(r);
  if (c.length > 0) lines.push('## Targets of issue 6', '', ...table(['target', 'measured', 'met'], c.map(([what, value, ok]) => [what, value, ok ? 'yes' : '**no**'])), '');
  return `${lines.join('\n')}`;
}

/** Issue 12's targets that a stream run decides: [what, value, passed]. */
export function streamChecks(section: StreamSection): [string, string, boolean][] {
  const braai = section.runs.filter((x) => x.model === 'braai');
  const out: [string, string, boolean][] = [];
  const fastest = braai.filter((x) => x.offered_per_s === null).sort((a, b) => b.alerts_per_s - a.alerts_per_s)[0];
  if (fastest) out.push(['≥ 280 alerts/s with braai on this box', `${num(fastest.alerts_per_s)} alerts/s (${fastest.scorers} scorer${fastest.scorers === 1 ? '' : 's'})`, fastest.alerts_per_s >= 280]);
  for (const x of braai.filter((y) => y.offered_per_s === 200)) {
    out.push([`p99 < 5 s at 200 alerts/s offered, braai, ${x.scorers} scorer${x.scorers === 1 ? '' : 's'}`, `${num(x.latency_ms.p99 / 1000, 2)} s`, x.latency_ms.p99 < 5000]);
  }
  return out;
}

function streamLines(t: StreamSection): string[] {
  const ms = (x: number) => num(x, 2);
  return [
    '## Streams',
    '',
    `\`${t.run.command}\`, ${t.run.date}, ${num(t.run.duration_s, 0)} s. \`handscan serve\` processes (batch ${t.batch}) in one consumer group on ${t.redis}, fed by \`replay\` with ${t.packets}.`,
    '',
    ...loadNote(t.run),
    ...table(
      ['model', 'scorers', 'offered', 'alerts', 'alerts/s', 'latency p50 / p99 / max (s)', 'decode / preprocess / GPU / Redis (ms per alert)'],
      t.runs.map((x) => [
        x.model === 'braai' ? 'braai d6_m7' : "the paper's initial network",
        String(x.scorers),
        x.offered_per_s === null ? 'as fast as possible' : `${num(x.offered_per_s, 0)}/s`,
        x.alerts.toLocaleString('en-US'),
        num(x.alerts_per_s),
        `${num(x.latency_ms.p50 / 1000, 2)} / ${num(x.latency_ms.p99 / 1000, 2)} / ${num(x.latency_ms.max / 1000, 2)}`,
        `${ms(x.per_alert_ms.decode)} / ${ms(x.per_alert_ms.preprocess)} / ${ms(x.per_alert_ms.gpu)} / ${ms(x.per_alert_ms.redis)}`,
      ]),
    ),
    '',
    'Alerts/s is the alerts over the time from the first entry\'s XADD to the last result\'s write; latency is each result\'s `latency_ms` (entry id time to write, on the server\'s clock), so at "as fast as possible" it is mostly time queued. The stage times are busy time per alert summed over the scorers, from their `/metrics`: decode (Avro, gunzip, FITS), the preprocessing step, GPU (`predictAll`, upload to readback) and Redis (XREADGROUP, XAUTOCLAIM and the result script); a scorer decodes the next batch while the GPU scores the last, so they add up to more than the wall time.',
    '',
    ...table(['target of issue 12', 'measured', 'met'], streamChecks(t).map(([what, value, ok]) => [what, value, ok ? 'yes' : '**no**'])),
    '',
  ];
}
