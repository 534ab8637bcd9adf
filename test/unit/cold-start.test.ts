/**
 * What a workflow function loads at cold start. Imports the handler in a fresh Node process with a resolve
 * hook that records every `@aws-sdk/*` module asked for, so a static import that drags an unused SDK client
 * into every function's init shows up here.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const PROBE = `
import { registerHooks } from 'node:module';
const seen = new Set();
registerHooks({ resolve(specifier, context, next) { if (specifier.startsWith('@aws-sdk/')) seen.add(specifier); return next(specifier, context); } });
await import(process.argv[1]);
console.log(JSON.stringify([...seen]));
`;

const coldStart = (handler: string, env: Record<string, string> = {}): { sdk: string[]; output: string } => {
  const entry = fileURLToPath(new URL(`../../functions/${handler}/handler.ts`, import.meta.url));
  const out = execFileSync(process.execPath, ['--input-type=module', '--no-warnings', '-e', PROBE, entry], {
    env: { ...process.env, TABLE_NAME: 'incidents', AWS_REGION: 'us-east-1', POWERTOOLS_DEV: 'true', POWERTOOLS_LOG_LEVEL: 'INFO', ...env },
    encoding: 'utf8',
  });
  return { sdk: JSON.parse(out.trim().split('\n').at(-1) ?? '[]') as string[], output: out };
};
const sdkModulesLoadedBy = (handler: string, env: Record<string, string> = {}): string[] => coldStart(handler, env).sdk;

describe('unit: cold start of a workflow function', () => {
  it('loads the DynamoDB client but not the EventBridge or SSM clients it never uses', () => {
    const loaded = sdkModulesLoadedBy('triage');
    expect(loaded).toContain('@aws-sdk/client-dynamodb');
    expect(loaded).not.toContain('@aws-sdk/client-eventbridge');
    expect(loaded).not.toContain('@aws-sdk/client-ssm');
  }, 30_000);

  it('with TOOLS_DEFAULT=aws loads none of the AWS adapters\' clients until a tool is called', () => {
    const loaded = sdkModulesLoadedBy('analyze-impact', { TOOLS_DEFAULT: 'aws' });
    for (const client of ['xray', 'cloudwatch', 'cloudwatch-logs', 'cloudtrail', 'codedeploy', 'resource-groups-tagging-api', 'lambda', 'ecs', 'appconfig']) {
      expect(loaded).not.toContain(`@aws-sdk/client-${client}`);
    }
  }, 30_000);

  it('says once which adapter serves each port, and which ports are unconfigured', () => {
    const { output } = coldStart('triage', { TOOLS_DEFAULT: 'simulated' });
    const line = output.split('\n').find((l) => l.includes('"tool adapters"'));
    expect(line, output).toBeDefined();
  }, 30_000);
});
