import { describe, expect, it } from 'vitest';
import { ToolUnavailable } from '../../../functions/core/tools/ports.ts';
import { PagerDutyOnCall } from '../../../functions/core/tools/vendors/pagerduty.ts';
import { type Received, recordingSleep, rejectionOf, useFakeVendor } from './fake-vendor.ts';

const ACCEPT = 'application/vnd.pagerduty+json;version=2';

const service = (id: string, name: string, policy: string, teams: { id: string; summary: string; name?: string }[] = []) => ({
  id,
  type: 'service',
  summary: name,
  name,
  status: 'active',
  escalation_policy: { id: policy, type: 'escalation_policy_reference', summary: `${name} policy`, html_url: `https://acme.pagerduty.com/escalation_policies/${policy}` },
  teams: teams.map((t) => ({ ...t, type: 'team' })),
});

const user = (id: string, name: string, email: string) => ({ id, type: 'user', summary: name, name, email, html_url: `https://acme.pagerduty.com/users/${id}` });
const oncall = (policy: string, level: number, u: ReturnType<typeof user>) => ({
  escalation_policy: { id: policy, type: 'escalation_policy_reference', summary: 'policy' },
  escalation_level: level,
  schedule: { id: `S${level}`, type: 'schedule_reference', summary: `level ${level}` },
  user: u,
  start: '2024-05-01T08:00:00Z',
  end: '2024-05-02T08:00:00Z',
});

/** /services answers by the `query` parameter, as PagerDuty filters by name substring. */
const servicesByQuery = (all: ReturnType<typeof service>[]) => (r: Received) => ({
  status: 200,
  json: { services: all.filter((s) => s.name.includes(r.query.get('query') ?? '')), limit: 100, offset: 0, more: false, total: null },
});

