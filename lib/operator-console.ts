/**
 * `OperatorConsole`: the operator's console on AWS — the single-page app (console/) as a static site, and the
 * sign-in that guards the console's API routes.
 *
 * - Site: a private, encrypted, SSL-only bucket, read by CloudFront alone through origin access control (the bucket
 *   policy names this distribution), HTTPS only, with security headers and a Content-Security-Policy on every answer.
 * - Sign-in: a Cognito user pool whose users an administrator creates (no self sign-up), managed login (the newer
 *   version, with Cognito's own branding), an app client without a secret for the authorization-code grant (the SPA
 *   adds PKCE), and the HTTP API's JWT authorizer trusting exactly this pool and client.
 * - Content: built at synth by `node console/build.ts <dir>` (local bundling, never Docker, so `cdk synth` works
 *   offline) and deployed with `/config.json`, which tells the SPA where the API and the managed login are.
 *
 * Built in two steps because the API needs the authorizer and the console's origin (CORS) before it exists, and the
 * content needs the API's URL: construct it, give `authorizer` and `origin` to the API, then `deployContent(apiUrl)`.
 *
 * One dependency is cut on purpose: the API's CORS names the distribution's domain, so the distribution's
 * Content-Security-Policy cannot name the API's own host (CloudFormation would see a cycle: distribution → headers
 * policy → API → distribution). Its `connect-src` allows HTTP APIs of this region (`https://*.execute-api.<region>…`)
 * and the exact managed-login domain instead.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Aws, DockerImage, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import {
  AllowedMethods,
  Distribution,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  HttpVersion,
  PriceClass,
  ResponseHeadersPolicy,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import {
  AccountRecovery,
  CfnManagedLoginBranding,
  FeaturePlan,
  ManagedLoginVersion,
  Mfa,
  OAuthScope,
  UserPool,
  UserPoolClient,
  UserPoolClientIdentityProvider,
  UserPoolDomain,
} from 'aws-cdk-lib/aws-cognito';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, CacheControl, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { literal, logicalIdOf, type WildcardAllowance } from './nag-acknowledgements.ts';

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
const CONSOLE_DIR = fileURLToPath(new URL('../console', import.meta.url));

/** The OAuth scopes of the console's app client; its /config.json names the same (CONSOLE_SCOPES), so they cannot drift. */
const CONSOLE_OAUTH_SCOPES = [OAuthScope.OPENID, OAuthScope.EMAIL, OAuthScope.PROFILE];
/** The OAuth scopes the console asks for (in its /config.json). */
export const CONSOLE_SCOPES: readonly string[] = CONSOLE_OAUTH_SCOPES.map((s) => s.scopeName);

/** What the SPA reads from `/config.json` on AWS (the twin serves `{ apiBase: '', auth: null }`). */
export interface ConsoleConfig {
  readonly apiBase: string;
  readonly auth: { readonly domain: string; readonly clientId: string; readonly scopes: readonly string[] };
}

export class ConsoleSettingInvalid extends Error {
  override name = 'ConsoleSettingInvalid';
}

export interface OperatorConsoleProps {
  /**
   * The managed login's domain prefix (`https://<prefix>.auth.<region>.amazoncognito.com`), unique in the region
   * across every AWS account: lowercase letters, digits and hyphens, without "aws", "amazon" or "cognito".
   * @default - `<stack name, lowercased>-<account id>`
   */
  readonly domainPrefix?: string;
  /**
   * What happens to the user pool (the console's users) when it leaves the stack. RETAIN also turns on the pool's
   * deletion protection.
   * @default RemovalPolicy.RETAIN
   */
  readonly userPoolRemovalPolicy?: RemovalPolicy;
  /**
   * How long an ID or access token is valid: the console signs in again (or refreshes) after it.
   * @default Duration.minutes(30)
   */
  readonly tokenValidity?: Duration;
  /**
   * How long a refresh token is valid: the longest a console stays signed in without the password.
   * @default Duration.hours(8)
   */
  readonly refreshTokenValidity?: Duration;
}

/** A prefix Cognito accepts: 1–63 of [a-z0-9-], not starting or ending with a hyphen, no reserved word. */
const PREFIX = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const RESERVED = /aws|amazon|cognito/;

