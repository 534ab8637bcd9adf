/**
 * Acknowledging cdk-nag's `AwsSolutions-IAM5` (wildcard permission) findings by *reason*, not by a list of
 * generated ids. Each finding is named after the flattened resource (`Resource::<StoreTable….Arn>/index/*`),
 * which embeds logical ids and CDK's ARN formulas; copying those strings into the code would break on any rename
 * and would acknowledge whatever happens to match. Instead an aspect reads every IAM policy once it is complete
 * (at synthesis, after all grants) and acknowledges a wildcard resource only when allowances explain it: the
 * resource matches and every action granted on it is one an allowance names. Any other wildcard stays a finding
 * and fails the synth.
 */
import { AspectPriority, Aspects, CfnElement, type IAspect, Stack, Validations } from 'aws-cdk-lib';
import { CfnPolicy } from 'aws-cdk-lib/aws-iam';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference.js';
import type { IConstruct } from 'constructs';

export interface WildcardAllowance {
  /** The reason recorded with the acknowledgment. */
  readonly reason: string;
  /** Matches the flattened resource, as cdk-nag prints it after `Resource::`. */
  readonly resource: RegExp;
  /** Actions this allowance explains; a wildcard is excused only if every action granted on it is explained. */
  readonly actions: RegExp;
}

interface Statement {
  readonly Effect?: string;
  readonly Action?: string | string[];
  readonly Resource?: unknown;
}

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** The logical id of a construct's CloudFormation resource, as cdk-nag shows it inside `<…>`. */
export const logicalIdOf = (construct: IConstruct): string => {
  const cfn = construct instanceof CfnElement ? construct : construct.node.defaultChild;
  if (!(cfn instanceof CfnElement)) throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return Stack.of(cfn).resolve(cfn.logicalId) as string;
};

/** Escapes a literal for use inside a RegExp. */
export const literal = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The IAM5 rule ids the allowances excuse on one policy (exported for tests and review). */
export const explainedWildcards = (policy: CfnPolicy, allowances: readonly WildcardAllowance[]): Map<string, string> => {
  const document = Stack.of(policy).resolve(policy.policyDocument) as { Statement?: Statement[] };
  // Findings are per resource string and policy, so a wildcard is excused only if every action granted on it is
  // (CDK may also merge statements under @aws-cdk/aws-iam:minimizePolicies).
  const reasons = new Map<string, (string | undefined)[]>();
  for (const statement of document.Statement ?? []) {
    if (statement.Effect !== 'Allow') continue;
    const actions = list(statement.Action);
    for (const resource of list(statement.Resource).map(flattenCfnReference)) {
      if (!resource.includes('*')) continue;
      const why = actions.map((action) => allowances.find((a) => a.resource.test(resource) && a.actions.test(action))?.reason);
      reasons.set(resource, [...(reasons.get(resource) ?? []), ...why]);
    }
  }
  const out = new Map<string, string>();
  for (const [resource, why] of reasons) {
    if (why.some((r) => r === undefined)) continue;
    out.set(`AwsSolutions-IAM5[Resource::${resource}]`, [...new Set(why)].join(' '));
  }
  return out;
};

class WildcardAcknowledger implements IAspect {
  private readonly allowances: readonly WildcardAllowance[];
  constructor(allowances: readonly WildcardAllowance[]) {
    this.allowances = allowances;
  }
  visit(node: IConstruct): void {
    if (!(node instanceof CfnPolicy)) return;
    for (const [id, reason] of explainedWildcards(node, this.allowances)) Validations.of(node).acknowledge({ id, reason });
  }
}

/**
 * Acknowledges, at synthesis, the IAM5 wildcard-resource findings under `scope` that the allowances explain. Runs
 * as a read-only aspect, after every aspect that could still add statements.
 */
export const acknowledgeWildcardResources = (scope: IConstruct, allowances: readonly WildcardAllowance[]): void => {
  Aspects.of(scope).add(new WildcardAcknowledger(allowances), { priority: AspectPriority.READONLY });
};
