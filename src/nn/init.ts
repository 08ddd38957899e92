// Seeded weight initialisation, as Keras: Glorot-uniform kernels, zero biases.

/** mulberry32: small, fast and seedable; plenty for initialisation. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Glorot & Bengio (2010) uniform: U(−l, l) with l = sqrt(6 / (fan_in + fan_out)).
 * For a conv kernel K×K×C×F Keras takes fan_in = K·K·C and fan_out = K·K·F;
 * for a dense kernel K×M, fan_in = K and fan_out = M.
 */
export function glorotUniform(shape: readonly number[], random: () => number): Float32Array {
  const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  const fanIn = receptive * shape[shape.length - 2];
  const fanOut = receptive * shape[shape.length - 1];
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < out.length; i++) out[i] = (2 * random() - 1) * limit;
  return out;
}
