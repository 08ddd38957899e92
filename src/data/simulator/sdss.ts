// Facts about the SDSS-II camera and site that the simulator is built on
// (REFERENCE.md, "Facts for a faithful simulator", and the SDSS DR7 imaging
// documentation). Fluxes are in nanomaggies (nmgy): 1 nmgy is AB magnitude
// 22.5, the unit of SDSS's calibrated frames.

/** Indices of the three passbands of a composite, in the order the simulator keeps them. */
export const G = 0;
export const R = 1;
export const I = 2;

/** Effective wavelengths (nm): diffraction spikes scale with wavelength. */
export const WAVELENGTH_NM = [477, 623, 763];

/** Arcseconds per pixel. */
export const PIXEL_SCALE = 0.396;

/**
 * Seconds after the r exposure at which each band is exposed: the camera's
 * drift scan crosses the filters in the order r, i, u, z, g, 71.7 s apart,
 * so a moving object shows at three places in a g, r, i composite.
 */
export const BAND_DELAY_S = [4 * 71.7, 0, 71.7];
/** Exposure time of each band (the drift-scan crossing time). */
export const EXPOSURE_S = 53.9;

/** Median seeing, FWHM in arcseconds. */
export const MEDIAN_SEEING = 1.4;

/**
 * Single-epoch point-source depth (AB mag) in g, r, i: the survey's 95%
 * completeness limits, taken here as the 5σ detection limit in median
 * seeing, which fixes each band's sky noise.
 */
export const LIMITING_MAGNITUDE = [22.2, 22.2, 21.3];

/** Electrons per nanomaggy (gain over the frames' nmgy-per-count calibration), for photon noise. */
export const ELECTRONS_PER_NMGY = [950, 1070, 800];

/**
 * Full well in nmgy per pixel: SDSS saturates at about magnitude 14 in g, r
 * and i alike, i.e. a star's central pixel fills near r = 14.1 in median
 * seeing. Charge beyond it bleeds along the CCD column.
 */
export const FULL_WELL = [140, 140, 140];

export function fluxOfMagnitude(magnitude: number): number {
  return 10 ** (-0.4 * (magnitude - 22.5));
}
