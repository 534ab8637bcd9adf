/**
 * The adapter table and the tools runtime built through it (functions/core/tools/adapters.ts, runtime.ts): every
 * row's settings refuse a partial configuration naming the variable, each port is served by the row configured or
 * chosen for it, the simulated world only when chosen, an unconfigured port is a gap naming the variables to set,
 * and an adapter is imported and built on first use only.
 */
import { describe, expect, it } from 'vitest';
import { EvidenceLog } from '../../../functions/core/agents/runtime.ts';
import { ConfigError } from '../../../functions/core/config.ts';
import { ADAPTERS, type AdapterRow, parseSettings, type Port, PORT_METHODS, PORTS } from '../../../functions/core/tools/adapters.ts';
import { ToolUnavailable } from '../../../functions/core/tools/ports.ts';
import { PortNotConfigured, toolsRuntime } from '../../../functions/core/tools/runtime.ts';
import { MemoryWorldStore } from '../../../functions/core/world/world-store.ts';

const context = () => ({ getSecret: async (id: string) => `value-of-${id}`, worlds: new MemoryWorldStore() });
const errorOf = (fn: () => unknown): Error => {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('no error');
};

/** A plausible value for one variable of a row, on its own. */
const plausible = (name: string): string => {
  if (name.endsWith('_URL')) return 'https://tools.example.com';
  if (name === 'SSM_AUTOMATION_DOCUMENTS') return '{"rollback-change":"Autopilot-Rollback"}';
  if (name === 'SSM_AUTOMATION_ASSUME_ROLE_ARN') return 'arn:aws:iam::111122223333:role/Autopilot';
  if (/_(SECONDS|MS|RETRIES)$/.test(name)) return '2';
  return `autopilot/${name.toLowerCase()}`;
};

/** A complete configuration of each configurable row. */
const COMPLETE: Readonly<Record<string, Record<string, string>>> = {
  dynatrace: { DYNATRACE_URL: 'https://abc12345.live.dynatrace.com', DYNATRACE_TOKEN_SECRET_ID: 'dt' },
  servicenow: { SERVICENOW_URL: 'https://acme.service-now.com', SERVICENOW_TOKEN_SECRET_ID: 'sn' },
  splunk: { SPLUNK_URL: 'https://splunk.example.com:8089', SPLUNK_TOKEN_SECRET_ID: 'sp' },
  pagerduty: { PAGERDUTY_TOKEN_SECRET_ID: 'pd' },
  'ssm-automation': { SSM_AUTOMATION_DOCUMENTS: '{"rollback-change":"Autopilot-Rollback"}' },
  'actions-webhook': { ACTIONS_WEBHOOK_URL: 'https://deploy.example.com/autopilot', ACTIONS_WEBHOOK_SECRET_ID: 'wh' },
};
const configurable = ADAPTERS.filter((r) => r.selectors.length > 0);

