// The TensorFlow.js peer, run by bench/peers.ts in a child process of its own
// (its own Dawn instance, nothing shared with our runtime): the initial
// network as a tf.sequential, trained with trainOnBatch at batch 64 and run
// with predict + data() at batch 256, on the WebGPU backend. Prints one JSON
// line (PeerFigures) last.
//   tsx bench/peer-tfjs.ts --train-steps 4 --infer-batches 3
import { parseArgs } from 'node:util';
import type { Tensor } from '@tensorflow/tfjs-core';
import { create, globals } from 'webgpu';
import type { PeerFigures } from './results.ts';
import { spread } from './timing.ts';

const { values: args } = parseArgs({ options: { 'train-steps': { type: 'string', default: '4' }, 'infer-batches': { type: 'string', default: '3' } } });
const trainSteps = Number(args['train-steps']);
const inferBatches = Number(args['infer-batches']);

// The backend registers itself on import only when navigator.gpu exists, so
// the globals come first and the TF.js packages are imported after them.
Object.assign(globalThis, globals);
const instance = create([]);
const holder = globalThis as { navigator?: { gpu?: GPU } };
if (holder.navigator) Object.defineProperty(holder.navigator, 'gpu', { value: instance, configurable: true });
else holder.navigator = { gpu: instance };

const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-backend-webgpu');
const tfl = await import('@tensorflow/tfjs-layers');
if (!(await tf.setBackend('webgpu'))) throw new Error('TF.js: the webgpu backend did not initialise');
await tf.ready();
const adapter = await instance.requestAdapter({ powerPreference: 'high-performance' });
const device = adapter?.info.description || adapter?.info.device || 'unknown adapter';

/** The initial network (REFERENCE.md), layer for layer as in the paper's Keras. */
function initialNetwork() {
  const conv = (filters: number, inputShape?: number[]) => tfl.layers.conv2d({ filters, kernelSize: 3, padding: 'same', activation: 'relu', ...(inputShape ? { inputShape } : {}) });
  const pool = () => tfl.layers.maxPooling2d({ poolSize: 2, padding: 'same' });
  const model = tfl.sequential({
    layers: [conv(32, [69, 69, 3]), pool(), conv(64), pool(), conv(128), pool(), tfl.layers.flatten(), tfl.layers.dense({ units: 128, activation: 'relu' }), tfl.layers.dense({ units: 2, activation: 'softmax' })],
  });
  // Keras 2 RMSprop: lr 0.001, rho 0.9, no momentum, epsilon 1e-7.
  model.compile({ optimizer: tf.train.rmsprop(0.001, 0.9, 0, 1e-7), loss: 'categoricalCrossentropy' });
  return model;
}

/** Seconds of each of `count` calls of `f`, after `warmup` untimed calls (TF.js compiles its shaders on the first ones). */
async function timed(warmup: number, count: number, f: () => Promise<void>): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await f();
  const seconds: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await f();
    seconds.push((performance.now() - t0) / 1000);
  }
  return seconds;
}

const rates = (batch: number, seconds: number[]) => {
  const s = spread(seconds.map((t) => batch / t));
  return { batch, images_per_s: s.median, images_per_s_min: s.min, images_per_s_max: s.max };
};

const model = initialNetwork();
const x64 = tf.randomUniform([64, 69, 69, 3]);
const y64 = tf.oneHot(tf.randomUniform([64], 0, 2, 'int32'), 2);
// trainOnBatch resolves once the loss is read back: each step is synchronous
// with the GPU. The first step compiles the shaders and creates the optimizer's
// slots; a second untimed one keeps any later first-time work out of the figures.
const trainSeconds = await timed(2, trainSteps, async () => {
  await model.trainOnBatch(x64, y64);
});
const x256 = tf.randomUniform([256, 69, 69, 3]);
const inferSeconds = await timed(1, inferBatches, async () => {
  const probs = model.predict(x256) as Tensor;
  await probs.data();
  probs.dispose();
});

const figures: PeerFigures = {
  system: `TensorFlow.js ${tf.version_core} WebGPU`,
  device,
  train: { ...rates(64, trainSeconds), steps: trainSteps },
  infer: { ...rates(256, inferSeconds), batches: inferBatches },
};
console.log(JSON.stringify(figures));
// Dawn's threads keep the process alive: leave explicitly.
process.exit(0);
