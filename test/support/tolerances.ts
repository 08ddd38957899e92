// Every tolerance of the suite, in one place (as llm.c and tfjs keep theirs).

/** GPU float32 against the float64 CPU reference: ‖gpu − cpu‖ / ‖cpu‖. */
export const GPU_VS_CPU = 1e-4;
/** CPU reference backward against central finite differences in float64. */
export const FINITE_DIFFERENCES = 1e-6;
/** Optimizer updates against hand-computed Keras 2 formulas. */
export const OPTIMIZER = 1e-6;
/** Central-difference step for float64 finite differences. */
export const FD_STEP = 1e-5;
/** One or two float32 roundings, relative (2 ulp): exact float32 arithmetic. */
export const FLOAT32_ROUNDING = 2 ** -22;
/** Dropout's kept fraction over ≥ 1e6 elements against 1 − rate, relative (over 10 standard deviations). */
export const DROPOUT_FRACTION = 0.01;
/**
 * The step for the paper's full networks: a conv1 weight moves ~150,000 units
 * downstream, and at 1e-5 a fifth to half of the samples push one of them
 * across a ReLU kink or max-pool tie; at 1e-6 about one in twenty-five does,
 * and float64 rounding still stays near 1e-8 relative.
 */
export const FD_STEP_FULL_NETWORK = 1e-6;
