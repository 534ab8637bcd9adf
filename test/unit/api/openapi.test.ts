/**
 * The API description (functions/core/api/openapi.ts): generated from the registry's routes and the zod schemas the
 * functions validate with, served by query-incidents as GET /openapi.json and GET /docs.
 */
import { MemoryIncidentStore } from '../../../functions/core/store/memory-store.ts';
import { describe, expect, it } from 'vitest';
import { DOCS_HEADERS, OPERATIONS, docsPage, openApiDocument } from '../../../functions/core/api/openapi.ts';
import { DecisionBody } from '../../../functions/core/api/schemas.ts';
import { queryIncidents } from '../../../functions/query-incidents/core.ts';
import { API_ROUTES, SECRET_HEADER } from '../../../functions/registry.ts';
import type { ApiEvent } from '../../../functions/core/http.ts';

type Op = { security: Record<string, unknown>[]; parameters?: { name: string; in: string; schema: Record<string, unknown> }[]; requestBody?: { content: Record<string, { schema: Record<string, unknown> }> }; responses: Record<string, unknown> };
const doc = openApiDocument();
const op = (method: string, path: string) => (doc.paths as Record<string, Record<string, Op>>)[path]?.[method];

describe('API description', () => {
  it('documents exactly the routes the stack and the twin serve, each with its auth', () => {
    const documented = Object.entries(doc.paths as Record<string, Record<string, Op>>).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual(API_ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    expect(Object.keys(OPERATIONS).sort()).toEqual(API_ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    expect(op('post', '/alerts/{source}')?.security).toEqual([{ sharedSecret: [] }]);
    expect(op('get', '/incidents')?.security).toEqual([{ sigv4: [] }]);
    expect(op('get', '/approvals/{token}')?.security).toEqual([]);
    expect((doc.components as { securitySchemes: { sharedSecret: { name: string } } }).securitySchemes.sharedSecret.name).toBe(SECRET_HEADER);
  });

  it('takes its bodies and parameters from the schemas the functions validate with', () => {
    const body = op('post', '/incidents/{id}/approval')?.requestBody?.content['application/json'].schema;
    expect(body).toMatchObject({ type: 'object', required: ['decision', 'approver'], additionalProperties: false, properties: { decision: { enum: ['approve', 'reject'] } } });
    // What the schema accepts, the document describes: a decision without an approver is refused by both.
    expect(DecisionBody.safeParse({ decision: 'approve' }).success).toBe(false);
    const params = op('get', '/incidents')?.parameters ?? [];
    expect(params.map((p) => p.name)).toEqual(['status', 'severity', 'service', 'limit', 'cursor']);
    expect(params.find((p) => p.name === 'status')?.schema.enum).toContain('ESCALATED');
    expect(op('post', '/alerts/{source}')?.parameters?.[0]).toMatchObject({ name: 'source', in: 'path', required: true, schema: { enum: ['dynatrace', 'alertmanager', 'datadog', 'cloudwatch', 'generic'] } });
  });

  it('renders a page with no script, every text escaped', () => {
    const hostile = openApiDocument();
    (hostile.info as { title: string }).title = '<script>alert(1)</script>';
    const page = docsPage(hostile);
    expect(page).not.toContain('<script>');
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).toContain('/incidents/{id}/approval');
    expect(DOCS_HEADERS['content-security-policy']).toMatch(/^default-src 'none'; style-src 'sha256-/);
  });

  it('is served by query-incidents as JSON and as a page', async () => {
    const handler = queryIncidents({ store: { listIncidents: async () => ({ items: [] }), getDetail: async () => undefined, summarize: async () => new MemoryIncidentStore().summarize() } });
    const event = (routeKey: string) => ({ routeKey, rawPath: routeKey.split(' ')[1], headers: {}, requestContext: {} }) as unknown as ApiEvent;
    const json = await handler(event('GET /openapi.json'));
    expect(json.statusCode).toBe(200);
    expect(JSON.parse(json.body as string)).toMatchObject({ openapi: '3.1.0', info: { title: 'Incident Autopilot API' } });
    const page = await handler(event('GET /docs'));
    expect(page).toMatchObject({ statusCode: 200, headers: { 'content-type': 'text/html; charset=utf-8' } });
    expect(page.body).toContain('Incident Autopilot API');
  });
});
