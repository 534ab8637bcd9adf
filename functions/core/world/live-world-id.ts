/**
 * The simulated world `autopilot serve` keeps running for the console's demo: the detector watches it, and faults are
 * injected into it (POST /admin/faults). Also the `environment` of the incidents opened on it. On its own so that the
 * CLI (lib/local/constants.ts re-exports it) does not load the world model to know a name.
 */
export const LIVE_WORLD_ID = 'live';
