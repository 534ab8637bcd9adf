/**
 * The verification policy constants both the verify agent and the stack read (the stack sizes the execution timeout
 * from them): a module with no imports, so synth loads no agent code.
 */

/** Extra checks granted when the last verdict is "not yet" (too few fresh minutes, or converging). */
export const GRACE_CHECKS = 1;
