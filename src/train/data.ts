// The data of a run: the user's file, folder or pattern, or the built-in simulated survey.
import type { Dataset } from '../data/dataset.ts';
import { loadDataset, type LoadOptions } from '../data/load.ts';
import { defaultSurvey } from '../data/default-survey.ts';

/** options (preprocess, resize, onSkipped) go to loadDataset; the simulated survey is uint8 69×69×3, so only 'scale255' suits it. */
export async function loadRunData(path: string | null, options: LoadOptions = {}): Promise<{ dataset: Dataset; simulated: boolean }> {
  if (path !== null) return { dataset: await loadDataset(path, options), simulated: false };
  return { dataset: await loadDataset(await defaultSurvey(), options), simulated: true };
}
