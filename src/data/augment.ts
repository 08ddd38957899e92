// Opt-in training augmentation: the eight symmetries of the square (identity,
// three rotations by 90 degrees, and each of those mirrored). The sky has no
// preferred orientation in a cutout, so a flipped or rotated cutout is as
// plausible as the original, and every transform only moves pixels: no
// interpolation, no new values. An image that is not square keeps its shape
// under four of them only, identity, the 180° rotation and the two mirrors
// (k = 0, 2, 4, 6), and those are the ones drawn for it.
import type { Random } from './random.ts';

export const TRANSFORM_COUNT = 8;
/** The transforms that keep an H×W image H×W when H ≠ W: identity, 180°, mirror left-right, mirror top-bottom. */
export const SHAPE_KEEPING_TRANSFORMS: readonly number[] = [0, 2, 4, 6];

/**
 * For transform k (0-7) of an H×W image (W = H unless given), the source
 * pixel (row-major index) of each output pixel. Bit 2 of k mirrors
 * left-right, then bits 0-1 rotate by k mod 4 quarter turns
 * counter-clockwise; k = 0 is the identity. A quarter turn (k odd) of a
 * non-square image would change its shape, and is refused.
 */
export function sourcePixels(k: number, height: number, width = height): Int32Array {
  if (!(Number.isInteger(k) && k >= 0 && k < TRANSFORM_COUNT)) throw new RangeError(`sourcePixels: transform ${k} is not one of 0-7`);
  if (height !== width && k % 2 === 1) {
    throw new RangeError(`sourcePixels: transform ${k} turns a ${height}×${width} image by a quarter, which changes its shape; non-square images take transforms ${SHAPE_KEEPING_TRANSFORMS.join(', ')} only`);
  }
  const table = new Int32Array(height * width);
  const lastRow = height - 1;
  const lastCol = width - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      // Undo the rotation, then the mirror, to find where (y, x) came from.
      let sy = y;
      let sx = x;
      if (height === width) {
        for (let r = 0; r < (k & 3); r++) {
          const t = sy;
          sy = sx;
          sx = lastCol - t;
        }
      } else if ((k & 3) === 2) {
        // Two quarter turns of a square; the same half turn of any H×W image.
        sy = lastRow - y;
        sx = lastCol - x;
      }
      if (k & 4) sx = lastCol - sx;
      table[y * width + x] = sy * width + sx;
    }
  }
  return table;
}

/**
 * One seeded transform per sample of a batch; 0 (identity) is one of them.
 * For square images (the default) any of the eight; otherwise one of the
 * four that keep the shape, SHAPE_KEEPING_TRANSFORMS.
 */
export function drawTransforms(random: Random, count: number, out = new Uint8Array(count), square = true): Uint8Array {
  for (let i = 0; i < count; i++) out[i] = square ? random.int(TRANSFORM_COUNT) : SHAPE_KEEPING_TRANSFORMS[random.int(SHAPE_KEEPING_TRANSFORMS.length)];
  return out;
}
