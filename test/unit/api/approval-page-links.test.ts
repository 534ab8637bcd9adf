import { describe, expect, it } from 'vitest';
import {
  ApprovalLinkExpired,
  ApprovalLinkInvalid,
  ApprovalLinks,
  approvalLinkUrl,
  deriveLinkKey,
  linkExpiry,
  signApprovalLink,
  verifyApprovalLink,
} from '../../../functions/core/approval-links.ts';
import { secretsMatch, type SecretProvider } from '../../../functions/core/secrets.ts';

const SECRET = 'sample-webhook-secret';
const key = deriveLinkKey(SECRET);
const EXPIRY = Date.parse('2024-05-01T13:14:00.000Z') / 1000;
const BEFORE = new Date('2024-05-01T12:30:00.000Z');
const claims = { incidentId: 'inc-20240501-9f2c4e1a7b', decision: 'approve', expiresAt: EXPIRY, requestId: 'Qx3vN0b2cJ9yW8eKp4s1tA' } as const;

/** Flips one character of a base64url string (to another base64url character). */
const flip = (s: string, at: number): string => `${s.slice(0, at)}${s[at] === 'A' ? 'B' : 'A'}${s.slice(at + 1)}`;
const encodeClaims = (wire: Record<string, unknown>): string => Buffer.from(JSON.stringify(wire), 'utf8').toString('base64url');

describe('unit: approval links, sign and verify', () => {
  it('verifies a link it signed and returns its claims', () => {
    // Prepare
    const token = signApprovalLink(key, claims);
    // Act
    const verified = verifyApprovalLink(key, token, BEFORE);
    // Assess
    expect(verified).toEqual(claims);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
  });

  it('derives a key that is neither the secret nor the same for another secret', () => {
    expect(key).toHaveLength(32);
    expect(key.toString('utf8')).not.toContain(SECRET);
    expect(deriveLinkKey(`${SECRET}x`).equals(key)).toBe(false);
    expect(deriveLinkKey(SECRET).equals(key)).toBe(true);
  });

  it('never puts the secret into the token', () => {
    const token = signApprovalLink(key, claims);
    expect(token).not.toContain(SECRET);
    expect(Buffer.from(token.split('.')[0], 'base64url').toString('utf8')).not.toContain(SECRET);
    expect(secretsMatch(token, SECRET)).toBe(false);
  });

  it('refuses a link signed with another key with ApprovalLinkInvalid', () => {
    const token = signApprovalLink(deriveLinkKey('another-secret'), claims);
    expect(() => verifyApprovalLink(key, token, BEFORE)).toThrow(ApprovalLinkInvalid);
  });

  it('refuses a flipped signature character', () => {
    const [payload, signature] = signApprovalLink(key, claims).split('.');
    expect(() => verifyApprovalLink(key, `${payload}.${flip(signature, 5)}`, BEFORE)).toThrow(ApprovalLinkInvalid);
  });

  it.each([
    ['the decision', { d: 'reject' }],
    ['the incident', { i: 'inc-other' }],
    ['the expiry', { e: EXPIRY + 86_400 }],
    ['the approval request', { r: 'another-request' }],
  ])('refuses a link whose %s was changed (signature kept)', (_, change) => {
    // Prepare: the attacker re-encodes altered claims and keeps the genuine signature
    const signature = signApprovalLink(key, claims).split('.')[1];
    const altered = encodeClaims({ v: 1, i: claims.incidentId, d: claims.decision, e: claims.expiresAt, r: claims.requestId, ...change });
    // Act + Assess
    expect(() => verifyApprovalLink(key, `${altered}.${signature}`, BEFORE)).toThrow(ApprovalLinkInvalid);
  });

  it.each([
    ['empty', ''],
    ['no signature', 'eyJ2IjoxfQ'],
    ['three parts', 'a.b.c'],
    ['non-base64url characters', 'abc+/.def='],
    ['a truncated signature', `${signApprovalLink(key, claims).slice(0, -3)}`],
    ['an over-long token', `${'a'.repeat(2000)}.b`],
  ])('refuses %s without throwing anything else', (_, token) => {
    expect(() => verifyApprovalLink(key, token, BEFORE)).toThrow(ApprovalLinkInvalid);
  });

  it('expires exactly at the expiry (the approval deadline) with ApprovalLinkExpired carrying the claims', () => {
    // Prepare
    const token = signApprovalLink(key, claims);
    // Act
    const justBefore = () => verifyApprovalLink(key, token, new Date(EXPIRY * 1000 - 1));
    const atExpiry = () => verifyApprovalLink(key, token, new Date(EXPIRY * 1000));
    // Assess
    expect(justBefore()).toEqual(claims);
    expect(atExpiry).toThrow(ApprovalLinkExpired);
    try {
      atExpiry();
    } catch (error) {
      expect((error as ApprovalLinkExpired).claims).toEqual(claims);
      expect((error as Error).message).toContain('2024-05-01T13:14:00.000Z');
    }
  });

  it('checks the signature before the expiry: a tampered expired link is invalid, not expired', () => {
    const signature = signApprovalLink(key, claims).split('.')[1];
    const altered = encodeClaims({ v: 1, i: 'inc-x', d: 'approve', e: 1, r: 'r' });
    expect(() => verifyApprovalLink(key, `${altered}.${signature}`, BEFORE)).toThrow(ApprovalLinkInvalid);
  });

  it('refuses to sign claims that do not fit (named field)', () => {
    expect(() => signApprovalLink(key, { ...claims, incidentId: '' })).toThrow(/i/);
    expect(() => signApprovalLink(key, { ...claims, expiresAt: 1.5 })).toThrow();
  });

  it('rounds the link expiry down to the second, never past the deadline', () => {
    expect(linkExpiry('2024-05-01T13:14:00.999Z')).toBe(EXPIRY);
  });

  it('builds the link URL under /approvals/ without doubling slashes', () => {
    expect(approvalLinkUrl('https://api.example.com/', 'a.b')).toBe('https://api.example.com/approvals/a.b');
    expect(approvalLinkUrl(undefined, 'a.b')).toBe('/approvals/a.b');
  });
});

describe('unit: ApprovalLinks over a secret provider', () => {
  it('re-derives the key when the secret rotates: old links stop verifying', async () => {
    // Prepare
    let current = SECRET;
    const provider: SecretProvider = { getSecret: async () => current };
    const links = new ApprovalLinks(provider);
    const token = await links.sign(claims);
    // Act
    const before = await links.verify(token, BEFORE);
    current = 'rotated-secret-value';
    const after = links.verify(token, BEFORE);
    // Assess
    expect(before).toEqual(claims);
    await expect(after).rejects.toBeInstanceOf(ApprovalLinkInvalid);
    expect(await links.verify(await links.sign(claims), BEFORE)).toEqual(claims);
  });
});
