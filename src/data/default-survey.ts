// The built-in default data: the simulated survey with the paper's size and
// class counts, made once (about half a minute) and cached under data/ in
// the repository (git-ignored). The file name carries the simulator's
// version, so a changed simulator never reuses an old survey.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSdssHdf5 } from './hdf5.ts';
import { DEFAULT_DIFFICULTY, PAPER_COUNTS, SIMULATOR_VERSION, simulateSurvey } from './simulator/survey.ts';

/** Stripe 82, where the SDSS-II Supernova Survey looked. */
export const DEFAULT_SEED = 82;

const CACHE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'data');

function defaultSurveyPath(): string {
  return join(CACHE, `simulated-sdss-v${SIMULATOR_VERSION}-seed${DEFAULT_SEED}.hdf5`);
}

/** Path of the default survey, simulating and writing it first if it is not cached yet. */
export async function defaultSurvey(log: (line: string) => void = console.log): Promise<string> {
  const path = defaultSurveyPath();
  if (existsSync(path)) return path;
  mkdirSync(CACHE, { recursive: true });
  log(`simulating the default survey (${PAPER_COUNTS.reduce((a, b) => a + b, 0).toLocaleString('en-US')} cutouts, seed ${DEFAULT_SEED}) into ${path} ...`);
  const start = performance.now();
  const options = { seed: DEFAULT_SEED, counts: PAPER_COUNTS, difficulty: DEFAULT_DIFFICULTY };
  const survey = simulateSurvey(options);
  await writeSdssHdf5(path, survey, { simulator: `handscan v${SIMULATOR_VERSION}`, seed: DEFAULT_SEED, difficulty: DEFAULT_DIFFICULTY });
  log(`simulated in ${((performance.now() - start) / 1000).toFixed(1)} s`);
  return path;
}
