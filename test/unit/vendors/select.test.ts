import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../functions/core/config.ts';
import { ToolUnavailable } from '../../../functions/core/tools/ports.ts';
import { toolsRuntime } from '../../../functions/core/tools/runtime.ts';
import { MemoryWorldStore } from '../../../functions/core/world/world-store.ts';
import { DynatraceTelemetry } from '../../../functions/core/tools/vendors/dynatrace.ts';
import { PagerDutyOnCall } from '../../../functions/core/tools/vendors/pagerduty.ts';
import { ServiceNowChanges } from '../../../functions/core/tools/vendors/servicenow.ts';
import { SplunkLogs } from '../../../functions/core/tools/vendors/splunk.ts';
import { rejectionOf, useFakeVendor } from './fake-vendor.ts';

/** The tools through the adapter table (functions/core/tools/runtime.ts), as a function builds them at cold start. */
const toolsFromEnv = (env: Record<string, string>, s: { getSecret: (id: string) => Promise<string> }) => toolsRuntime(env, { getSecret: s.getSecret, worlds: new MemoryWorldStore() });

const secrets = (values: Record<string, string>) => {
  const asked: string[] = [];
  return {
    asked,
    getSecret: async (id: string) => {
      asked.push(id);
      const v = values[id];
      if (v === undefined) throw new Error(`secret ${id} not found`);
      return v;
    },
  };
};

describe('unit: the tools runtime chooses vendor adapters per port', () => {
  // Changed by issue 10 ("the seam first"): with no vendor variables a port was the simulated world; now it is the
  // simulated world only where the deployment chose it (TOOLS_DEFAULT=simulated), else a reported gap.
  it('serves no port when no vendor variables are set and the simulator is not chosen, and every port from the simulator when it is', () => {
    expect(toolsFromEnv({}, secrets({})).sources).toEqual({ telemetry: 'none', changes: 'none', logs: 'none', oncall: 'none', actions: 'none' });
    expect(toolsFromEnv({ TOOLS_DEFAULT: 'simulated' }, secrets({})).sources).toEqual({ telemetry: 'simulated', changes: 'simulated', logs: 'simulated', oncall: 'simulated', actions: 'simulated' });
  });

  it('builds each configured adapter and keeps the chosen default for the rest', async () => {
    const env = {
      DYNATRACE_URL: 'https://abc12345.live.dynatrace.com',
      DYNATRACE_TOKEN_SECRET_ID: 'autopilot/dynatrace',
      SPLUNK_URL: 'https://splunk.example.com:8089',
      SPLUNK_TOKEN_SECRET_ID: 'autopilot/splunk',
      SPLUNK_INDEX: 'prod',
      TOOLS_DEFAULT: 'simulated',
    };
    const runtime = toolsFromEnv(env, secrets({}));
    expect(await runtime.adapter('telemetry')).toBeInstanceOf(DynatraceTelemetry);
    expect(await runtime.adapter('logs')).toBeInstanceOf(SplunkLogs);
    expect(runtime.sources).toMatchObject({ telemetry: 'dynatrace', logs: 'splunk', changes: 'simulated', oncall: 'simulated', actions: 'simulated' });
  });

  it('accepts ServiceNow with basic auth or a token, and PagerDuty with only its token', async () => {
    const basic = toolsFromEnv({ SERVICENOW_URL: 'https://acme.service-now.com', SERVICENOW_USER: 'autopilot', SERVICENOW_PASSWORD_SECRET_ID: 'sn/pw', PAGERDUTY_TOKEN_SECRET_ID: 'pd' }, secrets({}));
    expect(await basic.adapter('changes')).toBeInstanceOf(ServiceNowChanges);
    expect(await basic.adapter('oncall')).toBeInstanceOf(PagerDutyOnCall);
    const token = toolsFromEnv({ SERVICENOW_URL: 'https://acme.service-now.com', SERVICENOW_TOKEN_SECRET_ID: 'sn/token' }, secrets({}));
    expect(await token.adapter('changes')).toBeInstanceOf(ServiceNowChanges);
  });

  it.each([
    [{ DYNATRACE_URL: 'https://abc.live.dynatrace.com' }, /DYNATRACE_TOKEN_SECRET_ID must be set for the Dynatrace adapter/],
    [{ SPLUNK_TOKEN_SECRET_ID: 'x' }, /SPLUNK_URL must be set for the Splunk adapter/],
    [{ SERVICENOW_URL: 'https://acme.service-now.com' }, /SERVICENOW_TOKEN_SECRET_ID or SERVICENOW_USER \+ SERVICENOW_PASSWORD_SECRET_ID must be set/],
    [{ SERVICENOW_URL: 'https://acme.service-now.com', SERVICENOW_USER: 'u' }, /SERVICENOW_PASSWORD_SECRET_ID must be set/],
    [{ SERVICENOW_TOKEN_SECRET_ID: 't' }, /SERVICENOW_URL must be set/],
    [{ PAGERDUTY_URL: 'https://api.eu.pagerduty.com' }, /PAGERDUTY_TOKEN_SECRET_ID must be set/],
    [{ DYNATRACE_URL: 'http://dynatrace.internal', DYNATRACE_TOKEN_SECRET_ID: 'x' }, /DYNATRACE_URL must use https/],
    [{ PAGERDUTY_TOKEN_SECRET_ID: 'x', TOOLS_HTTP_RETRIES: '9' }, /TOOLS_HTTP_RETRIES must be an integer between 0 and 5, got "9"/],
    [{ SERVICENOW_URL: 'https://a.service-now.com', SERVICENOW_TOKEN_SECRET_ID: 't', SERVICENOW_READ_ONLY: 'yes' }, /SERVICENOW_READ_ONLY must be true or false/],
  ])('rejects an incomplete or invalid configuration %j with a ConfigError naming the variable', (env, message) => {
    expect(() => toolsFromEnv(env, secrets({}))).toThrow(ConfigError);
    expect(() => toolsFromEnv(env, secrets({}))).toThrow(message);
  });

  describe('secrets', () => {
    const fake = useFakeVendor();

    it('reads the token through getSecret per request, never from the environment', async () => {
      fake.always('GET', '/services', { status: 200, json: { services: [], more: false } });
      const s = secrets({ 'autopilot/pagerduty': 'pd-secret-1' });
      const { tools } = toolsFromEnv({ PAGERDUTY_TOKEN_SECRET_ID: 'autopilot/pagerduty', PAGERDUTY_URL: fake.url }, s);

      await tools.oncall.getOwnership({ services: ['a'] });

      expect(s.asked).toEqual(['autopilot/pagerduty']);
      expect(fake.received[0].headers.authorization).toBe('Token token=pd-secret-1');
    });

    it('turns an unreadable secret into ToolUnavailable naming the secret id only', async () => {
      const s = secrets({});
      const { tools } = toolsFromEnv({ SPLUNK_URL: fake.url, SPLUNK_TOKEN_SECRET_ID: 'autopilot/splunk' }, s);

      const error = await rejectionOf(tools.logs.search({ from: '2024-05-01T12:00:00Z', to: '2024-05-01T12:10:00Z', services: ['a'] }));

      expect(error).toBeInstanceOf(ToolUnavailable);
      expect(error.message).toBe('Splunk unavailable: cannot read the token: secret autopilot/splunk not found');
      expect(fake.received).toHaveLength(0);
    });
  });
});

