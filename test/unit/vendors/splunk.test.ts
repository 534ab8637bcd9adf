import { describe, expect, it } from 'vitest';
import { ToolUnavailable } from '../../../functions/core/tools/ports.ts';
import { InvalidSplunkField, SplunkLogs, splString } from '../../../functions/core/tools/vendors/splunk.ts';
import { recordingSleep, rejectionOf, useFakeVendor } from './fake-vendor.ts';

const window = { from: '2024-05-01T12:00:00Z', to: '2024-05-01T12:15:00Z' };
const FROM = Date.parse(window.from) / 1000;
const TO = Date.parse(window.to) / 1000;

/** The export endpoint's JSON-lines body. */
const stream = (...rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n');

describe('unit: SplunkLogs against a fake search export endpoint', () => {
  const fake = useFakeVendor();
  const adapter = (over: Partial<ConstructorParameters<typeof SplunkLogs>[0]> = {}) => {
    const rec = recordingSleep();
    return { splunk: new SplunkLogs({ baseUrl: fake.url, token: 'splunk-tok', index: 'app_logs', sleep: rec.sleep, timeoutMs: 2_000, ...over }), waits: rec.waits };
  };

  it('POSTs the SPL as a form to /services/search/v2/jobs/export and maps the JSON lines', async () => {
    // Prepare
    fake.once('POST', '/services/search/v2/jobs/export', {
      status: 200,
      text: stream(
        { preview: false, offset: 0, result: { _time: '2024-05-01T12:05:02.000+00:00', host: 'pay-1', service: 'payment-service', log_level: 'ERROR', _raw: '2024-05-01 12:05:02 ERROR HikariPool-1 - Connection is not available', trace_id: 't-1' } },
        { preview: false, offset: 1, result: { _time: '2024-05-01T14:04:59.500+02:00', host: 'pay-2', service: 'payment-service', log_level: 'WARNING', message: 'HikariPool-1 - Thread starvation or clock leap detected' } },
        { preview: false, offset: 2, lastrow: true, result: { _time: '2024-05-01T12:06:00.000+00:00', service: ['checkout-service', 'x'], log_level: 'CRITICAL', _raw: 'payment call failed' } },
      ),
    });
    const { splunk } = adapter();

    // Act
    const lines = await splunk.search({ ...window, services: ['payment-service', 'checkout-service'], minLevel: 'WARN', limit: 500 });

    // Assess: request
    const req = fake.received[0];
    expect(req.headers.authorization).toBe('Bearer splunk-tok');
    expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
    const form = new URLSearchParams(req.body);
    expect(form.get('output_mode')).toBe('json');
    expect(form.get('search')).toBe(
      `search index="app_logs" service IN ("payment-service","checkout-service") log_level IN ("WARN","WARNING","ERROR","ERR","SEVERE","FATAL","CRITICAL","CRIT","ALERT","EMERG","EMERGENCY","PANIC") earliest=${FROM} latest=${TO}` +
        ' | head 500 | fields _time, host, _raw, message, trace_id, traceId, service, log_level',
    );
    // Assess: mapping, in time order
    expect(lines).toEqual([
      { timestamp: '2024-05-01T12:04:59.500Z', service: 'payment-service', level: 'WARN', message: 'HikariPool-1 - Thread starvation or clock leap detected', host: 'pay-2' },
      { timestamp: '2024-05-01T12:05:02.000Z', service: 'payment-service', level: 'ERROR', message: '2024-05-01 12:05:02 ERROR HikariPool-1 - Connection is not available', host: 'pay-1', traceId: 't-1' },
      { timestamp: '2024-05-01T12:06:00.000Z', service: 'checkout-service', level: 'FATAL', message: 'payment call failed' },
    ]);
  });

  it('escapes user-controlled values so they cannot leave the string (no injected pipe or command)', async () => {
    fake.once('POST', '/services/search/v2/jobs/export', { status: 200, text: '' });
    const { splunk } = adapter({ authScheme: 'Splunk' });

    await splunk.search({ ...window, services: ['pay" | delete | search "x', 'a\\b'] });

    const search = new URLSearchParams(fake.received[0].body).get('search') ?? '';
    expect(search).toContain('service IN ("pay\\" | delete | search \\"x","a\\\\b")');
    // No level filter when every level is wanted.
    expect(search).not.toContain('log_level IN');
    expect(fake.received[0].headers.authorization).toBe('Splunk splunk-tok');
    expect(splString('say "hi"')).toBe('"say \\"hi\\""');
  });

  it('rejects a configured field name that is not a plain field', () => {
    expect(() => new SplunkLogs({ baseUrl: fake.url, token: 't', serviceField: 'service | delete' })).toThrow(InvalidSplunkField);
    expect(() => new SplunkLogs({ baseUrl: fake.url, token: 't', serviceField: 'service | delete' })).toThrow(/serviceField/);
  });

  it('skips preview rows and reports search errors sent as messages', async () => {
    fake.once('POST', '/services/search/v2/jobs/export', {
      status: 200,
      text: stream({ preview: true, result: { _time: '2024-05-01T12:05:00Z', _raw: 'partial' } }, { messages: [{ type: 'ERROR', text: "Unknown search command 'hed'." }] }),
    });
    const { splunk } = adapter();

    const error = await rejectionOf(splunk.search({ ...window, services: ['payment-service'] }));

    expect(error).toBeInstanceOf(ToolUnavailable);
    expect(error.message).toBe("Splunk unavailable: search failed: Unknown search command 'hed'.");
  });

  it('waits the Retry-After of a 429, then succeeds', async () => {
    fake.once('POST', '/services/search/v2/jobs/export', { status: 429, text: 'Too many concurrent searches', headers: { 'retry-after': '1' } });
    fake.once('POST', '/services/search/v2/jobs/export', { status: 200, text: stream({ preview: false, result: { _time: '2024-05-01T12:05:00Z', service: 'payment-service', log_level: 'INFO', _raw: 'ok' } }) });
    const { splunk, waits } = adapter();

    const lines = await splunk.search({ ...window, services: ['payment-service'] });

    expect(waits).toEqual([1000]);
    expect(lines).toHaveLength(1);
  });

  it('reports a 503 as "Splunk unavailable: 503"', async () => {
    fake.always('POST', '/services/search/v2/jobs/export', { status: 503, text: 'Search head is down' });
    const { splunk } = adapter({ retries: 0 });

    const error = await rejectionOf(splunk.search({ ...window, services: ['payment-service'] }));

    expect(error.message).toBe('Splunk unavailable: 503 Service Unavailable on POST /services/search/v2/jobs/export: Search head is down');
  });

  it('reports a server that never answers as a timeout', async () => {
    fake.always('POST', '/services/search/v2/jobs/export', 'hang');
    const { splunk } = adapter({ timeoutMs: 200, retries: 1 });

    const error = await rejectionOf(splunk.search({ ...window, services: ['payment-service'] }));

    expect(error).toBeInstanceOf(ToolUnavailable);
    expect(error.message).toBe('Splunk unavailable: timed out after 200 ms on POST /services/search/v2/jobs/export (after 2 attempts)');
    expect(fake.received).toHaveLength(2);
  });
});
