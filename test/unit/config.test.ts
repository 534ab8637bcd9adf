import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../functions/core/config.ts';

describe('unit: loadConfig', () => {
  it('applies the defaults when only TABLE_NAME is set', () => {
    expect(loadConfig({ TABLE_NAME: 'incidents' })).toMatchObject({ TABLE_NAME: 'incidents', EVENT_BUS_NAME: 'default', VERIFY_WAIT_SECONDS: 120, CORRELATION_WINDOW_SECONDS: 300, AUTO_APPROVE_LOW_RISK: true });
  });

  it('treats a blank variable as unset: the default, never 0 or an invalid URL', () => {
    const config = loadConfig({ TABLE_NAME: 'incidents', CORRELATION_WINDOW_SECONDS: '', VERIFY_WAIT_SECONDS: '  ', RETOOL_WORKFLOW_URL: '', API_BASE_URL: '' });
    expect(config.CORRELATION_WINDOW_SECONDS).toBe(300);
    expect(config.VERIFY_WAIT_SECONDS).toBe(120);
    expect(config.RETOOL_WORKFLOW_URL).toBeUndefined();
    expect(config.API_BASE_URL).toBeUndefined();
  });

  it('keeps an explicit 0 (correlation off)', () => {
    expect(loadConfig({ TABLE_NAME: 'incidents', CORRELATION_WINDOW_SECONDS: '0' }).CORRELATION_WINDOW_SECONDS).toBe(0);
  });

  it.each([
    [{}, /TABLE_NAME/],
    [{ TABLE_NAME: '' }, /TABLE_NAME/],
    [{ TABLE_NAME: 't', VERIFY_WAIT_SECONDS: 'soon' }, /VERIFY_WAIT_SECONDS/],
    [{ TABLE_NAME: 't', MAX_VERIFY_CHECKS: '21' }, /MAX_VERIFY_CHECKS/],
    [{ TABLE_NAME: 't', AUTO_APPROVE_LOW_RISK: 'yes' }, /AUTO_APPROVE_LOW_RISK/],
    [{ TABLE_NAME: 't', RETOOL_WORKFLOW_URL: 'not a url' }, /RETOOL_WORKFLOW_URL/],
  ])('fails with a ConfigError naming the variable (%j)', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(name);
  });
});
