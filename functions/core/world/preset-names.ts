/**
 * The names of the fault presets (presets.ts builds them): on their own so that the API's request schemas
 * (api/schemas.ts, read by every API function through the API description) do not pull the generator into every bundle.
 */
import * as z from 'zod';

export const PRESET_NAMES = ['latency-spike', 'error-rate', 'slow-database', 'memory-leak', 'dependency-down'] as const;
export const FaultPreset = z.enum(PRESET_NAMES, { error: (issue) => `unknown preset ${JSON.stringify(issue.input)}: one of ${PRESET_NAMES.join(', ')}` });
export type FaultPreset = z.infer<typeof FaultPreset>;
