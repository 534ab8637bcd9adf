import { describe, expect, it } from 'vitest';
import { ToolUnavailable } from '../../../functions/core/tools/ports.ts';
import { ServiceNowChanges, classifyChange, encodedValue, section } from '../../../functions/core/tools/vendors/servicenow.ts';
import { recordingSleep, rejectionOf, useFakeVendor } from './fake-vendor.ts';

/** A field as the Table API returns it with sysparm_display_value=all. */
const f = (value: string, display_value: string = value) => ({ value, display_value });

const changeRecord = {
  sys_id: f('a1b2'),
  number: f('CHG0030001'),
  short_description: f('Reduce HikariCP maximumPoolSize for payment-service'),
  description: f('Config change: spring.datasource.hikari.maximum-pool-size 50 -> 10'),
  cmdb_ci: f('9f0e', 'payment-service'),
  business_service: f('', ''),
  category: f('Software', 'Software'),
  type: f('normal', 'Normal'),
  state: f('3', 'Closed'),
  close_code: f('successful', 'Successful'),
  start_date: f('2024-05-01 09:00:00', '2024-05-01 11:00:00'),
  end_date: f('2024-05-01 10:00:00', '2024-05-01 12:00:00'),
  work_start: f('2024-05-01 09:58:00', '2024-05-01 11:58:00'),
  work_end: f('2024-05-01 10:05:00', '2024-05-01 12:05:00'),
  backout_plan: f('Restore maximum-pool-size to 50 and restart'),
  assigned_to: f('u1', 'Dana Ops'),
  requested_by: f('u2', 'Sam Dev'),
};

const incidentRecord = (n: string, short: string, opened: string, resolved: string, extra: Record<string, unknown> = {}) => ({
  sys_id: f(`sys-${n}`),
  number: f(n),
  short_description: f(short),
  description: f('Root cause: connection pool exhausted after pool size reduced\nTags: db, hikaricp'),
  cmdb_ci: f('', ''),
  business_service: f('bs1', 'payment-service'),
  category: f('software', 'Software'),
  opened_at: f(opened),
  resolved_at: f(resolved),
  closed_at: f(''),
  close_notes: f('Rolled back the pool size change'),
  close_code: f('Solved (Permanently)'),
  state: f('7', 'Closed'),
  ...extra,
});

