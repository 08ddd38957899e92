// Which candidates the scanner sees, and in what order: by score (highest or
// lowest first), by uncertainty (most uncertain first), or by id; optionally
// only those without a label; and only those whose score lies in a band, e.g.
// 0.3-0.7 around the operating threshold. Ties keep id order.
export type OrderBy = 'score-desc' | 'score-asc' | 'uncertainty' | 'id';

export interface Ordering {
  by: OrderBy;
  unlabelledOnly: boolean;
  /** Scores from band[0] to band[1], both included. */
  band: [number, number];
}

export interface Candidates {
  ids: readonly string[];
  /** p(real) per candidate, null until scored. */
  scores: ArrayLike<number> | null;
  /** The uncertainty per candidate, null until computed. */
  uncertainty: ArrayLike<number> | null;
  labelled(index: number): boolean;
}

const byId = new Intl.Collator('en', { numeric: true }).compare;

/** The indices of the candidates to scan, in scanning order. */
export function orderCandidates(c: Candidates, o: Ordering): number[] {
  const [lo, hi] = o.band;
  const keep = (i: number) => (!o.unlabelledOnly || !c.labelled(i)) && (c.scores === null || (c.scores[i] >= lo && c.scores[i] <= hi));
  const indices = c.ids.map((_, i) => i).filter(keep);
  const key: ((i: number) => number) | null =
    o.by === 'score-desc' && c.scores ? (i) => -c.scores![i] : o.by === 'score-asc' && c.scores ? (i) => c.scores![i] : o.by === 'uncertainty' && c.uncertainty ? (i) => -c.uncertainty![i] : null;
  return indices.sort((a, b) => (key ? key(a) - key(b) : 0) || byId(c.ids[a], c.ids[b]));
}
