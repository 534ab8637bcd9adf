/**
 * Which CloudWatch metrics the AWS telemetry adapter reads for a service's resources, and the names it gives them.
 * A documented table, not a guess per call: each resource kind (Lambda function, ECS service, RDS instance or Aurora
 * cluster, DynamoDB table, SQS queue, Application Load Balancer, API Gateway stage, Application Signals service)
 * has its namespace, the dimensions that pick one resource, and a list of metrics → our metric name, statistic, unit.
 *
 * Where the targets come from:
 * - the service directory's resources (ARNs: `targetOfArn`), and
 * - the service's X-Ray nodes, for kinds whose node name carries the identifying dimension (`targetOfNode`): a
 *   DynamoDB table, an SQS queue (its URL), a Lambda function, a REST API stage (`<ApiName>/<stage>`), an RDS
 *   endpoint (`<database>@<host>` of a `Database::SQL` node). So a service the directory does not know still gets
 *   the metrics of what X-Ray saw of it.
 *
 * Several resources of one kind behind one service give one series per metric: counts are summed, utilisation,
 * percentiles and gauges take the worst resource (the maximum; the minimum for free memory), averages of latency are
 * weighted by their sample count.
 * DynamoDB's per-operation metrics (ThrottledRequests, SystemErrors, SuccessfulRequestLatency exist only with an
 * `Operation` dimension) are read per operation and combined the same way.
 *
 * Light on purpose (no SDK): tests and the README read this table.
 */
import { type AwsResource, parseArn } from './resources.ts';

export type ResourceKind = 'lambda' | 'ecs' | 'rds-instance' | 'rds-cluster' | 'dynamodb' | 'sqs' | 'alb' | 'apigateway-rest' | 'apigateway-http' | 'application-signals';

/** One resource as CloudWatch names it. */
export interface MetricTarget {
  readonly kind: ResourceKind;
  readonly namespace: string;
  /** The dimensions that select this resource (in CloudWatch's own spelling). */
  readonly dimensions: Readonly<Record<string, string>>;
  /** How gaps and messages name it (`Lambda function checkout`). */
  readonly label: string;
}

/** How a CloudWatch value becomes ours. */
export type Conversion = 'none' | 'per-second' | 'seconds-to-ms' | 'bytes-to-mb' | 'fraction-to-pct';

/** How the series of several resources (or operations) of one service become one. */
export type Combine = 'sum' | 'max' | 'min' | 'weighted-by-sample-count';

export interface ResourceMetric {
  /** Our metric name (MetricSeries.metric). */
  readonly name: string;
  /** CloudWatch's metric name. */
  readonly metricName: string;
  /** CloudWatch statistic: Sum, Average, Maximum, p99, … */
  readonly stat: string;
  /** Unit of our series. */
  readonly unit: string;
  readonly convert: Conversion;
  readonly combine: Combine;
  /** Read once per value of this extra dimension and combined (DynamoDB's per-operation metrics). */
  readonly perOperation?: boolean;
}

/** The DynamoDB operations whose per-operation metrics are read (the data-plane operations CloudWatch reports). */
export const DYNAMODB_OPERATIONS = ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query', 'Scan', 'BatchGetItem', 'BatchWriteItem', 'TransactGetItems', 'TransactWriteItems'] as const;

const m = (name: string, metricName: string, stat: string, unit: string, convert: Conversion, combine: Combine, perOperation?: true): ResourceMetric => ({ name, metricName, stat, unit, convert, combine, ...(perOperation ? { perOperation } : {}) });

/** RDS publishes the same metrics for an instance and a cluster (DBInstanceIdentifier / DBClusterIdentifier). */
const RDS_METRICS: readonly ResourceMetric[] = [
  m('rds_cpu_pct', 'CPUUtilization', 'Average', '%', 'none', 'max'),
  m('db_connections', 'DatabaseConnections', 'Average', 'count', 'none', 'sum'),
  m('rds_freeable_memory_mb', 'FreeableMemory', 'Minimum', 'MB', 'bytes-to-mb', 'min'),
  m('rds_read_latency_ms', 'ReadLatency', 'Average', 'ms', 'seconds-to-ms', 'max'),
  m('rds_write_latency_ms', 'WriteLatency', 'Average', 'ms', 'seconds-to-ms', 'max'),
];

