import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { Config } from '../../functions/core/config.ts';
import { type Access, FUNCTIONS } from '../../functions/registry.ts';
import { METRICS_NAMESPACE } from '../../lib/incident-functions.ts';
import { logicalIdOf } from '../../lib/nag-acknowledgements.ts';
import { actionsAllowed, arnOf, ref, resourceOf, resourcesAllowed, statementsOfRole, SYNTH_TIMEOUT_MS, synthStack, type Synth } from './fixture.ts';

let synth: Synth;
beforeAll(() => {
  synth = synthStack();
}, SYNTH_TIMEOUT_MS);

const fnOf = (name: string) => synth.stack.functions.get(name);
const propsOf = (name: string) => resourceOf(synth, fnOf(name)).Properties;
const envOf = (name: string) => (propsOf(name).Environment as { Variables: Record<string, unknown> }).Variables;
const statementsOf = (name: string) => statementsOfRole(synth, fnOf(name).role!);

/** Actions each access kind may add to a role; anything else on a function role is a grant nobody asked for. */
const ACTIONS_OF: Record<Access, RegExp> = {
  'table:read': /^dynamodb:(BatchGetItem|ConditionCheckItem|DescribeTable|GetItem|GetRecords|GetShardIterator|Query|Scan)$/,
  'table:write': /^dynamodb:(BatchGetItem|BatchWriteItem|ConditionCheckItem|DeleteItem|DescribeTable|GetItem|GetRecords|GetShardIterator|PutItem|Query|Scan|UpdateItem)$/,
  'table:openings': /^dynamodb:(GetItem|PutItem|UpdateItem|Query)$/,
  'sfn:start': /^states:(StartExecution|DescribeExecution)$/,
  'sfn:start-only': /^states:StartExecution$/,
  'sfn:respond': /^states:(SendTaskSuccess|SendTaskFailure|SendTaskHeartbeat)$/,
  'events:put': /^events:PutEvents$/,
  'secret:webhook': /^secretsmanager:(GetSecretValue|DescribeSecret)$/,
  'secret:retool': /^secretsmanager:(GetSecretValue|DescribeSecret)$/,
  'ssm:automation': /^(ssm:(StartAutomationExecution|GetAutomationExecution|AddTagsToResource)|iam:PassRole)$/,
  'secret:actions-webhook': /^secretsmanager:(GetSecretValue|DescribeSecret)$/,
};
const BASE_ACTIONS = /^(logs:(CreateLogStream|PutLogEvents)|xray:(PutTraceSegments|PutTelemetryRecords))$/;

