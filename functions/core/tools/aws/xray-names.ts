/**
 * How an X-Ray service-graph node is named and tiered: the convention every part of the project shares (the AWS
 * telemetry adapter, the PetShop importer, recorded incidents), so a node has one name wherever it appears.
 *
 * - A node whose Type is an AWS resource type is `<Name>_<Type>`: `PetSearch_AWS::ECS::Fargate`,
 *   `petInfo_AWS::DynamoDB::Table`, `adoptions@db.example_Database::SQL`.
 * - Type `remote` → `<Name>_remote`; type `client` → `<Name>_client`.
 * - No Type (an instrumented application on EC2/EKS that reports no resource type) → `<Name>`.
 *
 * Light on purpose (no SDK): the importer and the tests load it.
 */
import type { ServiceNode } from '../ports.ts';

/** An X-Ray node as the service graph identifies it. */
export interface XrayNodeId {
  /** X-Ray's `Name` (empty for a few AWS nodes that report only a type). */
  readonly name: string;
  /** X-Ray's `Type` (`AWS::Lambda::Function`, `remote`, `client`, `Database::SQL`, …); undefined when it reports none. */
  readonly type?: string;
}

/** The node's name by the shared convention. */
export const xrayNodeName = (name: string, type: string | undefined): string => {
  if (!type) return name;
  // X-Ray reports a few AWS nodes with a type and no name (PetShop's `AWS::StepFunctions::StateMachine`).
  if (!name) return type;
  return `${name}_${type}`;
};

const TYPED = /^(.*)_((?:AWS|Database)::[A-Za-z0-9:]+|remote|client)$/s;
const TYPE_ONLY = /^(?:AWS|Database)::[A-Za-z0-9:]+$/;

/**
 * The X-Ray name and type a conventional node name stands for (the inverse of `xrayNodeName`). A name with no type
 * suffix is an application node without a type. The split is at the last `_` that a type follows, so names with
 * underscores (`lambda_step_readDDB_AWS::Lambda::Function`) keep them.
 */
export const parseXrayNodeName = (full: string): XrayNodeId => {
  if (TYPE_ONLY.test(full)) return { name: '', type: full };
  const m = TYPED.exec(full);
  return m && m[1] ? { name: m[1], type: m[2] } : { name: full };
};

/** Whether a name carries a type suffix of the convention (so it names one node exactly). */
export const isTypedNodeName = (full: string): boolean => TYPE_ONLY.test(full) || Boolean(TYPED.exec(full)?.[1]);

/**
 * The tier of a node from its type:
 *
 * | type                                                                 | tier     |
 * |----------------------------------------------------------------------|----------|
 * | `client`; API Gateway, Elastic Load Balancing, CloudFront, AppSync   | frontend |
 * | `remote`; an AWS API rather than a resource (`AWS::STS`, `AWS::SSM`, `AWS::S3`, …, but not `AWS::Lambda`) | external |
 * | DynamoDB, RDS, `Database::SQL`, DocumentDB, Neptune, Redshift, Timestream, Keyspaces, S3 buckets | database |
 * | ElastiCache, MemoryDB, DAX                                           | cache    |
 * | SQS, SNS, Kinesis, EventBridge, Amazon MQ, MSK, Firehose             | queue    |
 * | anything else (Lambda, ECS, EKS, EC2, Step Functions, no type)       | backend  |
 */
export const xrayTier = (type: string | undefined): ServiceNode['tier'] => {
  if (!type) return 'backend';
  if (type === 'client') return 'frontend';
  if (type === 'remote') return 'external';
  if (/DynamoDB|RDS|Database::SQL|DocDB|DocumentDB|Neptune|Redshift|Timestream|Keyspaces|Cassandra|S3::Bucket/.test(type)) return 'database';
  if (/ElastiCache|MemoryDB|DAX/.test(type)) return 'cache';
  if (/SQS|SNS|SimpleNotificationService|SimpleQueueService|Kinesis|EventBridge|::Events\b|AmazonMQ|::MQ\b|Kafka|MSK|Firehose/.test(type)) return 'queue';
  if (/ApiGateway|ElasticLoadBalancing|CloudFront|AppSync/.test(type)) return 'frontend';
  // `AWS::<Service>` with no resource part is a call to an AWS API (STS, SSM, S3, Evidently, …): not ours. The
  // Lambda service node is the exception: X-Ray names it after the function it invokes.
  if (/^AWS::[A-Za-z0-9]+$/.test(type) && type !== 'AWS::Lambda') return 'external';
  return 'backend';
};

/**
 * An X-Ray filter / entity selector for one node: `service(id(name: "PetSearch", type: "AWS::ECS::Fargate"))`.
 * Strings are JSON-quoted (a quote or backslash in a name cannot end the string early).
 */
export const xrayServiceSelector = (node: XrayNodeId): string => `service(id(name: ${JSON.stringify(node.name)}${node.type ? `, type: ${JSON.stringify(node.type)}` : ''}))`;
