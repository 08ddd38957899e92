// npm run bench:peers: this engine, TensorFlow.js's WebGPU backend on the same
// adapter, and PyTorch (CPU; CUDA where there is one) training and running
// the initial network, one after another in one run; prints our/peer ratios
// and writes them into bench/results.json and bench/RESULTS.md. The peers run
// in child processes, so that each has the machine to itself while it runs.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { gpuBackend } from '../src/kernels/gpu-backend.ts';
import { openEngine } from '../src/platform/node/engine.ts';
import { BENCH_DIR, checks, hostInfo, isSkipped, mergeResults, readResults, RESULTS_JSON, RESULTS_MD, startRun, writeResults, type PeerFigures, type PeersSection, type Skipped } from './results.ts';
import { isFailed, measureInferenceOrHalf, measureTraining, orFailed, plan, type Failed, type InferFigures, type TrainFigures } from './whole-step.ts';

const command = 'npm run bench:peers';
const ROOT = join(BENCH_DIR, '..');
/** A peer that has not answered in this long is stopped (TF.js on lavapipe needs about 2 minutes). */
const PEER_TIMEOUT_MS = 20 * 60_000;

/** Runs a peer's command and parses the JSON line it prints last, or says why there is none. */
function runPeer(name: string, file: string, args: string[]): Promise<PeerFigures | Skipped> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), PEER_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(last) as PeerFigures);
      } catch {
        const why = signal ? `killed by ${signal}${signal === 'SIGKILL' ? ` after ${PEER_TIMEOUT_MS / 60_000} minutes` : ''}` : `exit code ${code}`;
        const tail = stderr.trim().split('\n').slice(-3).join(' / ');
        console.error(`${name} failed (${why}):\n${stderr.trim().split('\n').slice(-20).join('\n')}`);
        resolve({ skipped: `${name} failed (${why}): ${tail}` });
      }
    });
  });
}

/** Whether python3 imports torch, and whether CUDA is there. */
function torchAvailability(): { torch: boolean; cuda: boolean } {
  const probe = spawnSync('python3', ['-c', 'import torch; print(int(torch.cuda.is_available()))'], { encoding: 'utf8' });
  return { torch: probe.status === 0, cuda: probe.status === 0 && probe.stdout.trim() === '1' };
}

const run = startRun(command);
const g = await openEngine();
const B = gpuBackend(g);
const info = g.info;
const p = plan(info.software, true);
console.log(`${command}: this engine on ${info.name}`);
const train = await orFailed('initial', 64, () => measureTraining(g, B, 'initial', 64, p));
const infer = await orFailed('initial', 256, () => measureInferenceOrHalf(g, B, 'initial', 256, p));
const ours = (f: TrainFigures | InferFigures | Failed) => (isFailed(f) ? null : f.images_per_s);
const shown = (x: number | null) => (x === null ? 'failed' : x.toFixed(1));
const inferBatch = isFailed(infer) ? '' : infer.failed_batch ? ` (at batch ${infer.batch}: batch 256 failed)` : '';
console.log(`  Handscan: train b64 ${shown(ours(train))} images/s, infer b256 ${shown(ours(infer))} images/s${inferBatch}`);
// Our device idles from here on; release it so that the peers have the adapter alone.
g.destroy();

console.log('TensorFlow.js WebGPU (child process; about 2 minutes on lavapipe)...');
const tfjs = await runPeer('TensorFlow.js WebGPU', process.execPath, ['--import', 'tsx', join(BENCH_DIR, 'peer-tfjs.ts'), '--train-steps', '3', '--infer-batches', '3']);
if (!isSkipped(tfjs) && tfjs.device !== info.name) console.warn(`warning: TF.js ran on '${tfjs.device}', this engine on '${info.name}'`);

const available = torchAvailability();
const torchArgs = (device: string) => [join(BENCH_DIR, 'peer_torch.py'), '--device', device, '--train-steps', '20', '--infer-batches', '10'];
let torchCpu: PeerFigures | Skipped;
if (available.torch) {
  console.log('PyTorch CPU...');
  torchCpu = await runPeer('PyTorch CPU', 'python3', torchArgs('cpu'));
} else {
  torchCpu = { skipped: "python3 cannot import torch; on Debian bookworm `apt-get install python3-torch libopenblas0-pthread` provides PyTorch 1.13 (a large download)" };
  console.log(`PyTorch CPU skipped: ${torchCpu.skipped}`);
}
const torchCuda = available.cuda ? await runPeer('PyTorch CUDA', 'python3', torchArgs('cuda')) : undefined;

const ratios: PeersSection['ratios'] = {};
const peers: [string, PeerFigures | Skipped | undefined][] = [['tfjs_webgpu', tfjs], ['torch_cpu', torchCpu], ['torch_cuda', torchCuda]];
for (const [key, f] of peers) {
  if (!f || isSkipped(f)) continue;
  const [t, i] = [ours(train), ours(infer)];
  ratios[key] = { train: t === null ? null : t / f.train.images_per_s, infer: i === null ? null : i / f.infer.images_per_s };
}

const row = (name: string, t: number | string, i: number | string, r = '') => console.log(`${name.padEnd(34)} ${String(t).padStart(14)} ${String(i).padStart(14)}  ${r}`);
console.log('');
row('system', 'train b64 img/s', 'infer b256 img/s', 'ours / peer (train, infer)');
row('Handscan', shown(ours(train)), `${shown(ours(infer))}${inferBatch ? '*' : ''}`, inferBatch ? `* ${inferBatch.trim()}` : '');
for (const [key, f] of peers) {
  if (!f) continue;
  if (isSkipped(f)) row(key, 'skipped', 'skipped');
  else row(f.system, f.train.images_per_s.toFixed(1), f.infer.images_per_s.toFixed(1), `${shown(ratios[key].train)}x, ${shown(ratios[key].infer)}x`);
}

const section: PeersSection = { run: run.finish(), ours: { train, infer }, tfjs_webgpu: tfjs, torch_cpu: torchCpu, ...(torchCuda ? { torch_cuda: torchCuda } : {}), ratios };
const merged = mergeResults(readResults(), { adapter: info, host: hostInfo(), date: section.run.date, command, peers: section });
await writeResults(merged);
console.log('');
for (const [what, value, ok] of checks(merged)) console.log(`${ok ? 'met    ' : 'NOT MET'}  ${what}: ${value}`);
console.log(`wrote ${RESULTS_JSON} and ${RESULTS_MD}`);
