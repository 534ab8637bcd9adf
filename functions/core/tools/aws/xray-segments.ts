/**
 * X-Ray trace segments (the `Document` JSON of BatchGetTraces) → our spans. A segment is one service's work on a
 * request; its subsegments are local work or calls to others, recursively. Every segment and subsegment becomes a
 * span; the service a span belongs to follows the node naming convention (xray-names.ts), so spans, topology and
 * metrics name the same node the same way:
 *
 * - a segment: `xrayNodeName(name, origin)` (`payforadoption_AWS::ECS::Container`, `PetSite`);
 * - a subsegment with `namespace: "aws"` (an AWS SDK call): the callee's node — `<table>_AWS::DynamoDB::Table` when
 *   it names a table, `<queue URL>_AWS::SQS::Queue` for a queue, `<function>_AWS::Lambda` for an invocation, else
 *   `<name>_AWS::<name>` (`S3_AWS::S3`, `STS_AWS::STS`);
 * - a subsegment with `namespace: "remote"`: `<name>_Database::SQL` for a SQL call (`sql` present), else
 *   `<name>_remote`;
 * - any other subsegment is local work of the service it runs in.
 *
 * A span is ERROR when X-Ray flags it `error` (4xx), `fault` (5xx) or `throttle` (429); its error text is the first
 * exception's message from `cause`, else the flag and HTTP status.
 *
 * Field reference: "AWS X-Ray segment documents" (X-Ray Developer Guide).
 */
import * as z from 'zod';
import type { Span } from '../ports.ts';
import { xrayNodeName } from './xray-names.ts';

interface SubsegmentDoc {
  id: string;
  name: string;
  start_time: number;
  end_time?: number | undefined;
  in_progress?: boolean | undefined;
  parent_id?: string | undefined;
  origin?: string | undefined;
  namespace?: string | undefined;
  error?: boolean | undefined;
  fault?: boolean | undefined;
  throttle?: boolean | undefined;
  cause?: unknown;
  http?: { request?: { method?: string | undefined; url?: string | undefined } | undefined; response?: { status?: number | undefined } | undefined } | undefined;
  aws?: Record<string, unknown> | undefined;
  sql?: Record<string, unknown> | undefined;
  subsegments?: SubsegmentDoc[] | undefined;
}

const Http = z.looseObject({
  request: z.looseObject({ method: z.string().optional(), url: z.string().optional() }).optional(),
  response: z.looseObject({ status: z.number().optional() }).optional(),
});

/** A segment or subsegment document: only the fields we read; X-Ray adds more. */
export const SegmentDocument: z.ZodType<SubsegmentDoc> = z.lazy(() =>
  z.looseObject({
    id: z.string().min(1),
    name: z.string(),
    start_time: z.number(),
    end_time: z.number().optional(),
    in_progress: z.boolean().optional(),
    parent_id: z.string().optional(),
    origin: z.string().optional(),
    namespace: z.string().optional(),
    error: z.boolean().optional(),
    fault: z.boolean().optional(),
    throttle: z.boolean().optional(),
    cause: z.unknown().optional(),
    http: Http.optional(),
    aws: z.record(z.string(), z.unknown()).optional(),
    sql: z.record(z.string(), z.unknown()).optional(),
    subsegments: z.array(SegmentDocument).optional(),
  }),
);
export type SegmentDocument = SubsegmentDoc;

const Cause = z.looseObject({ exceptions: z.array(z.looseObject({ message: z.string().optional(), type: z.string().optional() })).optional() });

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

/** The node a subsegment calls, or undefined for local work. */
export const calleeOf = (sub: SubsegmentDoc): string | undefined => {
  if (sub.namespace === 'aws') {
    const aws = sub.aws ?? {};
    const table = str(aws.table_name);
    if (table) return xrayNodeName(table, 'AWS::DynamoDB::Table');
    const queue = str(aws.queue_url);
    if (queue) return xrayNodeName(queue, 'AWS::SQS::Queue');
    const fn = str(aws.function_name);
    if (fn) return xrayNodeName(fn, 'AWS::Lambda');
    return xrayNodeName(sub.name, `AWS::${sub.name}`);
  }
  if (sub.namespace === 'remote') return sub.sql ? xrayNodeName(sub.name, 'Database::SQL') : xrayNodeName(sub.name, 'remote');
  return undefined;
};

const pathOf = (url: string): string => {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
};

const operationOf = (doc: SubsegmentDoc, isSegment: boolean): string => {
  const op = str(doc.aws?.operation);
  if (op) return op;
  const query = str(doc.sql?.sanitized_query);
  if (query) return query.slice(0, 120);
  const method = doc.http?.request?.method;
  const url = doc.http?.request?.url;
  if (method && url) return `${method} ${isSegment ? pathOf(url) : url}`;
  return doc.name;
};

const errorOf = (doc: SubsegmentDoc): string | undefined => {
  const cause = Cause.safeParse(doc.cause);
  const exception = cause.success ? cause.data.exceptions?.find((e) => e.message || e.type) : undefined;
  if (exception) return exception.message ? (exception.type ? `${exception.type}: ${exception.message}` : exception.message) : exception.type;
  const status = doc.http?.response?.status;
  const flag = doc.fault ? 'fault' : doc.throttle ? 'throttled' : 'error';
  return status !== undefined ? `${flag} (HTTP ${status})` : flag;
};

const iso = (seconds: number): string => new Date(Math.round(seconds * 1000)).toISOString();

/**
 * The spans of one segment document, its subsegments included. `display` renames a node (the service an alert named
 * for the node it maps to).
 */
export const segmentSpans = (segment: SubsegmentDoc, display: (node: string) => string = (n) => n): Span[] => {
  const spans: Span[] = [];
  const visit = (doc: SubsegmentDoc, parentSpanId: string | undefined, service: string, isSegment: boolean) => {
    const failed = Boolean(doc.error || doc.fault || doc.throttle);
    const end = doc.end_time ?? doc.start_time;
    spans.push({
      spanId: doc.id,
      ...(parentSpanId ? { parentSpanId } : {}),
      service: display(service),
      operation: operationOf(doc, isSegment),
      startedAt: iso(doc.start_time),
      durationMs: Math.max(0, Math.round((end - doc.start_time) * 1_000_000) / 1000),
      status: failed ? 'ERROR' : 'OK',
      ...(failed ? { error: errorOf(doc) } : {}),
    });
    for (const sub of doc.subsegments ?? []) visit(sub, doc.id, calleeOf(sub) ?? service, false);
  };
  visit(segment, segment.parent_id, xrayNodeName(segment.name, segment.origin), true);
  return spans;
};
