// The data of a run: the user's file or folder, or the built-in simulated survey.
import type { Dataset } from '../data/dataset.ts';
import { loadDataset } from '../data/load.ts';
import { defaultSurvey } from '../data/default-survey.ts';

export async function loadRunData(path: string | null): Promise<{ dataset: Dataset; simulated: boolean }> {
  if (path !== null) return { dataset: await loadDataset(path), simulated: false };
  return { dataset: await loadDataset(await defaultSurvey()), simulated: true };
}