describe('unit: PagerDutyOnCall against a fake PagerDuty REST API v2', () => {
  const fake = useFakeVendor();
  const adapter = (over: Partial<ConstructorParameters<typeof PagerDutyOnCall>[0]> = {}) => {
    const rec = recordingSleep();
    return { pd: new PagerDutyOnCall({ baseUrl: fake.url, token: 'pd-key', sleep: rec.sleep, timeoutMs: 2_000, ...over }), waits: rec.waits };
  };

  const directory = [
    service('PSVC1', 'payment-service', 'PEP1', [{ id: 'PT1', summary: 'Payments Team', name: 'Payments Team' }]),
    service('PSVC2', 'payment-service-legacy', 'PEP9'),
    service('PSVC3', 'checkout-service', 'PEP2'),
  ];

  it('finds services by exact name and returns level 1 as primary, the next level as escalation, across pages', async () => {
    // Prepare
    fake.always('GET', '/services', servicesByQuery(directory));
    fake.once('GET', '/oncalls', {
      status: 200,
      json: { oncalls: [oncall('PEP1', 2, user('PU2', 'Erin Lead', 'erin@example.com')), oncall('PEP2', 1, user('PU3', 'Cam Checkout', 'cam@example.com'))], limit: 100, offset: 0, more: true },
    });
    fake.once('GET', '/oncalls', { status: 200, json: { oncalls: [oncall('PEP1', 1, user('PU1', 'Pat Primary', 'pat@example.com'))], limit: 100, offset: 2, more: false } });
    const { pd } = adapter();

    // Act
    const entries = await pd.getOnCall({ services: ['payment-service', 'checkout-service', 'unknown-service'] });

    // Assess: requests
    const servicesReq = fake.received.filter((r) => r.path === '/services');
    expect(servicesReq.map((r) => r.query.get('query'))).toEqual(['payment-service', 'checkout-service', 'unknown-service']);
    expect(servicesReq[0].query.getAll('include[]')).toEqual(['teams']);
    for (const r of fake.received) {
      expect(r.headers.authorization).toBe('Token token=pd-key');
      expect(r.headers.accept).toBe(ACCEPT);
    }
    const oncallReqs = fake.received.filter((r) => r.path === '/oncalls');
    expect(oncallReqs[0].query.getAll('escalation_policy_ids[]')).toEqual(['PEP1', 'PEP2']);
    expect(oncallReqs[0].query.getAll('include[]')).toEqual(['users']);
    expect(oncallReqs[0].query.get('earliest')).toBe('true');
    expect(oncallReqs.map((r) => [r.query.get('limit'), r.query.get('offset')])).toEqual([
      ['100', '0'],
      ['100', '2'],
    ]);
    // Assess: mapping (the legacy service of a similar name is not taken)
    expect(entries).toEqual([
      { service: 'payment-service', primary: { name: 'Pat Primary', contact: 'pat@example.com' }, escalation: { name: 'Erin Lead', contact: 'erin@example.com' } },
      { service: 'checkout-service', primary: { name: 'Cam Checkout', contact: 'cam@example.com' } },
    ]);
  });

  it('gives ownership from the service team, or its escalation policy without a team', async () => {
    fake.always('GET', '/services', servicesByQuery(directory));
    const { pd } = adapter();

    const owners = await pd.getOwnership({ services: ['payment-service', 'checkout-service', 'nope'] });

    expect(owners).toEqual([
      { service: 'payment-service', team: 'Payments Team' },
      { service: 'checkout-service', team: 'checkout-service policy' },
    ]);
  });

  it('looks each service up once when on-call and ownership are asked together (as triage does)', async () => {
    fake.always('GET', '/services', servicesByQuery(directory));
    fake.always('GET', '/oncalls', { status: 200, json: { oncalls: [oncall('PEP1', 1, user('PU1', 'Pat Primary', 'pat@example.com'))], more: false } });
    const { pd } = adapter();

    const [entries, owners] = await Promise.all([pd.getOnCall({ services: ['payment-service'] }), pd.getOwnership({ services: ['payment-service'] })]);

    expect(fake.received.filter((r) => r.path === '/services')).toHaveLength(1);
    expect(entries.map((e) => e.primary.name)).toEqual(['Pat Primary']);
    expect(owners).toEqual([{ service: 'payment-service', team: 'Payments Team' }]);
  });

  it('does not remember a failed lookup', async () => {
    fake.once('GET', '/services', { status: 403, json: { error: { message: 'Forbidden' } } });
    fake.always('GET', '/services', servicesByQuery(directory));
    const { pd } = adapter();

    await rejectionOf(pd.getOwnership({ services: ['payment-service'] }));
    const owners = await pd.getOwnership({ services: ['payment-service'] });

    expect(owners).toEqual([{ service: 'payment-service', team: 'Payments Team' }]);
    expect(fake.received.filter((r) => r.path === '/services')).toHaveLength(2);
  });

  it('waits the Retry-After of a 429, then succeeds', async () => {
    fake.once('GET', '/services', { status: 429, json: { error: { message: 'Rate Limit Exceeded', code: 2020 } }, headers: { 'retry-after': '1' } });
    fake.always('GET', '/services', servicesByQuery(directory));
    const { pd, waits } = adapter();

    const owners = await pd.getOwnership({ services: ['payment-service'] });

    expect(waits).toEqual([1000]);
    expect(owners).toEqual([{ service: 'payment-service', team: 'Payments Team' }]);
  });

  it('reports a 503 as "PagerDuty unavailable: 503"', async () => {
    fake.always('GET', '/services', { status: 503, json: { error: { message: 'Service Unavailable' } } });
    const { pd } = adapter({ retries: 1 });

    const error = await rejectionOf(pd.getOnCall({ services: ['payment-service'] }));

    expect(error).toBeInstanceOf(ToolUnavailable);
    expect(error.message).toMatch(/^PagerDuty unavailable: 503 Service Unavailable on GET \/services/);
    expect(error.message).not.toContain('pd-key');
  });

  it('reports a server that never answers as a timeout', async () => {
    fake.always('GET', '/services', 'hang');
    const { pd } = adapter({ timeoutMs: 200, retries: 0 });

    const error = await rejectionOf(pd.getOwnership({ services: ['payment-service'] }));

    expect(error.message).toBe('PagerDuty unavailable: timed out after 200 ms on GET /services');
  });
});
