import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import h5wasm, { Group } from 'h5wasm/node';
import { afterAll, describe, expect, it } from 'vitest';
import { cpuBackend } from '../src/kernels/cpu-backend.ts';
import { readKerasWeights, writeKerasWeights, type KerasCheckpoint } from '../src/io/keras-hdf5.ts';
import { kerasLayers, kerasModelConfig, kerasModelConfigOf, parseKerasModelConfig } from '../src/nn/keras-config.ts';
import { kerasLayerNames } from '../src/nn/keras-names.ts';
import type { LayerWeights } from '../src/nn/sequential.ts';
import { initialModel, modelSpec, tunedModel } from '../src/nn/models.ts';
import { Sequential } from '../src/nn/sequential.ts';
import { randomValues, randomWeights as randomKerasWeights, tfKerasConfig, writeAsKeras } from './support/keras-file.ts';
import { rng, TEST_SEED } from './support/random.ts';

const random = rng(TEST_SEED);
const dir = await mkdtemp(join(tmpdir(), 'handscan-keras-io-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
await h5wasm.ready;

const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function expectSameWeights(actual: LayerWeights[], expected: LayerWeights[]): void {
  expect(actual.map((l) => [l.name, l.weights.map((w) => [w.name, w.shape])])).toEqual(expected.map((l) => [l.name, l.weights.map((w) => [w.name, w.shape])]));
  actual.forEach((l, i) => l.weights.forEach((w, j) => expect(bytes(w.values).equals(bytes(expected[i].weights[j].values)), `${l.name}/${w.name} bytes`).toBe(true)));
}

describe('reading Keras 2 files', () => {
  it('a full-model file in the notebook layout (tf.keras names, InputLayer, optimizer state) reads', async () => {
    const names = ['conv2d', 'max_pooling2d', 'conv2d_1', 'max_pooling2d_1', 'conv2d_2', 'max_pooling2d_2', 'flatten', 'dense', 'dense_1'];
    const layers = randomKerasWeights(initialModel(2), names, random);
    const path = join(dir, 'notebook.h5');
    writeAsKeras(path, layers, tfKerasConfig(names));
    const ckpt = await readKerasWeights(path);
    expectSameWeights(ckpt.layers, layers);
    // tf.keras's names are not Keras 2's automatic ones, so the spec keeps them (and saves under them).
    const spec = parseKerasModelConfig(ckpt.modelConfig);
    expect(spec.layers.map((l) => l.name)).toEqual(names);
    expect({ ...spec, layers: spec.layers.map(({ name: _, ...l }) => l) }).toEqual(initialModel(2));
    expect(ckpt.extra).toBeUndefined();
  });

  it('a save_weights file (layer groups at the root, no model_config) reads', async () => {
    const layers = randomKerasWeights(tunedModel(3), kerasLayerNames(tunedModel(3)), random);
    const path = join(dir, 'save-weights.h5');
    writeAsKeras(path, layers);
    const ckpt = await readKerasWeights(path);
    expectSameWeights(ckpt.layers, layers);
    expect(ckpt.modelConfig).toBeUndefined();
  });
});

describe('writing and reading back', () => {
  it('tuned model, 2 classes: identical weight bytes, config and extra state after write → read → write → read', async () => {
    const spec = tunedModel(2);
    const layers = randomKerasWeights(spec, kerasLayerNames(spec), random);
    const moments = randomValues(3 * 3 * 3 * 32, random);
    const ckpt: KerasCheckpoint = {
      layers,
      modelConfig: kerasModelConfig('tuned', 2),
      extra: { epoch: 7, optimizer: 'adam', rng: [TEST_SEED, 12345], history: [{ loss: 0.5, valLoss: 0.4 }], 'adam/m/conv2d_1/kernel': moments, 'adam/v/conv2d_1/bias': randomValues(32, random) },
    };
    const first = join(dir, 'round-1.h5');
    await writeKerasWeights(first, ckpt);
    const back = await readKerasWeights(first);
    expectSameWeights(back.layers, layers);
    expect(back.modelConfig).toEqual(ckpt.modelConfig);
    expect(parseKerasModelConfig(back.modelConfig)).toEqual(spec);
    expect(back.extra).toEqual(ckpt.extra);
    expect(bytes(back.extra!['adam/m/conv2d_1/kernel'] as Float32Array).equals(bytes(moments))).toBe(true);

    const second = join(dir, 'round-2.h5');
    await writeKerasWeights(second, back);
    const again = await readKerasWeights(second);
    expectSameWeights(again.layers, layers);
    expect(again.modelConfig).toEqual(ckpt.modelConfig);
    expect(again.extra).toEqual(ckpt.extra);
  });

  it('initial model, 10 classes, built by Sequential: getWeights → file → setWeights gives the same bytes', async () => {
    const spec = initialModel(10);
    const model = Sequential.build(spec, cpuBackend, TEST_SEED);
    const path = join(dir, 'sequential.h5');
    await writeKerasWeights(path, { layers: kerasLayers(spec, await model.getWeights()), modelConfig: kerasModelConfig('initial', 10) });
    const ckpt = await readKerasWeights(path);
    const other = Sequential.build(parseKerasModelConfig(ckpt.modelConfig), cpuBackend, TEST_SEED + 1);
    other.setWeights(ckpt.layers.filter((l) => l.weights.length > 0));
    expectSameWeights(await other.getWeights(), await model.getWeights());
  });

  it('a failed write leaves the previous file intact and no temporary behind', async () => {
    const spec = initialModel(2);
    const path = join(dir, 'intact.h5');
    await writeKerasWeights(path, { layers: randomKerasWeights(spec, kerasLayerNames(spec), random) });
    const before = await readFile(path);
    // The collision shows only inside the writer, after the weights are written.
    const clash = { layers: randomKerasWeights(spec, kerasLayerNames(spec), random), extra: { a: new Float32Array([1]), 'a/b': new Float32Array([2]) } };
    await expect(writeKerasWeights(path, clash)).rejects.toThrow(/intact\.h5: cannot write checkpoint: extra key.*collide/);
    expect((await readFile(path)).equals(before)).toBe(true);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('SIGKILL during repeated writes never leaves an unreadable file', async () => {
    const spec = initialModel(2);
    const path = join(dir, 'killed.h5');
    const layers = randomKerasWeights(spec, kerasLayerNames(spec), random);
    await writeKerasWeights(path, { layers, extra: { version: -1 } });
    const child = `
      const { readKerasWeights, writeKerasWeights } = await import(${JSON.stringify(new URL('../src/io/keras-hdf5.ts', import.meta.url).pathname)});
      const ckpt = await readKerasWeights(${JSON.stringify(path)});
      for (let version = 0; ; version++) { await writeKerasWeights(${JSON.stringify(path)}, { ...ckpt, extra: { version } }); if (version === 0) console.log('writing'); }`;
    for (let kill = 0; kill < 3; kill++) {
      const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child], { stdio: ['ignore', 'pipe', 'inherit'] });
      const started = await new Promise<boolean>((done) => {
        proc.stdout.once('data', () => done(true));
        proc.once('exit', () => done(false));
      });
      expect(started, 'the writing process exited before its first write').toBe(true);
      await new Promise((done) => setTimeout(done, 50 + random() * 400));
      proc.kill('SIGKILL');
      await new Promise((done) => proc.once('exit', done));
      const ckpt = await readKerasWeights(path);
      expectSameWeights(ckpt.layers, layers);
      expect(ckpt.extra!.version).toBeGreaterThanOrEqual(0);
    }
  });
});

describe('model_config', () => {
  it('the paper networks: Keras class names and fields, first layer with batch_input_shape', () => {
    const initial = kerasModelConfig('initial', 2);
    expect(initial.class_name).toBe('Sequential');
    expect(initial.config.layers.map((l) => l.class_name)).toEqual(['Conv2D', 'MaxPooling2D', 'Conv2D', 'MaxPooling2D', 'Conv2D', 'MaxPooling2D', 'Flatten', 'Dense', 'Dense']);
    expect(initial.config.layers[0].config).toMatchObject({ name: 'conv2d_1', batch_input_shape: [null, 69, 69, 3], filters: 32, kernel_size: [3, 3], padding: 'same', activation: 'relu' });
    expect(initial.config.layers[1].config).toMatchObject({ name: 'max_pooling2d_1', pool_size: [2, 2], strides: [2, 2], padding: 'same' });
    expect(initial.config.layers[8].config).toMatchObject({ name: 'dense_2', units: 2, activation: 'softmax' });
    expect(initial.config.layers.slice(1).every((l) => !('batch_input_shape' in l.config))).toBe(true);

    const tuned = kerasModelConfig('tuned', 3);
    expect(tuned.config.layers.map((l) => l.class_name)).toEqual(['Conv2D', 'LeakyReLU', 'MaxPooling2D', 'Dropout', 'Conv2D', 'LeakyReLU', 'MaxPooling2D', 'Dropout', 'Conv2D', 'LeakyReLU', 'MaxPooling2D', 'Dropout', 'Flatten', 'Dense', 'LeakyReLU', 'Dropout', 'Dense']);
    expect(tuned.config.layers.map((l) => l.config.rate ?? l.config.alpha ?? l.config.activation ?? null)).toEqual(['relu', 0.1, null, 0.25, 'linear', 0.1, null, 0.25, 'linear', 0.1, null, 0.4, null, 'linear', 0.1, 0.3, 'softmax']);
    expect(tuned.config.layers[16].config).toMatchObject({ name: 'dense_2', units: 3 });
  });

  it('parses back to the spec for both networks, 2, 3 and 10 classes, also from a JSON string', () => {
    for (const name of ['initial', 'tuned'] as const) {
      for (const classes of [2, 3, 10]) {
        expect(parseKerasModelConfig(kerasModelConfig(name, classes))).toEqual(modelSpec(name, classes));
        expect(parseKerasModelConfig(JSON.stringify(kerasModelConfig(name, classes)))).toEqual(modelSpec(name, classes));
      }
    }
  });

  it('reads separate Activation, ReLU and Softmax layers, and Keras 2.0 configs that are a bare layer list', () => {
    const layers = [
      { class_name: 'Conv2D', config: { name: 'c', batch_input_shape: [null, 9, 9, 1], filters: 8, kernel_size: [5, 5], padding: 'same', activation: 'linear' } },
      { class_name: 'Activation', config: { name: 'a', activation: 'relu' } },
      { class_name: 'ReLU', config: { name: 'r', max_value: null, negative_slope: 0.2, threshold: 0 } },
      { class_name: 'Flatten', config: { name: 'f' } },
      { class_name: 'Dense', config: { name: 'd', units: 1 } },
      { class_name: 'Activation', config: { name: 'l', activation: 'linear' } },
      { class_name: 'Activation', config: { name: 's', activation: 'sigmoid' } },
    ];
    expect(parseKerasModelConfig({ class_name: 'Sequential', config: layers })).toEqual({
      inputShape: [9, 9, 1],
      layers: [
        { type: 'conv2d', name: 'c', filters: 8, kernelSize: [5, 5], strides: [1, 1], padding: 'same', useBias: true, activation: 'linear' },
        { type: 'activation', name: 'a', activation: 'relu' },
        { type: 'leakyrelu', name: 'r', alpha: 0.2 },
        { type: 'flatten', name: 'f' },
        { type: 'dense', name: 'd', units: 1, useBias: true, activation: 'linear' },
        { type: 'activation', name: 'l', activation: 'linear' },
        { type: 'activation', name: 's', activation: 'sigmoid' },
      ],
    });
    expect(parseKerasModelConfig({ class_name: 'Sequential', config: { layers: [{ class_name: 'InputLayer', config: { name: 'in', batch_input_shape: [null, 4, 4, 2] } }, { class_name: 'Softmax', config: { name: 's', axis: -1 } }] } })).toEqual({
      inputShape: [4, 4, 2],
      layers: [{ type: 'activation', name: 's', activation: 'softmax' }],
    });
  });

  it('reads the general layers with Keras defaults: valid padding, strides, pools, BatchNormalization, no bias, ints for pairs', () => {
    const layers = [
      { class_name: 'Conv2D', config: { name: 'conv2d_1', batch_input_shape: [null, 12, 10, 2], filters: 4, kernel_size: 2, strides: 2, use_bias: false, activation: 'tanh' } },
      { class_name: 'BatchNormalization', config: { name: 'batch_normalization_1', axis: [3], momentum: 0.9, epsilon: 0.001, center: true, scale: false } },
      { class_name: 'AveragePooling2D', config: { name: 'average_pooling2d_1', pool_size: [3, 3], strides: [1, 1], padding: 'same' } },
      { class_name: 'MaxPooling2D', config: { name: 'max_pooling2d_1', pool_size: 2 } },
      { class_name: 'Flatten', config: { name: 'flatten_1' } },
      { class_name: 'Dense', config: { name: 'dense_1', units: 1, activation: 'sigmoid' } },
    ];
    expect(parseKerasModelConfig({ class_name: 'Sequential', config: { layers } })).toEqual({
      inputShape: [12, 10, 2],
      layers: [
        { type: 'conv2d', filters: 4, kernelSize: [2, 2], strides: [2, 2], padding: 'valid', useBias: false, activation: 'tanh' },
        { type: 'batchnorm', momentum: 0.9, epsilon: 0.001, center: true, scale: false },
        { type: 'avgpool2d', poolSize: [3, 3], strides: [1, 1], padding: 'same' },
        { type: 'maxpool2d', poolSize: [2, 2], strides: [2, 2], padding: 'valid' },
        { type: 'flatten' },
        { type: 'dense', units: 1, useBias: true, activation: 'sigmoid' },
      ],
    });
    const spec = parseKerasModelConfig({ class_name: 'Sequential', config: { layers } });
    expect(parseKerasModelConfig(kerasModelConfigOf(spec))).toEqual(spec);
  });

  it('rejects what Handscan cannot run, naming the layer', () => {
    const parse = (layers: object[], className = 'Sequential') => () => parseKerasModelConfig({ class_name: className, config: { layers } });
    const conv = (extra: object) => ({ class_name: 'Conv2D', config: { name: 'conv2d_1', batch_input_shape: [null, 69, 69, 3], filters: 32, kernel_size: [3, 3], padding: 'same', activation: 'relu', ...extra } });
    expect(parse([conv({})], 'Functional')).toThrow('only Sequential models are supported, this is "Functional"');
    expect(parse([conv({}), { class_name: 'SeparableConv2D', config: { name: 'separable_conv2d_1' } }])).toThrow("model_config: layer 2 'separable_conv2d_1' (SeparableConv2D): is not supported: Handscan runs Conv2D, MaxPooling2D, AveragePooling2D, BatchNormalization");
    expect(parse([conv({ padding: 'causal' })])).toThrow("layer 1 'conv2d_1' (Conv2D): padding \"causal\" is not supported, only 'valid' and 'same'");
    expect(parse([conv({ dilation_rate: [2, 2] })])).toThrow('dilation_rate [2,2] is not supported');
    expect(parse([conv({ kernel_size: [3, 9] })])).toThrow('kernel_size [3,9] is not supported: each side must be 1 to 7');
    expect(parse([conv({ strides: [0, 1] })])).toThrow('strides [0,1] is not a positive integer or a pair of them');
    expect(parse([conv({ activation: 'elu' })])).toThrow('activation "elu" is not supported');
    expect(parse([conv({ data_format: 'channels_first' })])).toThrow('data_format "channels_first" is not supported');
    expect(parse([conv({ batch_input_shape: undefined })])).toThrow('the first layer needs batch_input_shape [null, H, W, C], found null');
    expect(parse([conv({}), { class_name: 'BatchNormalization', config: { name: 'b', axis: 1 } }])).toThrow("layer 2 'b' (BatchNormalization): axis 1 is not supported, only the last (channels) axis");
    expect(parse([conv({}), { class_name: 'Dense', config: { name: 'd', units: 2 } }])).toThrow("layer 2 'd' (Dense): needs a flat input: add a Flatten before it");
    expect(parse([conv({}), { class_name: 'Flatten', config: { name: 'f' } }, { class_name: 'MaxPooling2D', config: { name: 'p' } }])).toThrow("layer 3 'p' (MaxPooling2D): needs an image input, but it follows a Flatten");
    expect(parse([conv({}), { class_name: 'Dropout', config: { name: 'd', rate: 1 } }])).toThrow('rate 1 is not in [0, 1)');
    expect(parse([conv({}), conv({ name: 'conv2d_2' })])).toThrow('an input shape on a layer other than the first');
  });
});

describe('errors: one line naming the file', () => {
  const spec = initialModel(2);
  const goodPath = join(dir, 'good.h5');
  const good = () => writeKerasWeights(goodPath, { layers: randomKerasWeights(spec, kerasLayerNames(spec), random), modelConfig: kerasModelConfig('initial', 2) });

  async function expectReadError(path: string, message: RegExp): Promise<void> {
    const error = await readKerasWeights(path).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error, `reading ${path} should fail`).toBeInstanceOf(Error);
    expect(error!.message).toMatch(message);
    expect(error!.message).not.toContain('\n');
  }

  it('missing file, a folder, a text file, a truncated file', async () => {
    await good();
    await expectReadError(join(dir, 'nope.h5'), /nope\.h5: no such file$/);
    await expectReadError(dir, /: not a file$/);
    await writeFile(join(dir, 'text.h5'), 'not an HDF5 file at all\n'.repeat(100));
    await expectReadError(join(dir, 'text.h5'), /text\.h5: not an HDF5 file, or a damaged one \(H5Fopen\(\)/);
    await copyFile(goodPath, join(dir, 'truncated.h5'));
    await truncate(join(dir, 'truncated.h5'), 40_000);
    await expectReadError(join(dir, 'truncated.h5'), /truncated\.h5: not an HDF5 file, or a damaged one/);
  });

  it('an HDF5 file that is not a Keras weight file', async () => {
    const path = join(dir, 'plain.h5');
    const file = new h5wasm.File(path, 'w');
    file.create_dataset({ name: 'images', data: new Uint8Array(12), shape: [1, 2, 2, 3] });
    file.close();
    await expectReadError(path, /plain\.h5: not a Keras 2 weight file: no layer_names attribute at \/ or \/model_weights$/);
  });

  it('a missing weight, a missing layer group, a non-float weight, a bad model_config', async () => {
    const layers = randomKerasWeights(spec, kerasLayerNames(spec), random);
    type File = InstanceType<typeof h5wasm.File>;
    const replaceStrings = (g: Group, name: string, values: string[]) => {
      g.delete_attribute(name);
      g.create_attribute(name, values, [values.length], `S${Math.max(...values.map((v) => v.length))}`);
    };
    const variants: [string, (f: File) => void, RegExp][] = [
      ['missing-weight', (f) => replaceStrings(f.get('model_weights/conv2d_2') as Group, 'weight_names', ['conv2d_2/kernel:0', 'conv2d_2/gamma:0']), /missing weight \/model_weights\/conv2d_2\/conv2d_2\/gamma:0$/],
      ['missing-layer', (f) => replaceStrings(f.get('model_weights') as Group, 'layer_names', ['conv2d_1', 'conv2d_9']), /layer 'conv2d_9' is listed in layer_names but \/model_weights\/conv2d_9 is missing$/],
      [
        'int-weight',
        (f) => {
          replaceStrings(f.get('model_weights/dense_2') as Group, 'weight_names', ['dense_2/kernel:0', 'dense_2/scale:0']);
          (f.get('model_weights/dense_2/dense_2') as Group).create_dataset({ name: 'scale:0', data: new Int32Array([1]) });
        },
        /weight \/model_weights\/dense_2\/dense_2\/scale:0 is not float32 or float64/,
      ],
      ['bad-config', (f) => f.create_attribute('model_config', '{"class_name": "Sequ', null, 'S20'), /the model_config attribute is not valid JSON/],
    ];
    for (const [name, damage, message] of variants) {
      const path = join(dir, `${name}.h5`);
      await writeKerasWeights(path, { layers });
      const file = new h5wasm.File(path, 'a');
      damage(file);
      file.close();
      await expectReadError(path, message);
    }
  });

  it('bad checkpoints are refused before anything is written', async () => {
    const layers = randomKerasWeights(spec, kerasLayerNames(spec), random);
    const path = join(dir, 'refused.h5');
    const wrongShape = layers.map((l) => (l.name === 'dense_1' ? { ...l, weights: [{ ...l.weights[0], shape: [10368, 64] }, l.weights[1]] } : l));
    await expect(writeKerasWeights(path, { layers: wrongShape })).rejects.toThrow('refused.h5: cannot write checkpoint: layer dense_1/kernel: 1327104 values for shape [10368,64]');
    await expect(writeKerasWeights(path, { layers, modelConfig: kerasModelConfig('tuned', 2) })).rejects.toThrow(/model_config names layers \[conv2d_1, leaky_re_lu_1, .*\] but the weights are for \[conv2d_1, max_pooling2d_1, /);
    await expect(writeKerasWeights(path, { layers: [...layers, layers[0]] })).rejects.toThrow("layer name 'conv2d_1' appears twice");
    await expect(writeKerasWeights(path, { layers, extra: { m: new Float64Array(2) } })).rejects.toThrow('extra.m: only top-level Float32Array values are stored as arrays');
    await expect(writeKerasWeights(join(dir, 'no-such-folder', 'x.h5'), { layers })).rejects.toThrow(/x\.h5: cannot write checkpoint: /);
    expect((await readdir(dir)).filter((f) => f.includes('refused'))).toEqual([]);
  });
});
