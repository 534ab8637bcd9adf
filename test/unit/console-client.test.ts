/**
 * The console's browser code that needs no browser: its reading of /config.json (the contract with the stack, which
 * writes it on AWS, and the twin) and its hash routes (citations are routes to evidence items).
 */
import { describe, expect, it } from 'vitest';
import { ConfigInvalid, parseConfig } from '../../console/src/config.ts';
import { evidenceHref, incidentHref, parseRoute } from '../../console/src/paths.ts';

describe('the console reads /config.json', () => {
  it("takes the twin's (same origin, no sign-in) and the stack's (API URL, managed login)", () => {
    expect(parseConfig({ apiBase: '', auth: null })).toEqual({ apiBase: '', auth: null });
    const aws = { apiBase: 'https://abc123.execute-api.eu-west-1.amazonaws.com/', auth: { domain: 'https://autopilot-1.auth.eu-west-1.amazoncognito.com', clientId: 'c1', scopes: ['openid', 'email', 'profile'] } };
    expect(parseConfig(aws)).toEqual({ ...aws, apiBase: 'https://abc123.execute-api.eu-west-1.amazonaws.com' });
  });

  it('names the field that is wrong', () => {
    expect(() => parseConfig(null)).toThrow(ConfigInvalid);
    expect(() => parseConfig({ auth: null })).toThrow(/apiBase must be a string/);
    expect(() => parseConfig({ apiBase: 'javascript:alert(1)', auth: null })).toThrow(/apiBase must be an http\(s\) URL/);
    expect(() => parseConfig({ apiBase: '', auth: { domain: 'http://evil.example', clientId: 'c', scopes: [] } })).toThrow(/auth.domain must be the https origin/);
    expect(() => parseConfig({ apiBase: '', auth: { domain: 'https://x.example', clientId: '', scopes: [] } })).toThrow(/auth.clientId/);
    expect(() => parseConfig({ apiBase: '', auth: { domain: 'https://x.example', clientId: 'c', scopes: 'openid' } })).toThrow(/auth.scopes/);
  });
});

describe('the console routes', () => {
  it('parses each page, the incident id and the cited evidence decoded', () => {
    expect(parseRoute('')).toEqual({ page: 'incidents' });
    expect(parseRoute('#/incidents')).toEqual({ page: 'incidents' });
    expect(parseRoute('#/demo')).toEqual({ page: 'demo' });
    expect(parseRoute(incidentHref('inc-1/x y'))).toEqual({ page: 'incident', id: 'inc-1/x y' });
    expect(parseRoute(evidenceHref('inc-1', 'ev:rootcause:metric:svc:p99 ms'))).toEqual({ page: 'incident', id: 'inc-1', anchor: 'ev:rootcause:metric:svc:p99 ms' });
    expect(parseRoute('#/nowhere')).toEqual({ page: 'unknown', hash: '#/nowhere' });
    expect(parseRoute('#/incidents/%zz')).toEqual({ page: 'unknown', hash: '#/incidents/%zz' });
  });
});
