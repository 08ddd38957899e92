// What the CCDs add to the sky: saturation with bleed trails, and defective
// columns. (Cosmic rays are drawn with the scene primitives, in one band.)
import type { Scene } from './render.ts';
import { SIZE } from './render.ts';
import { FULL_WELL } from './sdss.ts';

/**
 * Clips every pixel at its band's full well. The charge beyond it spills
 * into the neighbouring pixels of the same CCD column, half up and half
 * down, filling each to the full well in turn: a bleed trail whose length
 * grows with the excess, different in each band. Charge leaving the cutout
 * is lost.
 */
export function saturate(scene: Scene): void {
  for (let b = 0; b < 3; b++) {
    const band = scene.bands[b];
    const full = FULL_WELL[b];
    for (let x = 0; x < SIZE; x++) {
      let y = 0;
      while (y < SIZE) {
        if (band[y * SIZE + x] <= full) {
          y++;
          continue;
        }
        // A run of saturated pixels [top, bottom].
        const top = y;
        let excess = 0;
        while (y < SIZE && band[y * SIZE + x] > full) {
          excess += band[y * SIZE + x] - full;
          band[y * SIZE + x] = full;
          y++;
        }
        const bottom = y - 1;
        let up = excess / 2;
        for (let t = top - 1; t >= 0 && up > 0; t--) {
          const room = full - band[t * SIZE + x];
          const moved = Math.min(up, Math.max(0, room));
          band[t * SIZE + x] += moved;
          up -= moved;
        }
        let down = excess / 2;
        for (let t = bottom + 1; t < SIZE && down > 0; t++) {
          const room = full - band[t * SIZE + x];
          const moved = Math.min(down, Math.max(0, room));
          band[t * SIZE + x] += moved;
          down -= moved;
        }
      }
    }
  }
}

/** A defective column segment in one band: `level` (nmgy, either sign) added to rows top-bottom of column x. */
export function badColumn(scene: Scene, band: number, x: number, top: number, bottom: number, level: number): void {
  for (let y = Math.max(0, top); y <= Math.min(SIZE - 1, bottom); y++) scene.bands[band][y * SIZE + x] += level;
}
