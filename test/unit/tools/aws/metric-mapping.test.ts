/**
 * The CloudWatch mapping of the AWS telemetry adapter (functions/core/tools/aws/metric-mapping.ts): which resource
 * an ARN or an X-Ray node names, with CloudWatch's own dimensions; resources it cannot measure are reported with a
 * reason; every name it emits is one the impact agent's `metricTrait` reads the right way (or is listed here as not).
 */
import { describe, expect, it } from 'vitest';
import { metricTrait } from '../../../../functions/core/agents/impact.ts';
import { parseArn } from '../../../../functions/core/tools/aws/resources.ts';
import { convertValue, isTarget, RESOURCE_METRIC_NAMES, RESOURCE_METRICS, targetOfArn, targetOfNode } from '../../../../functions/core/tools/aws/metric-mapping.ts';

describe('targetOfArn', () => {
  it.each([
    ['arn:aws:lambda:eu-west-1:111122223333:function:checkout', 'AWS/Lambda', { FunctionName: 'checkout' }],
    ['arn:aws:lambda:eu-west-1:111122223333:function:checkout:live', 'AWS/Lambda', { FunctionName: 'checkout' }],
    ['arn:aws:ecs:eu-west-1:111122223333:service/prod/search', 'AWS/ECS', { ClusterName: 'prod', ServiceName: 'search' }],
    ['arn:aws:rds:eu-west-1:111122223333:db:orders-1', 'AWS/RDS', { DBInstanceIdentifier: 'orders-1' }],
    ['arn:aws:rds:eu-west-1:111122223333:cluster:orders', 'AWS/RDS', { DBClusterIdentifier: 'orders' }],
    ['arn:aws:dynamodb:eu-west-1:111122223333:table/petInfo', 'AWS/DynamoDB', { TableName: 'petInfo' }],
    ['arn:aws:dynamodb:eu-west-1:111122223333:table/petInfo/index/byOwner', 'AWS/DynamoDB', { TableName: 'petInfo' }],
    ['arn:aws:sqs:eu-west-1:111122223333:adoptions', 'AWS/SQS', { QueueName: 'adoptions' }],
    ['arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/app/front/50dc6c495c0c9188', 'AWS/ApplicationELB', { LoadBalancer: 'app/front/50dc6c495c0c9188' }],
    ['arn:aws:apigateway:eu-west-1::/apis/a1b2c3/stages/prod', 'AWS/ApiGateway', { ApiId: 'a1b2c3', Stage: 'prod' }],
  ])('%s → %s %o', (arn, namespace, dimensions) => {
    const t = targetOfArn(arn);
    expect(isTarget(t)).toBe(true);
    expect(t).toMatchObject({ namespace, dimensions });
  });

  it('a REST API stage is measured by its name: from an ApiName tag, else reported unmapped with what to do', () => {
    const arn = 'arn:aws:apigateway:eu-west-1::/restapis/x9y8/stages/prod';
    expect(targetOfArn({ ...parseArn(arn), tags: { ApiName: 'shop' } })).toMatchObject({ kind: 'apigateway-rest', dimensions: { ApiName: 'shop', Stage: 'prod' } });
    expect(targetOfArn(arn)).toEqual({ arn, reason: expect.stringMatching(/ApiName/) });
  });

  it.each([
    ['arn:aws:ecs:eu-west-1:111122223333:service/search', /old format/],
    ['arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/net/edge/50dc6c495c0c9188', /Application Load Balancers/],
    ['arn:aws:s3:::pet-images', /s3/],
    ['arn:aws:lambda:eu-west-1:111122223333:layer:deps:3', /functions/],
  ])('%s is unmapped, saying why', (arn, why) => {
    const t = targetOfArn(arn);
    expect(isTarget(t)).toBe(false);
    expect(t).toMatchObject({ arn, reason: expect.stringMatching(why) });
  });
});

