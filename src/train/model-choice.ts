// What `--model` names: one of the built-in networks (src/nn/models.ts), or
// a Keras Sequential architecture JSON file, as braai ships
// (`*.architecture.json`, the output of Keras's model.to_json()). Either
// becomes a spec at the data's input shape and the run's class count.
import { readFileSync } from 'node:fs';
import { InputError, UsageError } from '../errors.ts';
import { parseKerasModelConfig } from '../nn/keras-config.ts';
import { MODEL_NAMES, modelSpec, type ModelName } from '../nn/models.ts';
import type { ModelSpec } from '../nn/spec.ts';

export interface ModelChoice {
  /** The built-in name, or the file's path. */
  label: string;
  /** The built-in model this is, if any (its training protocol and the paper's figures follow from it). */
  builtIn: ModelName | null;
  /** The network for `classes` outputs at the data's `inputShape`; an InputError when a file's network does not fit them. */
  spec(classes: number, inputShape: readonly [number, number, number]): ModelSpec;
}

const shown = (s: readonly number[]) => s.join('×');

export const MODEL_CHOICES = `${MODEL_NAMES.join(', ')} or a Keras architecture .json file`;

export function resolveModel(command: string, value: string | undefined): ModelChoice {
  const name = value ?? 'initial';
  if ((MODEL_NAMES as readonly string[]).includes(name)) {
    const builtIn = name as ModelName;
    return { label: builtIn, builtIn, spec: (classes, inputShape) => modelSpec(builtIn, classes, [...inputShape]) };
  }
  if (!name.endsWith('.json')) throw new UsageError(`${command}: --model must be ${MODEL_CHOICES}, got '${name}'`);
  let text: string;
  try {
    text = readFileSync(name, 'utf8');
  } catch (e) {
    throw new InputError(`${name}: cannot read the architecture file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); expected a Keras model.to_json() file`);
  }
  let spec: ModelSpec;
  try {
    spec = parseKerasModelConfig(text);
  } catch (e) {
    throw new InputError(`${name}: ${(e as Error).message}`);
  }
  return {
    label: name,
    builtIn: null,
    spec(_classes, inputShape) {
      if (shown(spec.inputShape) !== shown(inputShape)) throw new InputError(`${name}: the network takes ${shown(spec.inputShape)} inputs, but the data are ${shown(inputShape)}`);
      return spec;
    },
  };
}
