// Opt-in training augmentation: the eight symmetries of the square (identity,
// three rotations by 90 degrees, and each of those mirrored). The sky has no
// preferred orientation in a cutout, so a flipped or rotated cutout is as
// plausible as the original, and every transform only moves pixels: no
// interpolation, no new values.
import type { Random } from './random.ts';

export const TRANSFORM_COUNT = 8;

/**
 * For transform k (0-7) of an S×S image, the source pixel (row-major index)
 * of each output pixel. Bit 2 of k mirrors left-right, then bits 0-1 rotate
 * by k mod 4 quarter turns counter-clockwise; k = 0 is the identity.
 */
export function sourcePixels(k: number, size: number): Int32Array {
  const table = new Int32Array(size * size);
  const last = size - 1;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      // Undo the rotation, then the mirror, to find where (y, x) came from.
      let sy = y;
      let sx = x;
      for (let r = 0; r < (k & 3); r++) {
        const t = sy;
        sy = sx;
        sx = last - t;
      }
      if (k & 4) sx = last - sx;
      table[y * size + x] = sy * size + sx;
    }
  }
  return table;
}

/** One seeded transform per sample of a batch; 0 (identity) is one of the eight. */
export function drawTransforms(random: Random, count: number, out = new Uint8Array(count)): Uint8Array {
  for (let i = 0; i < count; i++) out[i] = random.int(TRANSFORM_COUNT);
  return out;
}