/** The default prefix: the stack's name made acceptable, and the account id that makes it unique. */
export const defaultDomainPrefix = (stackName: string, account: string): string => {
  const name = stackName.toLowerCase().replace(RESERVED, '').replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'autopilot';
  return `${name}-${account}`;
};

export const checkDomainPrefix = (prefix: string): string => {
  if (Token.isUnresolved(prefix)) return prefix;
  if (!PREFIX.test(prefix) || RESERVED.test(prefix)) {
    throw new ConsoleSettingInvalid(`consoleDomainPrefix must be 1 to 63 lowercase letters, digits and hyphens (not at either end) without "aws", "amazon" or "cognito", got ${JSON.stringify(prefix)}`);
  }
  return prefix;
};

export class OperatorConsole extends Construct {
  /** The site's objects; only the distribution reads them. */
  public readonly bucket: Bucket;
  public readonly distribution: Distribution;
  public readonly headersPolicy: ResponseHeadersPolicy;
  /** `https://<distribution domain>` — the console's origin (CORS, callback and sign-out URLs). */
  public readonly origin: string;
  /** The console's URL, with the trailing slash the SPA is served at. */
  public readonly url: string;
  public readonly userPool: UserPool;
  public readonly domain: UserPoolDomain;
  public readonly client: UserPoolClient;
  public readonly branding: CfnManagedLoginBranding;
  /** The managed login's base URL (`https://<prefix>.auth.<region>.amazoncognito.com`). */
  public readonly signInUrl: string;
  /** The HTTP API's JWT authorizer for the console's routes: issuer this pool, audience this client. */
  public readonly authorizer: HttpJwtAuthorizer;
  /** Set by `deployContent`. */
  public deployment?: BucketDeployment;

  constructor(scope: Construct, id: string, props: OperatorConsoleProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);

