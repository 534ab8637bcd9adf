import { describe, expect, it } from 'vitest';
import { type ApiEvent, signedInUser } from '../../../functions/core/http.ts';

const event = (claims?: Record<string, unknown>): ApiEvent => ({ requestContext: claims ? { authorizer: { jwt: { claims, scopes: [] } } } : {} }) as unknown as ApiEvent;

describe('signedInUser (jwt routes)', () => {
  it('names the e-mail, else the user name, else the subject', () => {
    expect(signedInUser(event({ email: 'ana@example.com', 'cognito:username': 'ana', sub: 'abc' }))).toBe('ana@example.com');
    expect(signedInUser(event({ 'cognito:username': 'ana', sub: 'abc' }))).toBe('ana');
    expect(signedInUser(event({ username: 'ana-access-token', sub: 'abc' }))).toBe('ana-access-token');
    expect(signedInUser(event({ sub: 'abc' }))).toBe('abc');
  });
  it('is undefined where no authorizer ran (the twin, the other auth kinds) or the claims name nobody', () => {
    expect(signedInUser(event())).toBeUndefined();
    expect(signedInUser(event({ email: '  ', sub: 42 }))).toBeUndefined();
  });
});