describe('unit: secretsManagerGetter', () => {
  it('reads each secret id once within the TTL', async () => {
    const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
    const { secretsManagerGetter } = await import('../../../functions/core/secrets.ts');
    const client = new SecretsManagerClient({ region: 'us-east-1' });
    const asked: string[] = [];
    // A minimal stand-in for the SDK's send (no aws-sdk-client-mock: it patches every client in the worker).
    client.send = (async (command: InstanceType<typeof GetSecretValueCommand>) => {
      asked.push(command.input.SecretId ?? '');
      return { SecretString: `value-of-${command.input.SecretId}` };
    }) as typeof client.send;
    const getSecret = secretsManagerGetter(client);

    const values = [await getSecret('a'), await getSecret('a'), await getSecret('b')];

    expect(values).toEqual(['value-of-a', 'value-of-a', 'value-of-b']);
    expect(asked).toEqual(['a', 'b']);
  });

  it('names the secret id when Secrets Manager refuses, since its own message may not', async () => {
    const { SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
    const { secretsManagerGetter } = await import('../../../functions/core/secrets.ts');
    const { SecretUnavailable } = await import('../../../functions/core/secrets.ts');
    const client = new SecretsManagerClient({ region: 'us-east-1' });
    client.send = (async () => {
      throw Object.assign(new Error("Secrets Manager can't find the specified secret."), { name: 'ResourceNotFoundException' });
    }) as typeof client.send;

    const error = await rejectionOf(secretsManagerGetter(client)('autopilot/splunk'));

    expect(error).toBeInstanceOf(SecretUnavailable);
    expect(error.message).toBe("secret autopilot/splunk cannot be read: ResourceNotFoundException: Secrets Manager can't find the specified secret.");
  });
});