    // ─── the site ───
    this.bucket = new Bucket(this, 'Bucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Only the build's output lives here, put back by every deploy; the deployment removes its objects when it
      // leaves the stack (retainOnDelete: false below), so the emptied bucket can go too.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'The bucket holds only the public build of the console (HTML, JavaScript, config.json with no secret), written by the deployment and read by CloudFront alone; every data request the console makes is logged by the HTTP API\'s access log.',
    });

    const removal = props.userPoolRemovalPolicy ?? RemovalPolicy.RETAIN;
    // ─── sign-in: the pool and its managed login (before the distribution: its CSP names the login's origin) ───
    this.userPool = new UserPool(this, 'UserPool', {
      // Administrators create the operators (`aws cognito-idp admin-create-user`): nobody signs themselves up.
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      autoVerify: { email: true },
      standardAttributes: { email: { required: true, mutable: true } },
      passwordPolicy: { minLength: 14, requireLowercase: true, requireUppercase: true, requireDigits: true, requireSymbols: true, tempPasswordValidity: Duration.days(3) },
      // A signed-in operator approves mitigations that run in production: a password alone is not enough. TOTP
      // (an authenticator app) is set up at the first sign-in by the managed login itself; no SMS, so no SNS role.
      mfa: Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: AccountRecovery.EMAIL_ONLY,
      featurePlan: FeaturePlan.ESSENTIALS,
      deletionProtection: removal === RemovalPolicy.RETAIN,
      removalPolicy: removal,
    });
    Validations.of(this.userPool).acknowledge(
      {
        id: 'AwsSolutions-COG8',
        reason: 'The Plus feature plan (threat protection) is a per-user cost; Essentials gives the newer managed login, and sign-in requires a strong password and TOTP MFA.',
      },
      {
        id: 'AwsSolutions-COG3',
        reason: 'Threat protection (advanced security) needs the Plus feature plan, a per-user cost this deployment does not impose; sign-in already requires a strong password and TOTP MFA, and there is no self sign-up.',
      },
    );
    const prefix = checkDomainPrefix(props.domainPrefix ?? defaultDomainPrefix(stack.stackName, Aws.ACCOUNT_ID));
    this.domain = this.userPool.addDomain('Domain', {
      cognitoDomain: { domainPrefix: prefix },
      managedLoginVersion: ManagedLoginVersion.NEWER_MANAGED_LOGIN,
    });
    this.signInUrl = this.domain.baseUrl();

    this.headersPolicy = new ResponseHeadersPolicy(this, 'Headers', {
      comment: 'Incident Autopilot console: security headers and CSP',
      securityHeadersBehavior: {
        contentSecurityPolicy: {
          contentSecurityPolicy: [
            "default-src 'self'",
            "script-src 'self'",
            // Chart libraries set inline style attributes; no inline script is allowed.
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            `connect-src 'self' https://*.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX} ${this.signInUrl}`,
            `form-action 'self' ${this.signInUrl}`,
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "object-src 'none'",
          ].join('; '),
          override: true,
        },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN, override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(365), includeSubdomains: true, override: true },
      },
    });

    this.distribution = new Distribution(this, 'Distribution', {
      comment: 'Incident Autopilot operator console',
      defaultRootObject: 'index.html',
      httpVersion: HttpVersion.HTTP2_AND_3,
      priceClass: PriceClass.PRICE_CLASS_100,
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
        responseHeadersPolicy: this.headersPolicy,
        compress: true,
      },
      // The SPA's own paths (a reload on /incidents/<id>) get the app; without s3:ListBucket a missing key is a 403.
      errorResponses: [403, 404].map((httpStatus) => ({ httpStatus, responseHttpStatus: 200, responsePagePath: '/index.html', ttl: Duration.seconds(10) })),
    });
    Validations.of(this.distribution).acknowledge(
      {
        id: 'AwsSolutions-CFR1',
        reason: 'Operators sign in from wherever they are on call; access is controlled by sign-in (Cognito, MFA), not by country.',
      },
      {
        id: 'AwsSolutions-CFR2',
        reason: 'The distribution serves only static files of the console; the API it calls is throttled by API Gateway and authorized per route. A WAF web ACL is a per-month cost a user can attach when needed.',
      },
      {
        id: 'AwsSolutions-CFR3',
        reason: 'The distribution serves only the console\'s static build; who read or changed what is in the HTTP API\'s access log, where every data request goes. Standard logging would need a second, ACL-enabled bucket.',
      },
      {
        id: 'AwsSolutions-CFR4',
        reason: 'The default *.cloudfront.net certificate is used (no custom domain to keep the stack deployable as is); CloudFront then fixes the viewer security policy, which cannot be raised without a custom certificate.',
      },
    );
    this.origin = `https://${this.distribution.distributionDomainName}`;
    this.url = `${this.origin}/`;

    this.client = this.userPool.addClient('Client', {
      // A browser app keeps no secret: the authorization-code grant with PKCE (the SPA sends the challenge).
      generateSecret: false,
      authFlows: { userSrp: true },
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: CONSOLE_OAUTH_SCOPES,
        callbackUrls: [this.url],
        logoutUrls: [this.url],
      },
      supportedIdentityProviders: [UserPoolClientIdentityProvider.COGNITO],
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      idTokenValidity: props.tokenValidity ?? Duration.minutes(30),
      accessTokenValidity: props.tokenValidity ?? Duration.minutes(30),
      refreshTokenValidity: props.refreshTokenValidity ?? Duration.hours(8),
    });
    // The newer managed login shows a page only for a client with a branding style: Cognito's own.
    this.branding = new CfnManagedLoginBranding(this, 'Branding', {
      userPoolId: this.userPool.userPoolId,
      clientId: this.client.userPoolClientId,
      useCognitoProvidedValues: true,
    });
    this.branding.node.addDependency(this.domain);

    // The console sends the ID token: API Gateway checks its issuer, signature, expiry and `aud` (this client).
    this.authorizer = new HttpJwtAuthorizer('ConsoleAuthorizer', `https://cognito-idp.${Aws.REGION}.${Aws.URL_SUFFIX}/${this.userPool.userPoolId}`, {
      jwtAudience: [this.client.userPoolClientId],
    });
  }

  /**
   * The deployment's handler is CDK's own singleton function (one per stack and memory size, at the stack's root):
   * its runtime, managed policy and wildcard grants are CDK's, not this project's to change.
   */
  private acknowledgeDeploymentHandler(): void {
    const stack = Stack.of(this);
    const handlers = stack.node.children.filter((c) => c.node.id.startsWith('Custom::CDKBucketDeployment'));
    if (handlers.length === 0) throw new Error('the BucketDeployment handler was not found at the stack root: has aws-cdk-lib moved it?');
    for (const handler of handlers) {
      Validations.of(handler).acknowledge(
        {
          id: 'AwsSolutions-L1',
          reason: 'The handler of CDK\'s BucketDeployment (a Python function with the AWS CLI layer); its runtime is pinned by aws-cdk-lib and moves with it.',
        },
        {
          id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
          reason: 'AWSLambdaBasicExecutionRole on CDK\'s BucketDeployment handler: it writes only its own logs.',
        },
        // CDK grants the handler whole families of object actions (its read and read-write grants) on the two buckets
        // it syncs between; the resources are excused by `wildcardAllowances`.
        ...['s3:GetBucket*', 's3:GetObject*', 's3:List*', 's3:Abort*', 's3:DeleteObject*'].map((action) => ({
          id: `AwsSolutions-IAM5[Action::${action}]`,
          reason: 'CDK\'s BucketDeployment read grant on the CDK asset bucket and read-write grant on the console bucket: it lists, copies and deletes objects to sync the site.',
        })),
      );
    }
  }

  /** Why the wildcard resources of the deployment handler's policy are acceptable (cdk-nag IAM5, nag-acknowledgements.ts). */
  public wildcardAllowances(): WildcardAllowance[] {
    return [
      {
        reason: 'The console bucket\'s own objects: the deployment syncs the whole site (every key of this bucket, no other).',
        resource: new RegExp(`^<${literal(logicalIdOf(this.bucket))}\\.Arn>/\\*$`),
        actions: /^s3:(Abort\*|DeleteObject\*|GetBucket\*|GetObject\*|List\*|PutObject|PutObjectLegalHold|PutObjectRetention|PutObjectTagging|PutObjectVersionTagging)$/,
      },
      {
        reason: 'The CDK asset bucket\'s objects, read only: the console build is an asset whose key is known at deploy.',
        resource: /^arn:<AWS::Partition>:s3:::cdk-[a-z0-9]+-assets-<AWS::AccountId>-<AWS::Region>\/\*$/,
        actions: /^s3:(GetBucket\*|GetObject\*|List\*)$/,
      },
      {
        reason: 'CloudFront invalidations after a deploy: CreateInvalidation and GetInvalidation take no resource in the deployment handler\'s grant.',
        resource: /^\*$/,
        actions: /^cloudfront:(CreateInvalidation|GetInvalidation)$/,
      },
    ];
  }

  /** The `/config.json` the SPA reads at start. */
  public config(apiBase: string): ConsoleConfig {
    return { apiBase, auth: { domain: this.signInUrl, clientId: this.client.userPoolClientId, scopes: [...CONSOLE_SCOPES] } };
  }

  /**
   * Deploys the console: the build of console/ (made at synth by `node console/build.ts <dir>`) and `/config.json`
   * with the API's URL, the managed login and the client. `index.html` and `config.json` are never cached for long,
   * so a deploy shows at the next load; the distribution is invalidated too.
   */
  public deployContent(apiBase: string): BucketDeployment {
    // The asset is console/ (its hash decides whether to build again); the build writes into CDK's output directory.
    const build = Source.asset(CONSOLE_DIR, {
      bundling: {
        // Never used: local bundling always answers (Docker is neither needed nor wanted).
        image: DockerImage.fromRegistry('unused-local-bundling-only'),
        local: {
          tryBundle(outputDir: string): boolean {
            execFileSync(process.execPath, [fileURLToPath(new URL('../console/build.ts', import.meta.url)), outputDir], { cwd: PROJECT_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
            return true;
          },
        },
      },
    });
    this.deployment = new BucketDeployment(this, 'Content', {
      destinationBucket: this.bucket,
      sources: [build, Source.jsonData('config.json', this.config(apiBase))],
      cacheControl: [CacheControl.noCache()],
      distribution: this.distribution,
      distributionPaths: ['/*'],
      retainOnDelete: false,
      memoryLimit: 256,
    });
    this.acknowledgeDeploymentHandler();
    return this.deployment;
  }
}