describe('IncidentFunctions', () => {
  it('builds one Lambda function per registry entry (besides CDK\'s own handler of the console\'s deployment)', () => {
    const ours = Object.entries(synth.template.findResources('AWS::Lambda::Function')).filter(([id]) => !id.startsWith('CustomCDKBucketDeployment'));
    expect(ours.map(([id]) => id).sort()).toEqual(FUNCTIONS.map((f) => logicalIdOf(synth.stack.functions.get(f.name))).sort());
  });

  it('runs every function on nodejs22.x, arm64, with active X-Ray tracing and JSON logs', () => {
    const lambdas = synth.template.findResources('AWS::Lambda::Function', {
      Properties: { Runtime: 'nodejs22.x', Architectures: ['arm64'], TracingConfig: { Mode: 'Active' }, LoggingConfig: Match.objectLike({ LogFormat: 'JSON' }) },
    });
    expect(Object.keys(lambdas)).toHaveLength(FUNCTIONS.length);
  });

  it.each(FUNCTIONS.map((s) => [s.name, s] as const))('gives %s the memory, timeout and description of its spec', (name, spec) => {
    expect(propsOf(name)).toMatchObject({ MemorySize: spec.memoryMb, Timeout: spec.timeoutSeconds, Description: spec.description, Handler: 'index.handler' });
  });

  it.each(FUNCTIONS.map((s) => [s.name] as const))('logs %s to its own log group with a retention', (name) => {
    const logGroup = synth.stack.functions.logGroups.get(name)!;
    expect((propsOf(name).LoggingConfig as { LogGroup: unknown }).LogGroup).toEqual(ref(logGroup));
    expect(resourceOf(synth, logGroup).Properties.RetentionInDays).toBe(30);
  });

  it('gives no function role an AWS managed policy (each writes only to its own log group)', () => {
    for (const spec of FUNCTIONS) {
      const role = resourceOf(synth, fnOf(spec.name).role!);
      expect(role.Properties.ManagedPolicyArns, spec.name).toBeUndefined();
      expect(resourcesAllowed(statementsOf(spec.name), 'logs:PutLogEvents'), spec.name).toEqual([arnOf(synth.stack.functions.logGroups.get(spec.name)!)]);
    }
  });

  it.each(FUNCTIONS.map((s) => [s.name] as const))('gives %s an environment the functions\' Config schema accepts', (name) => {
    // Deploy-time references become plausible literals; what matters is that every required variable is there.
    const env = Object.fromEntries(Object.entries(envOf(name)).map(([k, v]) => [k, typeof v === 'string' ? v : k === 'API_BASE_URL' ? 'https://api.example/' : `resolved-${k}`]));
    const parsed = Config.safeParse(env);
    expect(parsed.error?.issues ?? []).toEqual([]);
  });

  it('points every function at the table, the bus and the Powertools namespace', () => {
    for (const spec of FUNCTIONS) {
      expect(envOf(spec.name), spec.name).toMatchObject({
        TABLE_NAME: ref(synth.stack.store.table),
        EVENT_BUS_NAME: ref(synth.stack.events.eventBus),
        POWERTOOLS_SERVICE_NAME: spec.name,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        VERIFY_WAIT_SECONDS: '120',
        MAX_VERIFY_CHECKS: '5',
      });
    }
  });

  it('tells exactly the functions that start executions the state machine ARN', () => {
    for (const spec of FUNCTIONS) {
      const expected = spec.access.includes('sfn:start') || spec.access.includes('sfn:start-only') ? ref(synth.stack.workflow.stateMachine) : undefined;
      expect(envOf(spec.name).STATE_MACHINE_ARN, spec.name).toEqual(expected);
    }
  });

  it('tells exactly the functions with secret access where their secrets are', () => {
    for (const spec of FUNCTIONS) {
      const env = envOf(spec.name);
      expect(env.WEBHOOK_SECRET_ID, spec.name).toEqual(spec.access.includes('secret:webhook') ? ref(synth.stack.webhookSecret) : undefined);
      expect(env.RETOOL_API_KEY_SECRET_ID, spec.name).toEqual(spec.access.includes('secret:retool') ? ref(synth.stack.retoolApiKey!) : undefined);
      expect(env.RETOOL_WORKFLOW_URL, spec.name).toEqual(spec.access.includes('secret:retool') ? 'https://api.retool.com/v1/workflows/0f3c6b1e/startTrigger' : undefined);
    }
  });

  it('lets ingest-alert start and describe executions of the incident workflow', () => {
    const statements = statementsOf('ingest-alert');
    expect(resourcesAllowed(statements, 'states:StartExecution')).toEqual([ref(synth.stack.workflow.stateMachine)]);
    expect(resourcesAllowed(statements, 'states:DescribeExecution')).toHaveLength(1);
  });

  it('lets decide-approval send task success and failure', () => {
    const actions = actionsAllowed(statementsOf('decide-approval'));
    expect(actions).toContain('states:SendTaskSuccess');
    expect(actions).toContain('states:SendTaskFailure');
  });

  it('gives query-incidents read access only', () => {
    const actions = [...actionsAllowed(statementsOf('query-incidents'))];
    expect(actions).toContain('dynamodb:Query');
    expect(actions.filter((a) => /^dynamodb:(PutItem|UpdateItem|DeleteItem|BatchWriteItem)$/.test(a) || /^(states|events|secretsmanager):/.test(a))).toEqual([]);
  });

  describe.each(FUNCTIONS.map((s) => [s.name, s] as const))('%s', (name, spec) => {
    const has = (access: Access) => spec.access.includes(access);

    it('has no action its access list does not grant', () => {
      const allowed = [BASE_ACTIONS, ...spec.access.map((a) => ACTIONS_OF[a])];
      const extra = [...actionsAllowed(statementsOf(name))].filter((action) => !allowed.some((re) => re.test(action)));
      expect(extra).toEqual([]);
    });

    it('may read the table exactly when its access list says so', () => {
      const expected = has('table:read') || has('table:write') || has('table:openings') ? arnOf(synth.stack.store.table) : undefined;
      expect(resourcesAllowed(statementsOf(name), 'dynamodb:GetItem')[0]).toEqual(expected);
    });

    it('may read the table in one BatchGetItem exactly when it may read it (the agents read the incident and earlier records so)', () => {
      const allowed = resourcesAllowed(statementsOf(name), 'dynamodb:BatchGetItem');
      if (has('table:read') || has('table:write')) expect(allowed).toContainEqual(arnOf(synth.stack.store.table));
      else expect(allowed).toEqual([]);
    });

    it('may write the table exactly when its access list says so', () => {
      expect(resourcesAllowed(statementsOf(name), 'dynamodb:PutItem').length > 0).toBe(has('table:write') || has('table:openings'));
    });

    it('may start executions exactly when its access list says so', () => {
      expect(resourcesAllowed(statementsOf(name), 'states:StartExecution').length > 0).toBe(has('sfn:start') || has('sfn:start-only'));
    });

    it('may answer task tokens exactly when its access list says so', () => {
      expect(resourcesAllowed(statementsOf(name), 'states:SendTaskSuccess').length > 0).toBe(has('sfn:respond'));
    });

    it('may put events on the incident bus exactly when its access list says so', () => {
      const expected = has('events:put') ? [arnOf(synth.stack.events.eventBus)] : [];
      expect(resourcesAllowed(statementsOf(name), 'events:PutEvents')).toEqual(expected);
    });

    it('may read exactly the secrets its access list names', () => {
      const expected = [
        ...(has('secret:webhook') ? [ref(synth.stack.webhookSecret)] : []),
        ...(has('secret:retool') ? [ref(synth.stack.retoolApiKey!)] : []),
      ];
      // CDK merges the statements of one role; their order is not the access list's.
      const byRef = (xs: unknown[]) => [...xs].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
      expect(byRef(resourcesAllowed(statementsOf(name), 'secretsmanager:GetSecretValue'))).toEqual(byRef(expected));
    });
  });
});

describe('IncidentFunctions without Retool', () => {
  let plain: Synth;
  beforeAll(() => {
    plain = synthStack({ retoolWorkflowUrl: undefined });
  }, SYNTH_TIMEOUT_MS);

  it('creates no Retool secret and leaves request-approval to approve through the API and signed links', () => {
    plain.template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    const fn = plain.stack.functions.get('request-approval');
    const env = (resourceOf(plain, fn).Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env.RETOOL_WORKFLOW_URL).toBeUndefined();
    // Only the webhook secret: the approval links are signed with a key derived from it.
    expect(resourcesAllowed(statementsOfRole(plain, fn.role!), 'secretsmanager:GetSecretValue')).toEqual([ref(plain.stack.webhookSecret)]);
  });
});
