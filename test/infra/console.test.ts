/**
 * The operator's console on AWS (lib/operator-console.ts), read from the synthesized template: a private bucket that
 * only the distribution reads (origin access control), the distribution's root object, HTTPS and headers, the content
 * with its config.json, the user pool and its client, the JWT authorizer on exactly the console's routes, and CORS.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RemovalPolicy } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { API_ROUTES } from '../../functions/registry.ts';
import { checkDomainPrefix, ConsoleSettingInvalid, defaultDomainPrefix, OperatorConsole } from '../../lib/operator-console.ts';
import { logicalIdOf } from '../../lib/nag-acknowledgements.ts';
import { arnOf, ref, resourceOf, SYNTH_TIMEOUT_MS, synthStack, type Synth } from './fixture.ts';

let synth: Synth;
let site: OperatorConsole;
beforeAll(() => {
  synth = synthStack();
  if (!synth.stack.console) throw new Error('the stack has no console by default');
  site = synth.stack.console;
}, SYNTH_TIMEOUT_MS);

const ofType = (type: string) => Object.entries(synth.resources).filter(([, r]) => r.Type === type);
const distributionDomain = () => ({ 'Fn::GetAtt': [logicalIdOf(site.distribution), 'DomainName'] });
const consoleOrigin = () => ({ 'Fn::Join': ['', ['https://', distributionDomain()]] });

describe('OperatorConsole: the site', () => {
  it('keeps the bucket private, encrypted and SSL-only', () => {
    const bucket = resourceOf(synth, site.bucket).Properties;
    expect(bucket.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    expect(bucket.BucketEncryption).toEqual({ ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] });
    synth.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: ref(site.bucket),
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('lets only this distribution read the bucket, through origin access control', () => {
    const [[, policy]] = ofType('AWS::S3::BucketPolicy').filter(([, r]) => JSON.stringify(r.Properties.Bucket) === JSON.stringify(ref(site.bucket)));
    const allows = (policy.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement.filter((s) => s.Effect === 'Allow');
    expect(allows).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'cloudfront.amazonaws.com' },
        Action: 's3:GetObject',
        Resource: { 'Fn::Join': ['', [arnOf(site.bucket), '/*']] },
        Condition: { StringEquals: { 'AWS:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudfront::', { Ref: 'AWS::AccountId' }, ':distribution/', ref(site.distribution)]] } } },
      },
    ]);
    const [[oacId, oac]] = ofType('AWS::CloudFront::OriginAccessControl');
    expect(oac.Properties.OriginAccessControlConfig).toMatchObject({ OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4' });
    const origins = (resourceOf(synth, site.distribution).Properties.DistributionConfig as { Origins: Record<string, unknown>[] }).Origins;
    expect(origins).toEqual([expect.objectContaining({ DomainName: { 'Fn::GetAtt': [logicalIdOf(site.bucket), 'RegionalDomainName'] }, OriginAccessControlId: { 'Fn::GetAtt': [oacId, 'Id'] } })]);
  });

  it('serves index.html at the root, over HTTPS only, with security headers and a CSP', () => {
    const config = resourceOf(synth, site.distribution).Properties.DistributionConfig as Record<string, Record<string, unknown>>;
    expect(config.DefaultRootObject).toBe('index.html');
    expect(config.DefaultCacheBehavior).toMatchObject({ ViewerProtocolPolicy: 'https-only', ResponseHeadersPolicyId: ref(site.headersPolicy) });
    const headers = (resourceOf(synth, site.headersPolicy).Properties.ResponseHeadersPolicyConfig as { SecurityHeadersConfig: Record<string, Record<string, unknown>> }).SecurityHeadersConfig;
    expect(headers.FrameOptions).toMatchObject({ FrameOption: 'DENY' });
    expect(headers.ContentTypeOptions).toMatchObject({ Override: true });
    expect(headers.StrictTransportSecurity).toMatchObject({ AccessControlMaxAgeSec: 31_536_000 });
    const csp = JSON.stringify(headers.ContentSecurityPolicy.ContentSecurityPolicy);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    // connect-src: this region's HTTP APIs and the managed login's exact domain.
    expect(csp).toMatch(/connect-src 'self' https:\/\/\*\.execute-api\./);
    expect(csp).toContain(JSON.stringify(ref(site.domain)));
  });

  it('deploys the console build and a config.json naming the API, the managed login and the client', () => {
    const [[, deployment]] = ofType('Custom::CDKBucketDeployment');
    // RetainOnDelete false: the deployment empties the bucket when it leaves the stack, so the bucket can be deleted.
    expect(deployment.Properties).toMatchObject({ DestinationBucketName: ref(site.bucket), DistributionId: ref(site.distribution), Prune: true, RetainOnDelete: false });
    expect(deployment.Properties.SourceObjectKeys).toHaveLength(2);
    const markers = JSON.stringify(deployment.Properties.SourceMarkers);
    for (const r of [{ 'Fn::GetAtt': [logicalIdOf(synth.stack.api.httpApi), 'ApiEndpoint'] }, ref(site.domain), ref(site.client)]) expect(markers).toContain(JSON.stringify(r));
    // The config.json asset itself, as staged in the cloud assembly (deploy-time values as markers).
    const assembly = synth.app.synth();
    const staged = readdirAssets(assembly.directory).find((dir) => existsSync(join(dir, 'config.json')));
    expect(staged).toBeDefined();
    const config = JSON.parse(readFileSync(join(staged!, 'config.json'), 'utf8')) as { apiBase: string; auth: { domain: string; clientId: string; scopes: string[] } };
    // The API's endpoint (https://<id>.execute-api.<region>.amazonaws.com), without the stage URL's trailing slash (the
    // twin's apiBase is ''): the console appends paths starting with '/'.
    const sourceMarkers = (deployment.Properties.SourceMarkers as Record<string, unknown>[])[1];
    expect(sourceMarkers[config.apiBase]).toEqual({ 'Fn::GetAtt': [logicalIdOf(synth.stack.api.httpApi), 'ApiEndpoint'] });
    expect(config.auth.domain).toMatch(/^https:\/\/<<marker:0xbaba:\d+>>\.auth\./);
    expect(config.auth.clientId).toMatch(/^<<marker:0xbaba:\d+>>$/);
    expect(config.auth.scopes).toEqual(['openid', 'email', 'profile']);
  });

  it('outputs the console URL', () => {
    const outputs = (synth.template.toJSON() as { Outputs: Record<string, { Value: unknown }> }).Outputs;
    expect(outputs.ConsoleUrl.Value).toEqual({ 'Fn::Join': ['', ['https://', distributionDomain(), '/']] });
  });
});

describe('OperatorConsole: sign-in', () => {
  it('lets only administrators create users, with a strong password, TOTP MFA and recovery by e-mail', () => {
    const pool = resourceOf(synth, site.userPool);
    expect(pool.Properties).toMatchObject({
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      Policies: { PasswordPolicy: { MinimumLength: 14, RequireLowercase: true, RequireUppercase: true, RequireNumbers: true, RequireSymbols: true } },
      MfaConfiguration: 'ON',
      EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
      AccountRecoverySetting: { RecoveryMechanisms: [{ Name: 'verified_email', Priority: 1 }] },
      DeletionProtection: 'ACTIVE',
    });
    expect(pool.DeletionPolicy).toBe('Retain');
  });

  it('uses the newer managed login, branded with Cognito\'s own style for the console\'s client', () => {
    expect(resourceOf(synth, site.domain).Properties).toMatchObject({ ManagedLoginVersion: 2, UserPoolId: ref(site.userPool) });
    expect(resourceOf(synth, site.branding).Properties).toEqual({ UserPoolId: ref(site.userPool), ClientId: ref(site.client), UseCognitoProvidedValues: true });
  });

  it('has a client without secret for the authorization-code grant, back to the console only, with short tokens', () => {
    const client = resourceOf(synth, site.client).Properties;
    expect(client).toMatchObject({
      GenerateSecret: false,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthScopes: ['openid', 'email', 'profile'],
      SupportedIdentityProviders: ['COGNITO'],
      CallbackURLs: [{ 'Fn::Join': ['', ['https://', distributionDomain(), '/']] }],
      LogoutURLs: [{ 'Fn::Join': ['', ['https://', distributionDomain(), '/']] }],
      IdTokenValidity: 30,
      AccessTokenValidity: 30,
      PreventUserExistenceErrors: 'ENABLED',
    });
    expect(client.ExplicitAuthFlows).not.toContain('ALLOW_USER_PASSWORD_AUTH');
  });

  it('authorizes every jwt route, and only those, with a JWT authorizer trusting this pool and client', () => {
    const [[authorizerId, authorizer]] = ofType('AWS::ApiGatewayV2::Authorizer');
    expect(authorizer.Properties).toMatchObject({
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: { Audience: [ref(site.client)], Issuer: { 'Fn::Join': ['', ['https://cognito-idp.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, '/', ref(site.userPool)]] } },
    });
    const jwtKeys = API_ROUTES.filter((r) => r.auth === 'jwt').map((r) => `${r.method} ${r.path}`);
    expect(jwtKeys).toContain('GET /console/incidents/{id}/signals');
    const routes = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties);
    const byJwt = routes.filter((r) => r.AuthorizationType === 'JWT');
    expect(byJwt.map((r) => r.RouteKey).sort()).toEqual([...jwtKeys].sort());
    for (const r of byJwt) expect(r.AuthorizerId).toEqual({ Ref: authorizerId });
    expect(routes.filter((r) => r.AuthorizerId !== undefined && r.AuthorizationType !== 'JWT').every((r) => JSON.stringify(r.AuthorizerId) !== JSON.stringify({ Ref: authorizerId }))).toBe(true);
  });

  it('answers CORS for the console\'s origin only: GET, POST and DELETE with Authorization and Content-Type', () => {
    expect(resourceOf(synth, synth.stack.api.httpApi).Properties.CorsConfiguration).toEqual({
      AllowOrigins: [consoleOrigin()],
      AllowMethods: ['GET', 'POST', 'DELETE'],
      AllowHeaders: ['authorization', 'content-type'],
      MaxAge: 3600,
    });
  });

  it('derives a default domain prefix from the stack and account, and refuses one Cognito would', () => {
    expect(defaultDomainPrefix('IncidentAutopilot', '123456789012')).toBe('incidentautopilot-123456789012');
    expect(defaultDomainPrefix('My_AWS_Stack', '123456789012')).toBe('my-stack-123456789012');
    expect(resourceOf(synth, site.domain).Properties.Domain).toEqual({ 'Fn::Join': ['', ['incidentautopilot-', { Ref: 'AWS::AccountId' }]] });
    expect(checkDomainPrefix('ops-console-eu')).toBe('ops-console-eu');
    for (const bad of ['Ops', '-ops', 'my-cognito', 'a'.repeat(64), 'ops_console']) expect(() => checkDomainPrefix(bad), bad).toThrow(ConsoleSettingInvalid);
  });
});

describe('IncidentAutopilotStack console settings', () => {
  it('builds no site, no user pool and no console route with console: false', () => {
    const without = synthStack({ console: false });
    expect(without.stack.console).toBeUndefined();
    for (const type of ['AWS::CloudFront::Distribution', 'AWS::Cognito::UserPool', 'AWS::S3::Bucket', 'AWS::ApiGatewayV2::Authorizer', 'Custom::CDKBucketDeployment']) without.template.resourceCountIs(type, 0);
    const keys = Object.values(without.resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Route').map((r) => r.Properties.RouteKey);
    expect(keys.length).toBe(API_ROUTES.filter((r) => r.auth !== 'jwt').length);
    expect(resourceOf(without, without.stack.api.httpApi).Properties.CorsConfiguration).toBeUndefined();
  }, SYNTH_TIMEOUT_MS);

  it('takes the domain prefix and the user pool\'s removal policy from its props', () => {
    const custom = synthStack({ consoleDomainPrefix: 'ops-console-eu', consoleUserPoolRemovalPolicy: RemovalPolicy.DESTROY });
    const consoleOf = custom.stack.console!;
    expect(resourceOf(custom, consoleOf.domain).Properties.Domain).toBe('ops-console-eu');
    const pool = resourceOf(custom, consoleOf.userPool);
    expect(pool.DeletionPolicy).toBe('Delete');
    expect(pool.Properties.DeletionProtection).toBe('INACTIVE');
    expect(() => synthStack({ consoleDomainPrefix: 'My Console' })).toThrow(ConsoleSettingInvalid);
  }, SYNTH_TIMEOUT_MS);
});

/** The staged asset directories of a cloud assembly. */
const readdirAssets = (dir: string): string[] => {
  const manifest = JSON.parse(readFileSync(join(dir, 'IncidentAutopilot.assets.json'), 'utf8')) as { files: Record<string, { source: { path: string } }> };
  return Object.values(manifest.files).map((f) => join(dir, f.source.path));
};
