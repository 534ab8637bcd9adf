import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { SYNTH_TIMEOUT_MS, synthStack, type Synth } from './fixture.ts';

/** cdk-nag's AWS Solutions findings that are neither fixed nor acknowledged, as `rule @ construct path` lines. */
const findings = (synth: Synth): string[] =>
  new AwsSolutionsChecks(undefined, { verbose: true })
    .validateScope(synth.app)
    .violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} @ ${r.constructPath}`));

describe('cdk-nag AwsSolutions', () => {
  let withRetool: Synth;
  beforeAll(() => {
    // As `cdk synth` builds it, CloudFormation schema validation included: an invalid template throws here.
    withRetool = synthStack({}, { validate: true });
  }, SYNTH_TIMEOUT_MS);

  it('finds nothing unacknowledged in the stack with Retool configured', () => {
    expect(findings(withRetool)).toEqual([]);
  });

  it('finds nothing unacknowledged in the stack without Retool', () => {
    expect(findings(synthStack({ retoolWorkflowUrl: undefined }))).toEqual([]);
  }, SYNTH_TIMEOUT_MS);

  it('still reports a wildcard no allowance explains', () => {
    const synth = synthStack({}, {
      beforeSynth: (stack) => stack.functions.get('query-incidents').addToRolePolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] })),
    });
    expect(findings(synth)).toEqual(['AwsSolutions-IAM5[Resource::*] @ IncidentAutopilot/Functions/QueryIncidentsRole/DefaultPolicy/Resource']);
  }, SYNTH_TIMEOUT_MS);
});