/** API Gateway's REST and HTTP APIs publish the same metrics, but name their 5xx count differently. */
const apiGatewayMetrics = (fiveXxMetric: string): readonly ResourceMetric[] => [
  m('apigw_5xx_errors', fiveXxMetric, 'Sum', 'count', 'none', 'sum'),
  m('apigw_latency_ms', 'Latency', 'Average', 'ms', 'none', 'weighted-by-sample-count'),
  m('apigw_latency_p99_ms', 'Latency', 'p99', 'ms', 'none', 'max'),
  m('apigw_requests_rps', 'Count', 'Sum', 'req/s', 'per-second', 'sum'),
];

/**
 * The mapping. Our names are chosen so that `metricTrait` (agents/impact.ts) reads their kind and bad direction
 * from the name: `_errors`/`5xx` → errors (up is bad), `_ms`/`latency`/`duration` → latency, `queue`/`conn` →
 * saturation, `cpu`/`mem` → resource, `requests`/`rps` → throughput (down is bad). Counts are per data point
 * (per period); `*_rps` is divided by the period.
 */
export const RESOURCE_METRICS: Readonly<Record<ResourceKind, readonly ResourceMetric[]>> = {
  lambda: [
    m('lambda_errors', 'Errors', 'Sum', 'count', 'none', 'sum'),
    m('lambda_throttle_errors', 'Throttles', 'Sum', 'count', 'none', 'sum'),
    m('lambda_duration_p99_ms', 'Duration', 'p99', 'ms', 'none', 'max'),
    m('lambda_concurrent_executions', 'ConcurrentExecutions', 'Maximum', 'count', 'none', 'sum'),
  ],
  ecs: [m('cpu_pct', 'CPUUtilization', 'Average', '%', 'none', 'max'), m('memory_pct', 'MemoryUtilization', 'Average', '%', 'none', 'max')],
  'rds-instance': RDS_METRICS,
  'rds-cluster': RDS_METRICS,
  dynamodb: [
    m('dynamodb_throttle_errors', 'ThrottledRequests', 'Sum', 'count', 'none', 'sum', true),
    m('dynamodb_system_errors', 'SystemErrors', 'Sum', 'count', 'none', 'sum', true),
    m('dynamodb_latency_ms', 'SuccessfulRequestLatency', 'Average', 'ms', 'none', 'weighted-by-sample-count', true),
    m('dynamodb_read_throttle_errors', 'ReadThrottleEvents', 'Sum', 'count', 'none', 'sum'),
    m('dynamodb_write_throttle_errors', 'WriteThrottleEvents', 'Sum', 'count', 'none', 'sum'),
  ],
  sqs: [m('queue_depth', 'ApproximateNumberOfMessagesVisible', 'Maximum', 'messages', 'none', 'sum'), m('queue_oldest_age_s', 'ApproximateAgeOfOldestMessage', 'Maximum', 's', 'none', 'max')],
  alb: [
    m('alb_5xx_count', 'HTTPCode_Target_5XX_Count', 'Sum', 'count', 'none', 'sum'),
    m('alb_target_response_time_ms', 'TargetResponseTime', 'Average', 'ms', 'seconds-to-ms', 'weighted-by-sample-count'),
    m('alb_target_response_time_p99_ms', 'TargetResponseTime', 'p99', 'ms', 'seconds-to-ms', 'max'),
    m('alb_requests_rps', 'RequestCount', 'Sum', 'req/s', 'per-second', 'sum'),
  ],
  'apigateway-rest': apiGatewayMetrics('5XXError'),
  'apigateway-http': apiGatewayMetrics('5xx'),
  // Application Signals records Error and Fault as 0/1 per request: their Average is the rate.
  'application-signals': [
    m('appsignals_latency_p99_ms', 'Latency', 'p99', 'ms', 'none', 'max'),
    m('appsignals_error_rate_pct', 'Error', 'Average', '%', 'fraction-to-pct', 'max'),
    m('appsignals_fault_rate_pct', 'Fault', 'Average', '%', 'fraction-to-pct', 'max'),
  ],
};

const NAMESPACES: Readonly<Record<ResourceKind, string>> = {
  lambda: 'AWS/Lambda',
  ecs: 'AWS/ECS',
  'rds-instance': 'AWS/RDS',
  'rds-cluster': 'AWS/RDS',
  dynamodb: 'AWS/DynamoDB',
  sqs: 'AWS/SQS',
  alb: 'AWS/ApplicationELB',
  'apigateway-rest': 'AWS/ApiGateway',
  'apigateway-http': 'AWS/ApiGateway',
  'application-signals': 'ApplicationSignals',
};

const target = (kind: ResourceKind, dimensions: Record<string, string>, label: string): MetricTarget => ({ kind, namespace: NAMESPACES[kind], dimensions, label });

