// The data layer's seeded random numbers: the simulator, the split and the
// augmentation draw from independent streams, so a sample's pixels depend
// only on (seed, sample index), never on how many samples came before it.

/** splitmix32 finaliser (after Steele, Lea & Flood 2014): spreads a 32-bit input over all bits. */
function mix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x21f0aaad);
  x = Math.imul(x ^ (x >>> 15), 0x735a2d97);
  return (x ^ (x >>> 15)) >>> 0;
}

/**
 * sfc32 (Chris Doty-Humphrey's PractRand "small fast chaotic" generator):
 * 128 bits of state, passes PractRand, a few integer operations per draw.
 * `stream` picks an independent sequence for the same seed.
 */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare = NaN;

  constructor(seed: number, stream = 0) {
    const s = mix32(seed >>> 0);
    const t = mix32(s ^ mix32(stream >>> 0));
    this.a = s;
    this.b = t;
    this.c = mix32(t ^ 0x5bd1e995);
    this.d = 1;
    // The first outputs of a fresh sfc32 state are correlated with the seed.
    for (let i = 0; i < 12; i++) this.next();
  }

  /** 32 random bits, as an unsigned integer. */
  bits(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.bits() / 4294967296;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** Index drawn with probability proportional to `weights`. */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let u = this.next() * total;
    for (let k = 0; k < weights.length; k++) {
      u -= weights[k];
      if (u < 0) return k;
    }
    return weights.length - 1;
  }

  /** Standard normal, Box-Muller (the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.spare === this.spare) {
      const v = this.spare;
      this.spare = NaN;
      return v;
    }
    const u = 1 - this.next(); // (0, 1]: log(0) never happens
    const r = Math.sqrt(-2 * Math.log(u));
    const phi = 2 * Math.PI * this.next();
    this.spare = r * Math.sin(phi);
    return r * Math.cos(phi);
  }

  /** Log-normal with the given median and spread in dex (log10 standard deviation). */
  logNormal(median: number, dex: number): number {
    return median * 10 ** (dex * this.normal());
  }

  /** Poisson by Knuth's product of uniforms: the means used here are small. */
  poisson(mean: number): number {
    const limit = Math.exp(-mean);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }

  /** Fisher-Yates, in place. */
  shuffle<T extends { length: number; [i: number]: unknown }>(items: T): T {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
    return items;
  }
}
