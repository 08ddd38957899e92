// npm run bench [-- --quick]: whole-step figures (training the paper's two
// networks and braai, inference, an epoch, peak memory, memory growth, alert
// packets decoded) and, without --quick, every kernel at the paper's shapes
// and the stream scorers (bench/stream.ts). Writes bench/results.json and
// bench/RESULTS.md.
import { parseArgs } from 'node:util';
import { gpuBackend } from '../src/kernels/gpu-backend.ts';
import { openEngine } from '../src/platform/node/engine.ts';
import { measureDecode } from './decode.ts';
import { measureKernels } from './kernels.ts';
import { checks, hostInfo, mergeResults, readResults, RESULTS_JSON, RESULTS_MD, startRun, writeResults, type Results } from './results.ts';
import { GpuTimer, printTable } from './timing.ts';
import { isFailed, measureInferenceOrHalf, measureTraining, orFailed, plan, type Failed, type InferFigures, type TrainFigures } from './whole-step.ts';

const { values: args } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const quick = args.quick!;
const command = `npm run bench${quick ? ' -- --quick' : ''}`;

const g = await openEngine();
const B = gpuBackend(g);
const info = g.info;
console.log(`${command}: ${info.name}${info.software ? ' (CPU implementation: short epochs, the full epoch extrapolated)' : ''}`);
const p = plan(info.software, quick);

/** A folder of 10,000 packets: the issue's measure of decoding against scoring. */
const DECODE_PACKETS = 10_000;
const fmt = (x: number, d = 1) => x.toFixed(d);
const mib = (bytes: number) => `${fmt(bytes / 2 ** 20)} MiB`;
const whole = startRun(command);
console.log(`training: 1 warm-up + ${p.epochs} timed epochs of ${p.trainImages.initial} (initial, batch 64) and ${p.trainImages.tuned} images (tuned, batch 128)`);
const initial = await orFailed('initial', 64, () => measureTraining(g, B, 'initial', 64, p));
const tuned = await orFailed('tuned', 128, () => measureTraining(g, B, 'tuned', 128, p));
console.log(`training braai: 1 warm-up + ${p.epochs} timed epochs of ${p.trainImages.braai} images (batch 64, 63×63×3)`);
const braaiTrain = await orFailed('braai', 64, () => measureTraining(g, B, 'braai', 64, p));
console.log(`inference: 1 warm-up + ${p.passes} timed passes over ${p.inferImages} images (batch 256), initial and braai`);
const infer = await orFailed('initial', 256, () => measureInferenceOrHalf(g, B, 'initial', 256, p));
const braaiInfer = await orFailed('braai', 256, () => measureInferenceOrHalf(g, B, 'braai', 256, p));
console.log(`decoding: ${DECODE_PACKETS} ZTF packets into braai's input, 1 warm-up + ${quick ? 1 : 3} timed passes`);
const decode = measureDecode(DECODE_PACKETS, quick ? 1 : 3);
const bench = { run: whole.finish(), quick, train: { initial, tuned, braai: braaiTrain }, infer: { initial: infer, braai: braaiInfer }, decode };
const rate = (f: InferFigures | TrainFigures | Failed) =>
  isFailed(f) ? `FAILED: ${f.failed}` : `${fmt(f.images_per_s)} images/s (${fmt(f.images_per_s_min)}-${fmt(f.images_per_s_max)})${'failed_batch' in f && f.failed_batch ? ` at batch ${f.batch} (batch ${f.failed_batch.batch} FAILED, see above)` : ''}`;
printTable(
  ['figure', 'median (min-max)'],
  [
    ['train initial, batch 64', rate(initial)],
    ['train tuned, batch 128', rate(tuned)],
    ['train braai, batch 64', rate(braaiTrain)],
    ['infer initial, batch 256', rate(infer)],
    ['infer braai, batch 256', rate(braaiInfer)],
    [`decode ${DECODE_PACKETS} ZTF packets (braai)`, `${fmt(decode.packets_per_s)} packets/s (${fmt(decode.packets_per_s_min)}-${fmt(decode.packets_per_s_max)}), ${fmt(decode.seconds)} s`],
    ...[initial, tuned, braaiTrain].flatMap((t) =>
      isFailed(t)
        ? []
        : [
            [`epoch of 11,436 images, ${t.model}`, `${fmt(t.epoch_11436_s)} s (${t.epoch_11436_method})`],
            [`peak GPU memory of a step, ${t.model}`, mib(t.peak_gpu_bytes)],
            [`GPU memory over ${t.epochs} epochs, ${t.model}`, t.gpu_memory_stable ? `stable: ${t.memory[0].buffers} buffers, ${mib(t.memory[0].bytes_allocated)}` : 'GROWS'],
          ],
    ),
  ],
);

let kernels: Results['kernels'];
if (!quick) {
  const run = startRun(command);
  const timer = new GpuTimer(g);
  console.log(`\nkernels (${timer.method}):`);
  const results = await measureKernels(g, B, [64, 128], timer, (k) => console.log(`  ${k.op} ${k.layer}${k.batch ? ` batch ${k.batch}` : ''}: ${fmt(k.ms.median, 2)} ms`));
  timer.destroy();
  kernels = { run: run.finish(), results };
  console.log(`\nGEMM ceiling ${fmt(results.gemm_ceiling_gflop_per_s)} GFLOP/s (${results.gemm_ceiling_how}); copy ${fmt(results.copy_gb_per_s)} GB/s`);
  printTable(
    ['kernel', 'layer', 'batch', 'median ms (min-max)', 'GFLOP/s or GB/s', 'of ceiling'],
    results.cases.map((k) => [
      k.op,
      k.layer,
      k.batch === null ? '-' : String(k.batch),
      `${fmt(k.ms.median, 2)} (${fmt(k.ms.min, 2)}-${fmt(k.ms.max, 2)})`,
      k.gflop_per_s !== null ? `${fmt(k.gflop_per_s)} GFLOP/s` : `${fmt(k.gb_per_s!)} GB/s`,
      `${Math.round(k.of_ceiling! * 100)}%`,
    ]),
  );
}

const merged = mergeResults(readResults(), { adapter: info, host: hostInfo(), date: bench.run.date, command, bench, ...(kernels ? { kernels } : {}) });
// A quick run keeps the kernel figures of an earlier full run on this adapter (dated), or says there are none.
merged.kernels ??= { skipped: `${command} measures the whole-step figures only; run \`npm run bench\` for them` };
await writeResults(merged);
console.log('');
for (const [what, value, ok] of checks(merged)) console.log(`${ok ? 'met    ' : 'NOT MET'}  ${what}: ${value}`);
console.log(`wrote ${RESULTS_JSON} and ${RESULTS_MD}`);
g.destroy();
// A full run also measures the stream scorers (bench/stream.ts, which runs
// alone as `npm run bench:stream`): their own processes need the GPU and the
// cores to themselves, so after this engine is gone.
if (!quick) await import('./stream.ts');