// The targets both an ARN and an X-Ray node can name: one builder each, so the two readings agree on dimensions and label.
const lambdaTarget = (name: string): MetricTarget => target('lambda', { FunctionName: name }, `Lambda function ${name}`);
const tableTarget = (name: string): MetricTarget => target('dynamodb', { TableName: name }, `DynamoDB table ${name}`);
const queueTarget = (name: string): MetricTarget => target('sqs', { QueueName: name }, `SQS queue ${name}`);
const rdsInstanceTarget = (id: string): MetricTarget => target('rds-instance', { DBInstanceIdentifier: id }, `RDS instance ${id}`);
const rdsClusterTarget = (id: string): MetricTarget => target('rds-cluster', { DBClusterIdentifier: id }, `RDS cluster ${id}`);
const restApiTarget = (apiName: string, stage: string): MetricTarget => target('apigateway-rest', { ApiName: apiName, Stage: stage }, `REST API ${apiName} stage ${stage}`);

/** Why a resource of the directory has no CloudWatch mapping (reported, not silently dropped). */
export interface Unmapped {
  readonly arn: string;
  readonly reason: string;
}

/**
 * The CloudWatch target of a resource ARN, or why there is none:
 *
 * | ARN                                                                        | kind            | dimensions                          |
 * |----------------------------------------------------------------------------|-----------------|-------------------------------------|
 * | `arn:…:lambda:…:function:<name>[:<alias>]`                                 | lambda          | FunctionName                        |
 * | `arn:…:ecs:…:service/<cluster>/<service>`                                  | ecs             | ClusterName, ServiceName            |
 * | `arn:…:rds:…:db:<id>` / `arn:…:rds:…:cluster:<id>`                         | rds-instance / rds-cluster | DBInstanceIdentifier / DBClusterIdentifier |
 * | `arn:…:dynamodb:…:table/<name>[/…]`                                        | dynamodb        | TableName (+ Operation where needed) |
 * | `arn:…:sqs:…:<queue>`                                                      | sqs             | QueueName                           |
 * | `arn:…:elasticloadbalancing:…:loadbalancer/app/<name>/<id>`                | alb             | LoadBalancer (`app/<name>/<id>`)    |
 * | `arn:…:apigateway:…::/apis/<id>/stages/<stage>`                            | apigateway-http | ApiId, Stage                        |
 * | `arn:…:apigateway:…::/restapis/<id>/stages/<stage>` with tag `ApiName`     | apigateway-rest | ApiName, Stage                      |
 *
 * A REST API's metrics are keyed by its name, which its ARN does not carry: without an `ApiName` tag it is mapped
 * through its X-Ray node instead (`<ApiName>/<stage>`), or reported unmapped.
 */
export const targetOfArn = (resource: AwsResource | string): MetricTarget | Unmapped => {
  const r: AwsResource = typeof resource === 'string' ? parseArn(resource) : resource;
  const unmapped = (reason: string): Unmapped => ({ arn: r.arn, reason });
  switch (r.service) {
    case 'lambda': {
      if (r.resourceType !== 'function') return unmapped('only Lambda functions have metrics mapped');
      const name = r.resourceId.split(':')[0]!;
      return lambdaTarget(name);
    }
    case 'ecs': {
      if (r.resourceType !== 'service') return unmapped('only ECS services have metrics mapped');
      const parts = r.resourceId.split('/');
      // The old ARN format (service/<name>) does not say the cluster, and the metrics need it.
      if (parts.length !== 2) return unmapped('an ECS service ARN in the old format (without the cluster name): use the long ARN format service/<cluster>/<service>');
      return target('ecs', { ClusterName: parts[0]!, ServiceName: parts[1]! }, `ECS service ${parts[0]}/${parts[1]}`);
    }
    case 'rds': {
      if (r.resourceType === 'db') return rdsInstanceTarget(r.resourceId);
      if (r.resourceType === 'cluster') return rdsClusterTarget(r.resourceId);
      return unmapped('only RDS instances (db:) and clusters (cluster:) have metrics mapped');
    }
    case 'dynamodb': {
      if (r.resourceType !== 'table') return unmapped('only DynamoDB tables have metrics mapped');
      const name = r.resourceId.split('/')[0]!;
      return tableTarget(name);
    }
    case 'sqs':
      return queueTarget(r.resourceId);
    case 'elasticloadbalancing': {
      if (r.resourceType !== 'loadbalancer' || !r.resourceId.startsWith('app/')) return unmapped('only Application Load Balancers (loadbalancer/app/…) have metrics mapped');
      return target('alb', { LoadBalancer: r.resourceId }, `load balancer ${r.resourceId}`);
    }
    case 'apigateway': {
      const http = /^\/apis\/([^/]+)\/stages\/([^/]+)$/.exec(r.resource);
      if (http) return target('apigateway-http', { ApiId: http[1]!, Stage: http[2]! }, `HTTP API ${http[1]} stage ${http[2]}`);
      const rest = /^\/restapis\/([^/]+)\/stages\/([^/]+)$/.exec(r.resource);
      const apiName = r.tags?.ApiName;
      if (rest && apiName) return restApiTarget(apiName, rest[2]!);
      if (rest) return unmapped('a REST API stage is measured by its API name, which the ARN does not carry: tag it ApiName=<name>, or let X-Ray name it (its <ApiName>/<stage> node)');
      return unmapped('only API stages (/apis/<id>/stages/<stage>, /restapis/<id>/stages/<stage>) have metrics mapped');
    }
    default:
      return unmapped(`no CloudWatch metrics are mapped for ${r.service} resources`);
  }
};

