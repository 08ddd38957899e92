// `handscan export`: write a checkpoint's model as an ONNX file that ONNX
// Runtime (and the alert brokers that run their models through it) scores
// as Handscan does: the same probabilities, the preprocessing named beside
// them. Needs no GPU: the weights only pass through the CPU reference.
import { readFileSync } from 'node:fs';
import { NETWORK_STEPS } from '../../data/samples.ts';
import { UsageError } from '../../errors.ts';
import { writeFileAtomic } from '../../io/atomic-file.ts';
import { exportOnnx, INPUT_NAME, onnxGraphOf, OUTPUT_NAME } from '../../io/onnx-export.ts';
import { LAYOUTS, type Layout } from '../../io/onnx-layout.ts';
import { DEFAULT_OPSET, MAX_OPSET, MIN_OPSET } from '../../io/onnx-proto.ts';
import { checkOutputFile } from '../../io/output-path.ts';
import { cpuBackend } from '../../kernels/cpu-backend.ts';
import { parseKerasModelConfig } from '../../nn/keras-config.ts';
import { modelSpec } from '../../nn/models.ts';
import { loadCheckpoint, modelFromCheckpoint } from '../checkpoint.ts';
import { numberOption, parseOptions, type Command } from '../command.ts';
import { preprocessOption } from '../config.ts';
import { MODEL_CHOICES, resolveModel } from '../model-choice.ts';
import { probabilityColumns } from '../scoring.ts';

const help = `handscan export: write a model as ONNX, for ONNX Runtime and the brokers that run it

usage: tsx src/train/main.ts export --weights FILE --out FILE.onnx [options]

options:
  --weights FILE          a Handscan checkpoint, a Keras 2 HDF5 file or an ONNX model
  --out FILE.onnx         where to write
  --opset N               the ONNX opset, ${MIN_OPSET} to ${MAX_OPSET} [${DEFAULT_OPSET}]
  --layout nhwc|nchw      the input: N×H×W×C images as Handscan's, or N×C×H×W [nhwc]
  --model NAME|FILE.json  the architecture when the file has no model_config: ${MODEL_CHOICES} [initial]
                          (a built-in network at its own input size: 69×69×3, braai 63×63×3)
  --preprocess NAME       ${NETWORK_STEPS.join(', ')}: the step recorded with the model
                          [the checkpoint's own, else scale255]

The graph takes '${INPUT_NAME}' (float32, any batch size, after the preprocessing step; a graph
model's inputs keep their own names) and gives
'${OUTPUT_NAME}' (the softmax or sigmoid applied). Its metadata_props record preprocess, classes
(the probabilities' names, as predict's columns: p_real for a one-unit sigmoid) and layout.

example:
  tsx src/train/main.ts export --weights test/fixtures/braai/d6_m7.h5 --preprocess braai-rows --out d6_m7.onnx`;

async function run(argv: string[]): Promise<void> {
  const { values } = parseOptions('export', argv, {
    weights: { type: 'string' },
    out: { type: 'string' },
    opset: { type: 'string' },
    layout: { type: 'string' },
    model: { type: 'string' },
    preprocess: { type: 'string' },
  });
  for (const required of ['weights', 'out'] as const) {
    if (!values[required]) throw new UsageError(`export: --${required} is required (see \`handscan export --help\`)`);
  }
  const opset = numberOption('export', 'opset', values.opset, DEFAULT_OPSET, (v) => Number.isInteger(v) && v >= MIN_OPSET && v <= MAX_OPSET, `an integer in ${MIN_OPSET}..${MAX_OPSET}`);
  const layout = (values.layout ?? 'nhwc') as Layout;
  if (!LAYOUTS.includes(layout)) throw new UsageError(`export: --layout must be one of ${LAYOUTS.join(', ')}, got '${values.layout}'`);
  const architecture = resolveModel('export', values.model);
  const chosen = values.preprocess === undefined ? null : preprocessOption('export', values.preprocess, 'scale255');
  checkOutputFile('export', 'out', values.out!);
  const weights = values.weights!;
  const ckpt = await loadCheckpoint(weights);
  // Without data to take a size from, a built-in network has its own, a Keras architecture file the one it names.
  const fallback = (classes: number) => (architecture.builtIn ? modelSpec(architecture.builtIn, classes) : parseKerasModelConfig(readFileSync(architecture.label, 'utf8')));
  const model = modelFromCheckpoint(weights, ckpt, cpuBackend, fallback);
  const preprocess = chosen ?? ckpt.preprocess ?? 'scale255';
  const classes = probabilityColumns(model.classes).names.map((n) => `p_${n}`);
  const bytes = exportOnnx(model.architecture, await model.getWeights(), { layout, opset, preprocess, classes });
  await writeFileAtomic(values.out!, bytes);
  const shapes = onnxGraphOf(model.architecture).inputs.map(({ name, shape: [H, W, C] }) => `'${name}' ${C === undefined ? `N×${H}` : layout === 'nhwc' ? `N×${H}×${W}×${C}` : `N×${C}×${H}×${W}`}`);
  console.log(`wrote ${values.out} (${(bytes.length / 1e6).toFixed(1)} MB, opset ${opset}): ${shapes.join(', ')} after ${preprocess} → '${OUTPUT_NAME}' ${classes.join(', ')}`);
}

const command: Command = { name: 'export', help, run };
export default command;
