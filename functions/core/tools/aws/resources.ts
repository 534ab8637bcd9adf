/**
 * What a service is in an AWS account: the shared vocabulary of the `aws` adapters (telemetry, logs, changes,
 * on-call, actions). A service (the name an alert carries) maps to X-Ray node names, the resources behind it
 * (Lambda functions, ECS services, RDS instances, DynamoDB tables, SQS queues, load balancers, API stages) and its
 * log groups. Where that mapping comes from (the `AWS_SERVICE_MAP` setting and resource tags) is the directory's
 * business (service-directory.ts); the adapters only ask it.
 */
import type { ToolScope } from '../ports.ts';

/** An ARN, split (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html). */
export interface ParsedArn {
  readonly arn: string;
  readonly partition: string;
  /** The service namespace: `lambda`, `ecs`, `rds`, `dynamodb`, `sqs`, `elasticloadbalancing`, `apigateway`, `ssm`, … */
  readonly service: string;
  readonly region: string;
  readonly account: string;
  /** Everything after the account: `function:checkout`, `service/prod/checkout`, `table/orders`, … */
  readonly resource: string;
  /** The resource type as the ARN spells it (`function`, `service`, `table`, `db`, `cluster`, `loadbalancer`, …); empty when the ARN has none (an SQS queue). */
  readonly resourceType: string;
  /** The resource's id after its type (`checkout`, `prod/checkout`, `orders`); the whole resource when there is no type. */
  readonly resourceId: string;
}

export class InvalidArn extends Error {
  override name = 'InvalidArn';
}

const ARN = /^arn:(aws[a-z-]*):([a-z0-9-]+):([a-z0-9-]*):(\d{12}|aws|):(.+)$/;

/** Splits an ARN; InvalidArn naming it otherwise. */
export const parseArn = (arn: string): ParsedArn => {
  const m = ARN.exec(arn);
  if (!m) throw new InvalidArn(`not an ARN: ${JSON.stringify(arn.slice(0, 200))}`);
  const [, partition, service, region, account, resource] = m as unknown as [string, string, string, string, string, string];
  // `type/id`, `type:id` (Lambda, RDS, logs) or a bare id (SQS, S3).
  const sep = /^([A-Za-z][A-Za-z0-9-]*)([/:])(.*)$/.exec(resource);
  const resourceType = sep ? sep[1]! : '';
  const resourceId = sep ? sep[3]! : resource;
  return { arn, partition, service, region, account, resource, resourceType, resourceId };
};

/** One resource behind a service. */
export interface AwsResource extends ParsedArn {
  /** Its tags, where the directory read them. */
  readonly tags?: Readonly<Record<string, string>>;
}

/** Everything the adapters know about one service in the account. */
export interface ServiceResources {
  readonly service: string;
  /** The X-Ray node names of the service (default: the service name itself). */
  readonly xrayNames: readonly string[];
  readonly resources: readonly AwsResource[];
  /** CloudWatch Logs log groups (names) the service writes to. */
  readonly logGroups: readonly string[];
  /** Ownership tags merged over its resources (team, on-call, runbook, …). */
  readonly tags: Readonly<Record<string, string>>;
  /** Set when a source of the directory failed and this answer may be incomplete (record it as a gap, never as "no resources"). */
  readonly gap?: string;
}

/** Maps services to AWS resources and back. Reads are cached per agent run (`scope.runId`) by the implementation. */
export interface ServiceDirectory {
  /** The resources of each service asked for (a service the directory does not know: only its X-Ray name, no resources). */
  resolve(q: ToolScope & { services: readonly string[] }): Promise<ServiceResources[]>;
  /** The service a resource belongs to (a CloudTrail event's resource → the service it changes), if any. */
  serviceOf(q: ToolScope & { arn: string }): Promise<string | undefined>;
}