describe('targetOfNode', () => {
  it.each([
    ['petInfo', 'AWS::DynamoDB::Table', { TableName: 'petInfo' }],
    ['https://sqs.us-west-2.amazonaws.com/111122223333/sqspetadoption', 'AWS::SQS::Queue', { QueueName: 'sqspetadoption' }],
    ['lambda_step_readDDB', 'AWS::Lambda::Function', { FunctionName: 'lambda_step_readDDB' }],
    ['lambdastatusupdater', 'AWS::Lambda', { FunctionName: 'lambdastatusupdater' }],
    ['PetAdoptionStatusUpdater/prod', 'AWS::ApiGateway::Stage', { ApiName: 'PetAdoptionStatusUpdater', Stage: 'prod' }],
    ['adoptions@services-db.cluster-c1x2y3.us-west-2.rds.amazonaws.com', 'Database::SQL', { DBClusterIdentifier: 'services-db' }],
    ['adoptions@orders-1.c1x2y3.us-west-2.rds.amazonaws.com:5432', 'Database::SQL', { DBInstanceIdentifier: 'orders-1' }],
  ])('%s (%s) → %o', (name, type, dimensions) => {
    expect(targetOfNode(name, type)).toMatchObject({ dimensions });
  });

  it.each([
    ['PetSearch', 'AWS::ECS::Fargate'],
    ['adoptions@db.internal.example', 'Database::SQL'],
    ['amazon.com', 'remote'],
    ['PetSite', undefined],
  ])('%s (%s) names no CloudWatch resource', (name, type) => {
    expect(targetOfNode(name, type)).toBeUndefined();
  });
});

describe('metric names', () => {
  /** What the impact agent must read from each name (kind, and the direction that is bad). */
  const expected: Record<string, string> = {
    lambda_errors: 'errors/up',
    lambda_throttle_errors: 'errors/up',
    lambda_duration_p99_ms: 'latency/up',
    // Known misreading (reported): saturation, bad when up; metricTrait sees no keyword.
    lambda_concurrent_executions: 'other/both',
    cpu_pct: 'resource/up',
    memory_pct: 'resource/up',
    rds_cpu_pct: 'resource/up',
    db_connections: 'saturation/up',
    // Known misreading (reported): free memory is bad when it goes down; metricTrait reads `mem` as bad when up.
    rds_freeable_memory_mb: 'resource/up',
    rds_read_latency_ms: 'latency/up',
    rds_write_latency_ms: 'latency/up',
    dynamodb_throttle_errors: 'errors/up',
    dynamodb_system_errors: 'errors/up',
    dynamodb_latency_ms: 'latency/up',
    dynamodb_read_throttle_errors: 'errors/up',
    dynamodb_write_throttle_errors: 'errors/up',
    queue_depth: 'saturation/up',
    queue_oldest_age_s: 'saturation/up',
    alb_5xx_count: 'errors/up',
    alb_target_response_time_ms: 'latency/up',
    alb_target_response_time_p99_ms: 'latency/up',
    alb_requests_rps: 'throughput/down',
    apigw_5xx_errors: 'errors/up',
    apigw_latency_ms: 'latency/up',
    apigw_latency_p99_ms: 'latency/up',
    apigw_requests_rps: 'throughput/down',
    appsignals_latency_p99_ms: 'latency/up',
    appsignals_error_rate_pct: 'errors/up',
    // Known misreading (reported): a fault rate is an error rate; metricTrait has no `fault` keyword.
    appsignals_fault_rate_pct: 'other/both',
  };

  it('every name the mapping emits is listed, and metricTrait reads each as listed', () => {
    expect([...RESOURCE_METRIC_NAMES].sort()).toEqual(Object.keys(expected).sort());
    for (const name of RESOURCE_METRIC_NAMES) {
      const t = metricTrait(name);
      expect(`${t.kind}/${t.bad}`, name).toBe(expected[name]);
    }
  });

  it('one name keeps one unit across resource kinds', () => {
    const units = new Map<string, string>();
    for (const m of Object.values(RESOURCE_METRICS).flat()) {
      expect(units.get(m.name) ?? m.unit, m.name).toBe(m.unit);
      units.set(m.name, m.unit);
    }
  });

  it('converts to our units', () => {
    expect(convertValue(120, 'per-second', 60)).toBe(2);
    expect(convertValue(0.25, 'seconds-to-ms', 60)).toBe(250);
    expect(convertValue(3 * 1024 * 1024, 'bytes-to-mb', 60)).toBe(3);
    expect(convertValue(0.031, 'fraction-to-pct', 60)).toBeCloseTo(3.1);
    expect(convertValue(7, 'none', 300)).toBe(7);
  });
});