describe('unit: the adapter table', () => {
  it('has one row per adapter, each serving known ports and declaring its IAM', () => {
    expect(ADAPTERS.map((r) => r.name)).toEqual([
      'simulated', 'recorded', 'dynatrace', 'servicenow', 'splunk', 'pagerduty', 'ssm-automation', 'actions-webhook',
      'aws-telemetry', 'aws-logs', 'aws-changes', 'aws-oncall', 'aws-actions',
    ]);
    for (const r of ADAPTERS) {
      expect(r.ports.length, r.name).toBeGreaterThan(0);
      expect(r.ports.every((p) => PORTS.includes(p)), r.name).toBe(true);
      // The recorded replay reads the process's memory or a directory on disk: nothing IAM governs.
      if (r.name !== 'recorded') expect(r.iam.length, r.name).toBeGreaterThan(0);
      // Every variable an IAM need reads is one of the row's own.
      for (const need of r.iam) if ('variable' in need) expect(r.variables, r.name).toContain(need.variable);
    }
    expect(Object.keys(COMPLETE).sort()).toEqual(configurable.map((r) => r.name).sort());
  });

  it('has one aws row per port, so TOOLS_DEFAULT=aws serves every port from the account', () => {
    const aws = ADAPTERS.filter((r) => r.family === 'aws');
    expect(aws.flatMap((r) => r.ports).sort()).toEqual([...PORTS].sort());
    for (const r of aws) {
      expect(r.selectors, r.name).toEqual([]);
      expect(r.stackSetting, r.name).toBe('tools');
    }
  });

  describe.each(configurable.map((r) => [r.name, r] as const))('row %s', (_name, row: AdapterRow) => {
    it.each(row.selectors.map((v) => [v] as const))('refuses %s alone unless it is a complete configuration, naming a variable to set', (variable) => {
      // Prepare
      const env = { [variable]: plausible(variable) };
      const complete = row.configureWith.length === 1 && row.configureWith[0] === variable;
      // Act
      const act = () => parseSettings(row, env);
      // Assess
      if (complete) {
        expect(act).not.toThrow();
        return;
      }
      const error = errorOf(act);
      expect(error).toBeInstanceOf(ConfigError);
      const unset = row.variables.filter((v) => v !== variable);
      expect(unset.some((v) => error.message.includes(v)), error.message).toBe(true);
    });

    it.each(row.ports.map((p) => [p] as const))('serves %s when configured, and leaves the other ports unserved', (port) => {
      const { sources } = toolsRuntime(COMPLETE[row.name]!, context());
      expect(sources[port]).toBe(row.name);
      for (const other of PORTS.filter((p) => !row.ports.includes(p))) expect(sources[other]).toBe('none');
    });
  });
});

describe('unit: choosing the simulated world', () => {
  it('is never the fallback: with nothing configured or chosen, every port is unserved', () => {
    expect(Object.values(toolsRuntime({}, context()).sources)).toEqual(PORTS.map(() => 'none'));
  });

  it.each(PORTS.map((p) => [p] as const))('TOOLS_%s=simulated chooses it for that port only', (port) => {
    const { sources } = toolsRuntime({ [`TOOLS_${port.toUpperCase()}`]: 'simulated' }, context());
    expect(sources).toEqual(Object.fromEntries(PORTS.map((p) => [p, p === port ? 'simulated' : 'none'])));
  });

  it('TOOLS_DEFAULT=simulated serves every port no adapter configures; a configured adapter still wins', () => {
    const { sources } = toolsRuntime({ TOOLS_DEFAULT: 'simulated', ...COMPLETE.splunk }, context());
    expect(sources).toEqual({ telemetry: 'simulated', changes: 'simulated', logs: 'splunk', oncall: 'simulated', actions: 'simulated' });
  });

  it.each([
    [{ TOOLS_DEFAULT: 'simulator' }, /TOOLS_DEFAULT must name an adapter \(simulated, recorded, dynatrace, .*\) or a family of adapters \(aws\), got "simulator"/],
    [{ TOOLS_LOGS: 'dynatrace', ...COMPLETE.dynatrace }, /TOOLS_LOGS=dynatrace, but the Dynatrace adapter does not serve logs/],
    [{ TOOLS_TELEMETRY: 'simulated', ...COMPLETE.dynatrace }, /TOOLS_TELEMETRY=simulated, but DYNATRACE_URL, DYNATRACE_TOKEN_SECRET_ID configure the Dynatrace adapter for telemetry: choose one/],
    [{ TOOLS_ONCALL: 'pagerduty' }, /PAGERDUTY_TOKEN_SECRET_ID must be set for the PagerDuty adapter/],
  ])('refuses a contradictory or unknown choice %j with a ConfigError naming the variable', (env, message) => {
    const error = errorOf(() => toolsRuntime(env, context()));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(message);
  });
});

