import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { SECRET_HEADER } from '../../functions/core/http.ts';
import { AlertApi, type AlertApiProps, ReservedConcurrencyBelowBurst } from '../../lib/alert-api.ts';
import { logicalIdOf } from '../../lib/nag-acknowledgements.ts';
import { arnOf, ref, resourceOf, SYNTH_TIMEOUT_MS, synthStack, type Synth } from './fixture.ts';

let synth: Synth;
beforeAll(() => {
  synth = synthStack();
}, SYNTH_TIMEOUT_MS);

/** Route key → the function its integration invokes, and its authorization type. */
const routes = () => {
  const out = new Map<string, { fn: unknown; auth: unknown }>();
  for (const [, r] of Object.entries(synth.resources).filter(([, r]) => r.Type === 'AWS::ApiGatewayV2::Route')) {
    const target = r.Properties.Target as { 'Fn::Join': [string, [string, { Ref: string }]] };
    const integration = synth.resources[target['Fn::Join'][1][1].Ref];
    out.set(r.Properties.RouteKey as string, { fn: integration.Properties.IntegrationUri, auth: r.Properties.AuthorizationType });
  }
  return out;
};

describe('AlertApi', () => {
  it('is one HTTP API', () => {
    synth.template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    synth.template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
  });

  it.each([
    ['POST /alerts/{source}', 'ingest-alert'],
    ['GET /incidents', 'query-incidents'],
    ['GET /incidents/{id}', 'query-incidents'],
    ['POST /incidents/{id}/approval', 'decide-approval'],
    ['POST /incidents/{id}/rerun', 'rerun-incident'],
    ['GET /approvals/{token}', 'approval-page'],
    ['POST /approvals/{token}', 'approval-page'],
    ['GET /openapi.json', 'query-incidents'],
    ['GET /docs', 'query-incidents'],
    ['GET /incidents/{id}/signals', 'incident-signals'],
    ['GET /console/incidents/{id}/signals', 'incident-signals'],
    ['GET /admin/faults', 'manage-faults'],
    ['POST /admin/faults', 'manage-faults'],
    ['DELETE /admin/faults/{id}', 'manage-faults'],
    ['GET /console/incidents', 'query-incidents'],
    ['GET /console/incidents/{id}', 'query-incidents'],
    ['POST /console/incidents/{id}/approval', 'decide-approval'],
    ['POST /incidents/{id}/resolution', 'resolve-incident'],
    ['POST /console/incidents/{id}/resolution', 'resolve-incident'],
    ['GET /summary', 'query-incidents'],
    ['GET /console/summary', 'query-incidents'],
  ])('routes %s to %s', (routeKey, name) => {
    expect(routes().get(routeKey)?.fn).toEqual(arnOf(synth.stack.functions.get(name)));
  });

  it('has no route beyond the twenty-one', () => {
    expect(routes().size).toBe(21);
  });

  it('authorizes the fault-injection routes with the console JWT authorizer', () => {
    for (const key of ['GET /admin/faults', 'POST /admin/faults', 'DELETE /admin/faults/{id}']) expect(routes().get(key)?.auth, key).toBe('JWT');
  });

  it("authorizes the console's routes with the JWT authorizer", () => {
    for (const key of ['GET /console/incidents', 'GET /console/incidents/{id}', 'POST /console/incidents/{id}/approval']) expect(routes().get(key)?.auth, key).toBe('JWT');
  });

  it('authorizes the console\'s resolution and summary routes with the JWT authorizer', () => {
    for (const key of ['POST /console/incidents/{id}/resolution', 'GET /console/summary']) expect(routes().get(key)?.auth, key).toBe('JWT');
  });

  it('authorizes the read routes with IAM, the API description too', () => {
    expect(routes().get('GET /incidents')?.auth).toBe('AWS_IAM');
    expect(routes().get('GET /incidents/{id}')?.auth).toBe('AWS_IAM');
    expect(routes().get('GET /openapi.json')?.auth).toBe('AWS_IAM');
    expect(routes().get('GET /docs')?.auth).toBe('AWS_IAM');
    expect(routes().get('GET /incidents/{id}/signals')?.auth).toBe('AWS_IAM');
    expect(routes().get('GET /summary')?.auth).toBe('AWS_IAM');
  });

  it('leaves the webhook and approval routes to the shared-secret check of their functions', () => {
    for (const key of ['POST /alerts/{source}', 'POST /incidents/{id}/approval', 'POST /incidents/{id}/rerun', 'POST /incidents/{id}/resolution']) {
      expect(routes().get(key)?.auth, key).toBe('NONE');
    }
  });

  it('leaves the approval-link routes to the signed-token check of their function', () => {
    for (const key of ['GET /approvals/{token}', 'POST /approvals/{token}']) expect(routes().get(key)?.auth, key).toBe('NONE');
    expect(synth.stack.api.signedLinkRoutes).toHaveLength(2);
  });

  it('keeps the documented secret header name (vendors are configured with it)', () => {
    expect(SECRET_HEADER).toBe('x-autopilot-secret');
  });

  it('lets API Gateway invoke each API function from this API only', () => {
    for (const name of ['ingest-alert', 'query-incidents', 'decide-approval', 'rerun-incident', 'approval-page', 'incident-signals', 'resolve-incident']) {
      synth.template.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        FunctionName: arnOf(synth.stack.functions.get(name)),
        Principal: 'apigateway.amazonaws.com',
        SourceArn: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([ref(synth.stack.api.httpApi)])]) }),
      });
    }
  });

  it('throttles the auto-deployed $default stage', () => {
    expect(resourceOf(synth, synth.stack.api.stage).Properties).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
    });
  });

  it('throttles the webhook route on its own, both rate and burst, so a storm is answered 429 before any function runs', () => {
    synth.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      RouteSettings: { 'POST /alerts/{source}': { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 } },
    });
  });

  it('creates the stage after the webhook route (API Gateway refuses settings for a route it does not have)', () => {
    const webhookRouteIds = Object.entries(synth.resources)
      .filter(([, r]) => r.Type === 'AWS::ApiGatewayV2::Route' && r.Properties.RouteKey === 'POST /alerts/{source}')
      .map(([id]) => id);
    const stage = synth.template.toJSON().Resources[logicalIdOf(synth.stack.api.stage)] as { DependsOn?: string[] };
    expect(webhookRouteIds).toHaveLength(1);
    expect(stage.DependsOn).toEqual(expect.arrayContaining(webhookRouteIds));
  });

  it('reserves no concurrency for ingest-alert by default (a reservation takes from the account pool)', () => {
    expect(resourceOf(synth, synth.stack.functions.get('ingest-alert')).Properties.ReservedConcurrentExecutions).toBeUndefined();
  });

  it('writes access logs to its log group', () => {
    const settings = resourceOf(synth, synth.stack.api.stage).Properties.AccessLogSettings as { DestinationArn: unknown; Format: string };
    expect(settings.DestinationArn).toEqual(arnOf(synth.stack.api.accessLogGroup));
    expect(settings.Format).toContain('$context.requestId');
  });
});