describe('unit: ServiceNowChanges against a fake Table API', () => {
  const fake = useFakeVendor();
  const adapter = (over: Partial<ConstructorParameters<typeof ServiceNowChanges>[0]> = {}) => {
    const rec = recordingSleep();
    return { sn: new ServiceNowChanges({ instanceUrl: fake.url, auth: { user: 'autopilot', password: 'pw-123' }, sleep: rec.sleep, timeoutMs: 2_000, ...over }), waits: rec.waits };
  };

  it('lists change requests in the window for the services, mapping every field', async () => {
    // Prepare
    fake.once('GET', '/api/now/table/change_request', { status: 200, json: { result: [changeRecord] } });
    const { sn } = adapter();

    // Act
    const changes = await sn.listChanges({ from: '2024-05-01T08:00:00Z', to: '2024-05-01T12:00:00Z', services: ['payment-service'] });

    // Assess: request
    const req = fake.received[0];
    expect(req.headers.authorization).toBe(`Basic ${Buffer.from('autopilot:pw-123').toString('base64')}`);
    expect(req.query.get('sysparm_query')).toBe(
      'work_start>=2024-05-01 08:00:00^work_start<=2024-05-01 12:00:00^cmdb_ci.name=payment-service^ORbusiness_service.name=payment-service' +
        '^NQwork_startISEMPTY^start_date>=2024-05-01 08:00:00^start_date<=2024-05-01 12:00:00^cmdb_ci.name=payment-service^ORbusiness_service.name=payment-service' +
        '^ORDERBYDESCwork_start^ORDERBYDESCstart_date',
    );
    expect(req.query.get('sysparm_display_value')).toBe('all');
    expect(req.query.get('sysparm_exclude_reference_link')).toBe('true');
    expect(req.query.get('sysparm_limit')).toBe('100');
    expect(req.query.get('sysparm_fields')?.split(',')).toEqual(expect.arrayContaining(['number', 'short_description', 'cmdb_ci', 'business_service', 'work_start', 'state', 'backout_plan']));
    // Assess: mapping (dates from the UTC value, not the user's display value)
    expect(changes).toEqual([
      {
        id: 'CHG0030001',
        service: 'payment-service',
        type: 'config',
        title: 'Reduce HikariCP maximumPoolSize for payment-service',
        description: 'Config change: spring.datasource.hikari.maximum-pool-size 50 -> 10',
        deployedAt: '2024-05-01T09:58:00.000Z',
        state: 'implemented',
        rollbackPlan: 'Restore maximum-pool-size to 50 and restart',
        author: 'Dana Ops',
      },
    ]);
  });

  it('maps change states: scheduled, cancelled, unsuccessful → rolled-back; planned start when no work start', async () => {
    fake.once('GET', '/api/now/table/change_request', {
      status: 200,
      json: {
        result: [
          { ...changeRecord, number: f('CHG1'), state: f('-2', 'Scheduled'), work_start: f('') },
          { ...changeRecord, number: f('CHG2'), state: f('4', 'Canceled') },
          { ...changeRecord, number: f('CHG3'), state: f('3', 'Closed'), close_code: f('unsuccessful', 'Unsuccessful') },
        ],
      },
    });
    const { sn } = adapter({ auth: { token: 'oauth-tok' } });

    const changes = await sn.listChanges({ from: '2024-05-01T08:00:00Z', to: '2024-05-01T12:00:00Z' });

    expect(fake.received[0].headers.authorization).toBe('Bearer oauth-tok');
    expect(changes.map((c) => [c.id, c.state, c.deployedAt])).toEqual([
      ['CHG2', 'cancelled', '2024-05-01T09:58:00.000Z'],
      ['CHG3', 'rolled-back', '2024-05-01T09:58:00.000Z'],
      ['CHG1', 'scheduled', '2024-05-01T09:00:00.000Z'],
    ]);
  });

  it('searches resolved incidents by keyword with LIKE, newest first, and ranks them by matches', async () => {
    fake.once('GET', '/api/now/table/incident', {
      status: 200,
      json: {
        result: [
          incidentRecord('INC0001900', 'Checkout slow', '2024-04-20 10:00:00', '2024-04-20 10:30:00', { description: f('Users saw slow pages'), close_notes: f('Scaled the web tier') }),
          incidentRecord('INC0001843', 'HikariCP connection pool exhausted on payment-service', '2024-03-01 08:00:00', '2024-03-01 08:47:00'),
        ],
      },
    });
    const { sn } = adapter();

    const found = await sn.searchIncidents({ text: 'HikariCP connection pool exhausted', services: ['payment-service'], limit: 2 });

    const query = fake.received[0].query.get('sysparm_query');
    expect(query).toBe(
      ['hikaricp', 'connection', 'pool', 'exhausted'].map((w) => `short_descriptionLIKE${w}^ORdescriptionLIKE${w}^ORclose_notesLIKE${w}`).join('^OR') +
        '^cmdb_ci.name=payment-service^ORbusiness_service.name=payment-service^stateIN6,7^ORDERBYDESCsys_created_on',
    );
    expect(fake.received[0].query.get('sysparm_limit')).toBe('10');
    expect(found[0]).toEqual({
      id: 'INC0001843',
      title: 'HikariCP connection pool exhausted on payment-service',
      service: 'payment-service',
      openedAt: '2024-03-01T08:00:00.000Z',
      resolvedAt: '2024-03-01T08:47:00.000Z',
      resolutionMinutes: 47,
      category: 'Software',
      rootCause: 'connection pool exhausted after pool size reduced',
      resolution: 'Rolled back the pool size change',
      tags: ['db', 'hikaricp'],
    });
    expect(found.map((i) => i.id)).toEqual(['INC0001843', 'INC0001900']);
  });

  it('reads the 404 "No Record found" of older releases as no records', async () => {
    fake.once('GET', '/api/now/table/incident', { status: 404, json: { error: { message: 'No Record found', detail: 'Records not found' }, status: 'failure' } });
    const { sn } = adapter();
    expect(await sn.searchIncidents({ text: 'database timeout' })).toEqual([]);
  });

  it('records an incident: looks it up by correlation_id, resolves the service sys_id, then POSTs it resolved', async () => {
    fake.once('GET', '/api/now/table/incident', { status: 200, json: { result: [] } });
    fake.once('GET', '/api/now/table/cmdb_ci_service', { status: 200, json: { result: [{ sys_id: f('svc-sys-1') }] } });
    fake.once('POST', '/api/now/table/incident', { status: 201, json: { result: { sys_id: 'new-1', number: 'INC0002001' } } });
    const { sn } = adapter();

    await sn.recordIncident({
      incident: {
        id: 'inc-42',
        title: 'payment-service errors after CHG0030001',
        service: 'payment-service',
        openedAt: '2024-05-01T10:00:00Z',
        resolvedAt: '2024-05-01T10:40:00Z',
        category: 'database',
        rootCause: 'pool size reduced to 10',
        resolution: 'rolled back CHG0030001',
        tags: ['hikaricp', 'config'],
      },
    });

    expect(fake.received.map((r) => `${r.method} ${r.path} ${r.query.get('sysparm_query') ?? ''}`)).toEqual([
      'GET /api/now/table/incident correlation_id=inc-42',
      'GET /api/now/table/cmdb_ci_service name=payment-service',
      'POST /api/now/table/incident ',
    ]);
    expect(fake.received[2].headers['content-type']).toBe('application/json');
    expect(JSON.parse(fake.received[2].body)).toEqual({
      correlation_id: 'inc-42',
      correlation_display: 'Incident Autopilot',
      short_description: 'payment-service errors after CHG0030001',
      description: 'Root cause: pool size reduced to 10\nService: payment-service\nTags: hikaricp, config',
      close_notes: 'rolled back CHG0030001',
      close_code: 'Solved (Permanently)',
      category: 'database',
      business_service: 'svc-sys-1',
      opened_at: '2024-05-01 10:00:00',
      state: '6',
      resolved_at: '2024-05-01 10:40:00',
    });
  });

  it('updates (PATCH) an incident it recorded before instead of duplicating it', async () => {
    fake.once('GET', '/api/now/table/incident', { status: 200, json: { result: [{ sys_id: f('old-sys') }] } });
    fake.once('GET', '/api/now/table/cmdb_ci_service', { status: 200, json: { result: [] } });
    fake.once('PATCH', '/api/now/table/incident/old-sys', { status: 200, json: { result: { sys_id: 'old-sys' } } });
    const { sn } = adapter();

    await sn.recordIncident({ incident: { id: 'inc-42', title: 't', service: 'unknown-svc', openedAt: '2024-05-01T10:00:00Z', rootCause: 'r', resolution: 's', tags: [] } });

    expect(fake.received.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /api/now/table/incident', 'GET /api/now/table/cmdb_ci_service', 'PATCH /api/now/table/incident/old-sys']);
    expect(JSON.parse(fake.received[2].body)).not.toHaveProperty('business_service');
  });

  it('does not POST an incident twice when the first POST gets no answer (ServiceNow may have created it)', async () => {
    fake.once('GET', '/api/now/table/incident', { status: 200, json: { result: [] } });
    fake.once('GET', '/api/now/table/cmdb_ci_service', { status: 200, json: { result: [] } });
    fake.always('POST', '/api/now/table/incident', 'hang');
    const { sn, waits } = adapter({ timeoutMs: 200, retries: 2 });

    const error = await rejectionOf(sn.recordIncident({ incident: { id: 'inc-42', title: 't', service: 's', openedAt: '2024-05-01T10:00:00Z', rootCause: 'r', resolution: 's', tags: [] } }));

    expect(error).toBeInstanceOf(ToolUnavailable);
    expect(error.message).toBe('ServiceNow unavailable: timed out after 200 ms on POST /api/now/table/incident; not retried: the POST may have taken effect without its answer arriving');
    expect(fake.received.filter((r) => r.method === 'POST')).toHaveLength(1);
    expect(waits).toEqual([]);
  });

  it('refuses to write when read-only, without calling ServiceNow', async () => {
    const { sn } = adapter({ readOnly: true });
    const error = await rejectionOf(sn.recordIncident({ incident: { id: 'x', title: 't', service: 's', openedAt: '2024-05-01T10:00:00Z', rootCause: 'r', resolution: 's', tags: [] } }));
    expect(error).toBeInstanceOf(ToolUnavailable);
    expect(error.message).toMatch(/^ServiceNow unavailable: read-only adapter/);
    expect(fake.received).toHaveLength(0);
  });

  it('waits the Retry-After of a 429, then succeeds', async () => {
    fake.once('GET', '/api/now/table/change_request', { status: 429, json: { error: { message: 'Rate limit exceeded' } }, headers: { 'retry-after': '1' } });
    fake.once('GET', '/api/now/table/change_request', { status: 200, json: { result: [changeRecord] } });
    const { sn, waits } = adapter();

    const changes = await sn.listChanges({ from: '2024-05-01T08:00:00Z', to: '2024-05-01T12:00:00Z' });

    expect(waits).toEqual([1000]);
    expect(changes.map((c) => c.id)).toEqual(['CHG0030001']);
  });

  it('reports a 503 as "ServiceNow unavailable: 503"', async () => {
    fake.always('GET', '/api/now/table/incident', { status: 503, text: '<html>Instance hibernating</html>' });
    const { sn } = adapter({ retries: 2 });

    const error = await rejectionOf(sn.searchIncidents({ text: 'pool exhausted' }));

    expect(error).toBeInstanceOf(ToolUnavailable);
    expect(error.message).toMatch(/^ServiceNow unavailable: 503 Service Unavailable on GET \/api\/now\/table\/incident: <html>Instance hibernating<\/html> \(after 3 attempts\)$/);
    expect(error.message).not.toContain('pw-123');
  });

  it('reports a server that never answers as a timeout', async () => {
    fake.always('GET', '/api/now/table/change_request', 'hang');
    const { sn } = adapter({ timeoutMs: 200, retries: 0 });

    const error = await rejectionOf(sn.listChanges({ from: '2024-05-01T08:00:00Z', to: '2024-05-01T12:00:00Z' }));

    expect(error.message).toBe('ServiceNow unavailable: timed out after 200 ms on GET /api/now/table/change_request');
  });

  it('escapes ^ in query values and classifies changes by text and category', () => {
    expect(encodedValue('a^ORb')).toBe('a^^ORb');
    expect(classifyChange({ short_description: 'Enable new-checkout feature flag' })).toBe('feature-flag');
    expect(classifyChange({ short_description: 'Replace load balancer certificate', category: 'Network' })).toBe('infrastructure');
    expect(classifyChange({ short_description: 'Deploy payment-service v2.4.0', category: 'Software' })).toBe('deploy');
    expect(section('Intro\nRoot cause: a\nb\nTags: x', 'Root cause')).toBe('a\nb');
  });
});
