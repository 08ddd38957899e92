// The "retrain" action: the server fine-tunes the current checkpoint on the
// labels file (`train --init-weights … --labels …`, a new run) while the page
// polls its progress; when it is done the server has switched to the new
// weights, and the page reloads them and scores again.
import { api, type RetrainStatus } from './api.ts';

const POLL_MS = 1000;

/** Starts a retrain (`epochs`: train's own when undefined) and follows it to its end, showing each poll's lines; resolves with the final status. */
export async function retrain(epochs: number | undefined, show: (status: RetrainStatus) => void): Promise<RetrainStatus> {
  await api.startRetrain(epochs);
  for (;;) {
    const status = await api.retrain();
    show(status);
    if (status.state !== 'running') return status;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** How many candidates a new scoring moved across the threshold, each way. */
export function movedAcross(before: ArrayLike<number>, after: ArrayLike<number>, threshold: number): { up: number; down: number } {
  let [up, down] = [0, 0];
  for (let i = 0; i < before.length; i++) {
    const [was, is] = [before[i] >= threshold, after[i] >= threshold];
    if (!was && is) up++;
    else if (was && !is) down++;
  }
  return { up, down };
}