describe('AlertApi load-shedding props', () => {
  /** An AlertApi alone, over inline functions (no bundling). */
  const alertApi = (props: Omit<AlertApiProps, 'routeFunction'>) => {
    const stack = new Stack(new App(), 'ApiOnly');
    const functions = new Map<string, LambdaFunction>();
    const routeFunction = (name: string) => {
      let fn = functions.get(name);
      if (!fn) {
        fn = new LambdaFunction(stack, name, { runtime: Runtime.NODEJS_22_X, handler: 'index.handler', code: Code.fromInline('exports.handler = async () => ({})') });
        functions.set(name, fn);
      }
      return fn;
    };
    // Load shedding only: the console's routes need a user pool, which these tests do not build.
    new AlertApi(stack, 'Api', { routeFunction, withoutConsoleRoutes: true, ...props });
    return { template: Template.fromStack(stack), ingest: () => functions.get('ingest-alert') as LambdaFunction };
  };

  it('takes the webhook route rate and burst from its props', () => {
    const { template } = alertApi({ webhookThrottleRateLimit: 5, webhookThrottleBurstLimit: 20 });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', { RouteSettings: { 'POST /alerts/{source}': { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 20 } } });
  });

  it('reserves the given concurrency for ingest-alert when asked', () => {
    const { template, ingest } = alertApi({ webhookThrottleBurstLimit: 20, ingestReservedConcurrency: 25 });
    template.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 25 });
    expect((template.toJSON().Resources[logicalIdOf(ingest())] as { Properties: Record<string, unknown> }).Properties.ReservedConcurrentExecutions).toBe(25);
  });

  it('refuses at synth a reserved concurrency below the webhook burst, which would turn 429s into 500s', () => {
    expect(() => alertApi({ webhookThrottleBurstLimit: 100, ingestReservedConcurrency: 10 })).toThrow(ReservedConcurrencyBelowBurst);
  });
});

describe('IncidentAutopilotStack outputs and secrets', () => {
  it.each(['ApiUrl', 'StateMachineArn', 'EventBusName', 'WebhookSecretArn', 'ConsoleUrl', 'ConsoleUserPoolId', 'ConsoleSignInUrl'])('outputs %s', (name) => {
    synth.template.hasOutput(name, {});
  });

  it('outputs the values the CLI needs', () => {
    const outputs = (synth.template.toJSON() as { Outputs: Record<string, { Value: unknown }> }).Outputs;
    expect(outputs.StateMachineArn.Value).toEqual(ref(synth.stack.workflow.stateMachine));
    expect(outputs.EventBusName.Value).toEqual(ref(synth.stack.events.eventBus));
    expect(outputs.WebhookSecretArn.Value).toEqual(ref(synth.stack.webhookSecret));
    expect(JSON.stringify(outputs.ApiUrl.Value)).toContain(JSON.stringify(ref(synth.stack.api.httpApi)));
  });

  it('generates a 40-character webhook secret without punctuation', () => {
    expect(resourceOf(synth, synth.stack.webhookSecret).Properties.GenerateSecretString).toEqual({ PasswordLength: 40, ExcludePunctuation: true });
  });

  it('creates the Retool API key secret when a Retool workflow is configured', () => {
    synth.template.resourceCountIs('AWS::SecretsManager::Secret', 2);
    expect(synth.stack.retoolApiKey).toBeDefined();
  });
});