describe('unit: choosing the aws family', () => {
  it('TOOLS_DEFAULT=aws serves every port from the account, each through the family\'s row for it', () => {
    const { sources } = toolsRuntime({ TOOLS_DEFAULT: 'aws' }, context());
    expect(sources).toEqual({ telemetry: 'aws-telemetry', changes: 'aws-changes', logs: 'aws-logs', oncall: 'aws-oncall', actions: 'aws-actions' });
  });

  it('a vendor configured for a port wins over the family for that port only', () => {
    const { sources } = toolsRuntime({ TOOLS_DEFAULT: 'aws', ...COMPLETE.splunk }, context());
    expect(sources.logs).toBe('splunk');
    expect(sources.telemetry).toBe('aws-telemetry');
  });

  it('TOOLS_<PORT> may name the family too, and then chooses only that port', () => {
    const { sources } = toolsRuntime({ TOOLS_TELEMETRY: 'aws' }, context());
    expect(sources).toEqual({ telemetry: 'aws-telemetry', changes: 'none', logs: 'none', oncall: 'none', actions: 'none' });
  });
});

describe('unit: an unconfigured port is a reported gap', () => {
  it.each(PORTS.map((p) => [p] as const))('every %s method fails with PortNotConfigured naming the port and the variables to set', async (port: Port) => {
    const { tools } = toolsRuntime({}, context());
    for (const method of PORT_METHODS[port]) {
      const call = (tools[port] as unknown as Record<string, (q: unknown) => Promise<unknown>>)[method]!;
      const error = await call({}).then(
        () => undefined,
        (e: unknown) => e as PortNotConfigured,
      );
      expect(error, method).toBeInstanceOf(PortNotConfigured);
      expect(error).toBeInstanceOf(ToolUnavailable);
      expect(error?.port).toBe(port);
      expect(error?.message).toContain(`${port} unavailable: no ${port} adapter is configured`);
      expect(error?.variables).toContain(`TOOLS_${port.toUpperCase()}`);
    }
  });

  it('becomes a gap evidence item that names the variables, as an agent records it', async () => {
    // Prepare
    const { tools } = toolsRuntime({ TOOLS_LOGS: 'simulated' }, context());
    const evidence = new EvidenceLog();
    // Act
    const topology = await evidence.call('telemetry', () => tools.telemetry.getTopology({ services: ['checkout'] }));
    // Assess
    expect(topology).toBeUndefined();
    expect(evidence.items).toEqual([
      {
        id: 'gap:telemetry',
        kind: 'gap',
        source: 'telemetry',
        summary: 'telemetry unavailable: no telemetry adapter is configured: set DYNATRACE_URL + DYNATRACE_TOKEN_SECRET_ID (Dynatrace), or TOOLS_TELEMETRY=simulated for the simulated world',
      },
    ]);
  });
});

describe('unit: building adapters lazily', () => {
  const spyRow = (builds: string[], build: AdapterRow['build']): AdapterRow => ({ ...ADAPTERS.find((r) => r.name === 'simulated')!, build: build && ((s, c) => (builds.push('built'), build(s, c))) });

  it('parses settings at once but imports and builds an adapter on the first call only, once for all its ports', async () => {
    // Prepare
    const builds: string[] = [];
    const row = spyRow(builds, ADAPTERS[0]!.build);
    // Act
    const { tools } = toolsRuntime({ TOOLS_DEFAULT: 'simulated' }, context(), [row]);
    const before = [...builds];
    await tools.telemetry.getTopology({ environment: 'nowhere' }).catch(() => undefined);
    await tools.logs.search({ environment: 'nowhere', services: [], from: '2024-01-01T00:00:00Z', to: '2024-01-01T00:10:00Z' }).catch(() => undefined);
    // Assess
    expect(before).toEqual([]);
    expect(builds).toEqual(['built']);
  });

  it('fails at cold start when the chosen adapter was left out of the bundle, naming its switch', () => {
    const row = spyRow([], undefined);
    const error = errorOf(() => toolsRuntime({ TOOLS_DEFAULT: 'simulated' }, context(), [row]));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/the simulated world adapter is configured but this bundle was built without it \(process\.env\.AUTOPILOT_OMIT_SIMULATED\)/);
  });
});
