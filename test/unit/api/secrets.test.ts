import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SecretUnavailable, SecretsManagerSecret, StaticSecret, secretsMatch } from '../../../functions/core/secrets.ts';
import { header, readBody } from '../../../functions/core/http.ts';
import { apiEvent } from './fixtures.ts';

const secrets = mockClient(SecretsManagerClient);

describe('unit: SecretsManagerSecret', () => {
  beforeEach(() => {
    secrets.reset();
  });

  it('reads the secret once within the TTL and again after it', async () => {
    // Prepare
    let now = 0;
    secrets.on(GetSecretValueCommand).resolvesOnce({ SecretString: 'v1' }).resolves({ SecretString: 'v2' });
    const secret = new SecretsManagerSecret(new SecretsManagerClient({ region: 'us-east-1' }), 'incident-autopilot/webhook', { ttlMs: 1000, now: () => now });
    // Act
    const reads = [await secret.getSecret(), await secret.getSecret()];
    now = 1001;
    reads.push(await secret.getSecret());
    // Assess
    expect(reads).toEqual(['v1', 'v1', 'v2']);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    expect(secrets.commandCalls(GetSecretValueCommand)[0].args[0].input).toEqual({ SecretId: 'incident-autopilot/webhook' });
  });

  it('shares one request between concurrent cold reads', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'v1' });
    const secret = new SecretsManagerSecret(new SecretsManagerClient({ region: 'us-east-1' }), 'id');
    expect(await Promise.all([secret.getSecret(), secret.getSecret(), secret.getSecret()])).toEqual(['v1', 'v1', 'v1']);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('fails with SecretUnavailable for a secret without a string value', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretBinary: new Uint8Array([1]) });
    const secret = new SecretsManagerSecret(new SecretsManagerClient({ region: 'us-east-1' }), 'id');
    await expect(secret.getSecret()).rejects.toBeInstanceOf(SecretUnavailable);
  });
});

describe('unit: secret comparison and request helpers', () => {
  it('matches only the exact secret', () => {
    expect(secretsMatch('s3cret', 's3cret')).toBe(true);
    expect(secretsMatch('s3cre', 's3cret')).toBe(false);
    expect(secretsMatch('s3cret ', 's3cret')).toBe(false);
    expect(secretsMatch(undefined, 's3cret')).toBe(false);
    expect(secretsMatch('', '')).toBe(false);
    expect(() => new StaticSecret('')).toThrow(SecretUnavailable);
  });

  it('finds headers case-insensitively and measures base64 bodies after decoding', () => {
    const event = { ...apiEvent('POST /alerts/{source}', { path: { source: 'generic' } }), headers: { 'X-Autopilot-Secret': 'a' }, body: Buffer.from('{"a":1}').toString('base64'), isBase64Encoded: true };
    expect(header(event, 'x-autopilot-secret')).toBe('a');
    expect(readBody(event, 7)).toBe('{"a":1}');
    expect(() => readBody(event, 6)).toThrow(/7 bytes; the limit is 6/);
  });
});

describe('unit: presented secret', () => {
  it('accepts Authorization: Bearer when the secret header is absent, the header winning otherwise', async () => {
    const { presentedSecret } = await import('../../../functions/core/http.ts');
    const base = apiEvent('POST /alerts/{source}', { path: { source: 'alertmanager' }, secret: null });
    expect(presentedSecret({ ...base, headers: { authorization: 'Bearer s3cret' } })).toBe('s3cret');
    expect(presentedSecret({ ...base, headers: { authorization: 'Basic czNjcmV0' } })).toBeUndefined();
    expect(presentedSecret({ ...base, headers: { authorization: 'Bearer other', 'x-autopilot-secret': 'mine' } })).toBe('mine');
  });
});