export const isTarget = (t: MetricTarget | Unmapped): t is MetricTarget => 'namespace' in t;

/**
 * The CloudWatch target an X-Ray node names, if its name carries the identifying dimension:
 *
 * | node type                   | node name                      | kind                        |
 * |-----------------------------|--------------------------------|-----------------------------|
 * | `AWS::DynamoDB::Table`      | the table name                 | dynamodb                    |
 * | `AWS::SQS::Queue`           | the queue URL                  | sqs (its last path segment) |
 * | `AWS::Lambda`, `AWS::Lambda::Function` | the function name   | lambda                      |
 * | `AWS::ApiGateway::Stage`    | `<ApiName>/<stage>`            | apigateway-rest             |
 * | `Database::SQL`             | `<database>@<host>` where host is an RDS endpoint | rds-cluster (`<id>.cluster-…`) or rds-instance |
 */
export const targetOfNode = (name: string, type: string | undefined): MetricTarget | undefined => {
  switch (type) {
    case 'AWS::DynamoDB::Table':
      return name ? tableTarget(name) : undefined;
    case 'AWS::SQS::Queue': {
      const queue = name.split('/').filter(Boolean).at(-1);
      return queue ? queueTarget(queue) : undefined;
    }
    case 'AWS::Lambda':
    case 'AWS::Lambda::Function':
      return name ? lambdaTarget(name) : undefined;
    case 'AWS::ApiGateway::Stage': {
      const at = name.lastIndexOf('/');
      return at > 0 && at < name.length - 1 ? restApiTarget(name.slice(0, at), name.slice(at + 1)) : undefined;
    }
    case 'Database::SQL': {
      // <instance>.<hash>.<region>.rds.amazonaws.com, <cluster>.cluster[-ro]-<hash>.<region>.rds.amazonaws.com
      const host = name.slice(name.lastIndexOf('@') + 1).replace(/:\d+$/, '');
      const labels = host.split('.');
      if (!/\.rds\.amazonaws\.com(\.cn)?$/.test(host) || labels.length < 5) return undefined;
      const id = labels[0]!;
      return /^cluster-(ro-|custom-)?/.test(labels[1]!) ? rdsClusterTarget(id) : rdsInstanceTarget(id);
    }
    default:
      return undefined;
  }
};

/** The Application Signals service metrics of a service (its X-Ray name) in one environment (`eks:<cluster>/<namespace>`, `lambda:default`, …). */
export const applicationSignalsTarget = (service: string, environment: string): MetricTarget => target('application-signals', { Service: service, Environment: environment }, `Application Signals service ${service} (${environment})`);

/** A stable key for de-duplicating targets. */
export const targetKey = (t: MetricTarget): string => `${t.namespace}|${Object.entries(t.dimensions).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${v}`).join(',')}`;

/** Every metric name this mapping can produce (for the README and tests). */
export const RESOURCE_METRIC_NAMES: readonly string[] = [...new Set(Object.values(RESOURCE_METRICS).flatMap((ms) => ms.map((x) => x.name)))];

/** A CloudWatch value in our unit. */
export const convertValue = (value: number, conversion: Conversion, periodSeconds: number): number => {
  switch (conversion) {
    case 'per-second':
      return value / periodSeconds;
    case 'seconds-to-ms':
      return value * 1000;
    case 'bytes-to-mb':
      return value / (1024 * 1024);
    case 'fraction-to-pct':
      return value * 100;
    default:
      return value;
  }
};
