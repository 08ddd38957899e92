// Every tolerance of the suite, in one place (as llm.c and tfjs keep theirs).

/** GPU float32 against the float64 CPU reference: ‖gpu − cpu‖ / ‖cpu‖. */
export const GPU_VS_CPU = 1e-4;
/** CPU reference backward against central finite differences in float64. */
export const FINITE_DIFFERENCES = 1e-6;
/** Optimizer updates against hand-computed Keras 2 formulas. */
export const OPTIMIZER = 1e-6;
/** Central-difference step for float64 finite differences. */
export const FD_STEP = 1e-5;
