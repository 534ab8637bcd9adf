/** Names and fake identities of the laptop twin's AWS services. Any static credentials work locally. */
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_CREDENTIALS = { accessKeyId: 'autopilot-local', secretAccessKey: 'autopilot-local' } as const;

export const TABLE_NAME = 'incident-autopilot';
export const EVENT_BUS_NAME = 'incident-autopilot';
export const STATE_MACHINE_NAME = 'incident-response';
export const STATE_MACHINE_ARN = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${STATE_MACHINE_NAME}`;
export const WEBHOOK_SECRET_ID = 'incident-autopilot/webhook';

export const lambdaArn = (functionName: string): string => `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${functionName}`;
export const executionArn = (name: string): string => `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:${STATE_MACHINE_NAME}:${name}`;

/** The default port of `autopilot serve` (the API Gateway stand-in). */
export const DEFAULT_PORT = 8787;
/** The largest request body the local API accepts (API Gateway HTTP APIs cap payloads too). */
export const MAX_API_BODY_BYTES = 1024 * 1024;

/**
 * The simulated world `autopilot serve` keeps running for the console's demo: the detector watches it, and faults are
 * injected into it (POST /admin/faults). Also the `environment` of the incidents opened on it.
 */
export { LIVE_WORLD_ID } from '../../functions/core/world/live-world-id.ts';
