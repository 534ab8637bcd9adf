/**
 * `AlertApi`: the HTTP API (API Gateway v2) in front of the API functions.
 *
 *   POST /alerts/{source}           → ingest-alert      shared-secret header, checked by the function
 *   POST /incidents/{id}/approval   → decide-approval   shared-secret header, checked by the function
 *   POST /incidents/{id}/rerun      → rerun-incident    shared-secret header, checked by the function
 *   GET  /approvals/{token}         → approval-page     signed link: confirmation page only, decides nothing
 *   POST /approvals/{token}         → approval-page     signed link: the page's form, decides once
 *   GET  /incidents                 → query-incidents   IAM (SigV4)
 *   GET  /incidents/{id}            → query-incidents   IAM (SigV4)
 *
 * Why two kinds of auth. Monitoring vendors (Dynatrace, Alertmanager, Datadog) and Retool can only send static
 * headers, so the write routes carry a shared secret (Secrets Manager, generated) that the functions verify
 * before doing anything else (their `secret:webhook` access in functions/registry.ts). The read routes serve
 * people and tools that hold AWS credentials (operators, the CLI, dashboards), so API Gateway checks a SigV4
 * signature against IAM and the query function needs no secret at all. Approvers' browsers can send neither, so
 * the approval links carry their credential in the path: an HMAC-signed token bound to one incident, one approval
 * request and one decision, expiring at the approval deadline, verified by the function. Approvals are never
 * decided by a GET (mail scanners follow links).
 *
 * The default stage throttles (a runaway alert storm cannot exhaust Lambda concurrency) and writes access logs.
 *
 * Load shedding. The webhook route has its own throttle (`webhookThrottleRateLimit`, `webhookThrottleBurstLimit`):
 * API Gateway answers requests beyond it `429 {"message":"Too Many Requests"}` before invoking anything, and every
 * monitoring vendor retries a 429. That is the one place to shed: a Lambda throttle (reserved concurrency exhausted)
 * reaches the vendor as a 500, not a 429, so the function's concurrency must never be the tighter limit. Reserved
 * concurrency for ingest-alert (`ingestReservedConcurrency`) is therefore off by default and, when set, must be at
 * least the webhook's burst: it guarantees the webhook its concurrency when the workflow's agents use the account's
 * pool during a storm, but it takes that much from the account's pool for good (Lambda keeps 100 unreserved, and a
 * new account's quota can be as low as 10, where any reservation fails the deployment). The laptop twin models the
 * same bound (lib/local/api-gateway.ts: 10 running + 90 waiting = the burst of 100, then 429 with Retry-After).
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { type CfnStage, CorsHttpMethod, HttpApi, HttpMethod, type HttpRoute, HttpStage, type IHttpRouteAuthorizer, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { CfnFunction, IFunction } from 'aws-cdk-lib/aws-lambda';
import { API_ROUTES, SECRET_HEADER } from '../functions/registry.ts';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';


export interface AlertApiProps {
  /** The function behind each route of API_ROUTES (functions/registry.ts), by registry name. */
  readonly routeFunction: (name: string) => IFunction;
  /**
   * The authorizer of the console's routes (auth `jwt` in API_ROUTES): a JWT authorizer trusting the console's user
   * pool. Required as soon as the registry has such a route: a `jwt` route is never added unauthenticated.
   */
  readonly consoleAuthorizer?: IHttpRouteAuthorizer;
  /**
   * Leave the console's routes (auth `jwt`) out: a deployment without the console has no user pool to trust.
   * @default false
   */
  readonly withoutConsoleRoutes?: boolean;
  /**
   * Origins a browser may call the API from (CORS): the console's. Preflights are answered by API Gateway itself, for
   * GET, POST and DELETE with the Authorization and Content-Type headers.
   * @default - no CORS: browsers on another origin cannot read the answers
   */
  readonly corsOrigins?: readonly string[];
  /**
   * Steady-state requests per second the default stage accepts before answering 429.
   * @default 50
   */
  readonly throttleRateLimit?: number;
  /**
   * Burst the default stage accepts above the rate limit.
   * @default 100
   */
  readonly throttleBurstLimit?: number;
  /**
   * Steady-state requests per second the webhook route (`POST /alerts/{source}`) accepts before answering 429.
   * @default 50
   */
  readonly webhookThrottleRateLimit?: number;
  /**
   * Requests the webhook route accepts at once above its rate (a storm's first wave) before answering 429.
   * @default 100
   */
  readonly webhookThrottleBurstLimit?: number;
  /**
   * Reserved concurrency of the ingest-alert function; at least `webhookThrottleBurstLimit`, so that the API's 429, not
   * a Lambda throttle (a 500 to the vendor), is what sheds a storm. It is taken from the account's concurrency pool.
   * @default undefined — no reservation: the function draws on the account's unreserved pool
   */
  readonly ingestReservedConcurrency?: number;
  /**
   * Retention of the access log group.
   * @default RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: RetentionDays;
}

/** The webhook route's key, as API Gateway names it in the stage's route settings. */
export const WEBHOOK_ROUTE_KEY = 'POST /alerts/{source}';
export const DEFAULT_WEBHOOK_THROTTLE = { rateLimit: 50, burstLimit: 100 } as const;

/** A reserved concurrency below the webhook's burst would turn shedding into Lambda throttles, which vendors see as 500s. */
export class ReservedConcurrencyBelowBurst extends Error {
  override name = 'ReservedConcurrencyBelowBurst';
}

export class AlertApi extends Construct {
  public readonly httpApi: HttpApi;
  /** The `$default` stage (throttled, access-logged). */
  public readonly stage: HttpStage;
  /** Base URL with a trailing slash, e.g. `https://abc123.execute-api.eu-west-1.amazonaws.com/`. */
  public readonly url: string;
  public readonly accessLogGroup: LogGroup;
  /** Routes whose only check is the shared-secret header verified by the function. */
  public readonly secretHeaderRoutes: readonly HttpRoute[];
  /** Routes API Gateway authorizes with IAM. */
  public readonly iamRoutes: readonly HttpRoute[];
  /** Routes whose only check is the signed, expiring token in the path, verified by the function. */
  public readonly signedLinkRoutes: readonly HttpRoute[];
  /** The console's routes, authorized by the JWT authorizer of its user pool. */
  public readonly jwtRoutes: readonly HttpRoute[];

  constructor(scope: Construct, id: string, props: AlertApiProps) {
    super(scope, id);
    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: 'Incident Autopilot: alert webhooks, incidents, approvals',
      // The stage below replaces the implicit one, because only an explicit stage takes throttling and access logs.
      createDefaultStage: false,
      ...(props.corsOrigins && props.corsOrigins.length > 0
        ? {
            corsPreflight: {
              allowOrigins: [...props.corsOrigins],
              allowMethods: [CorsHttpMethod.GET, CorsHttpMethod.POST, CorsHttpMethod.DELETE],
              allowHeaders: ['authorization', 'content-type'],
              maxAge: Duration.hours(1),
            },
          }
        : {}),
    });
    this.accessLogGroup = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.throttleRateLimit ?? 50, burstLimit: props.throttleBurstLimit ?? 100 },
      accessLogSettings: { destination: new LogGroupLogDestination(this.accessLogGroup) },
    });
    this.url = this.stage.url;

    // One integration per function, shared by its routes.
    const integrations = new Map<string, HttpLambdaIntegration>();
    const integrationOf = (name: string) => {
      let integration = integrations.get(name);
      if (!integration) {
        integration = new HttpLambdaIntegration(`${pascal(name)}Integration`, props.routeFunction(name));
        integrations.set(name, integration);
      }
      return integration;
    };
    const iam = new HttpIamAuthorizer();
    const secretHeaderRoutes: HttpRoute[] = [];
    const iamRoutes: HttpRoute[] = [];
    const signedLinkRoutes: HttpRoute[] = [];
    const jwtRoutes: HttpRoute[] = [];
    const byAuth = { secret: secretHeaderRoutes, iam: iamRoutes, 'signed-link': signedLinkRoutes, jwt: jwtRoutes } as const;
    const webhookRoutes: HttpRoute[] = [];
    for (const route of API_ROUTES) {
      if (route.auth === 'jwt' && props.withoutConsoleRoutes) continue;
      if (route.auth === 'jwt' && !props.consoleAuthorizer) throw new Error(`${route.method} ${route.path} is a console route (auth jwt) and AlertApi was given no consoleAuthorizer`);
      const added = this.httpApi.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration: integrationOf(route.function),
        ...(route.auth === 'iam' ? { authorizer: iam } : route.auth === 'jwt' ? { authorizer: props.consoleAuthorizer } : {}),
      });
      byAuth[route.auth].push(...added);
      if (`${route.method} ${route.path}` === WEBHOOK_ROUTE_KEY) webhookRoutes.push(...added);
    }
    this.throttleWebhook(props, webhookRoutes);
    for (const route of secretHeaderRoutes) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason: `Monitoring vendors and Retool can send only static headers, so this route is authorized by the function itself: it verifies the ${SECRET_HEADER} header against the WebhookSecret in Secrets Manager before doing anything else.`,
      });
    }
    for (const route of signedLinkRoutes) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'An approval link is opened by an approver\'s browser, which can send neither a header nor a SigV4 signature, so the credential is the token in the path: HMAC-SHA256 over incident, decision, approval request and expiry (the approval deadline), verified in constant time by the function before it reads anything. GET only shows a confirmation page; only the POST of its form decides, once.',
      });
    }
    this.secretHeaderRoutes = secretHeaderRoutes;
    this.iamRoutes = iamRoutes;
    this.signedLinkRoutes = signedLinkRoutes;
    this.jwtRoutes = jwtRoutes;
  }

  /** The webhook route's own throttle on the stage, and the optional reserved concurrency of its function. */
  private throttleWebhook(props: AlertApiProps, webhookRoutes: readonly HttpRoute[]): void {
    const rateLimit = props.webhookThrottleRateLimit ?? DEFAULT_WEBHOOK_THROTTLE.rateLimit;
    const burstLimit = props.webhookThrottleBurstLimit ?? DEFAULT_WEBHOOK_THROTTLE.burstLimit;
    const webhook = API_ROUTES.find((r) => `${r.method} ${r.path}` === WEBHOOK_ROUTE_KEY);
    if (!webhook || webhookRoutes.length === 0) throw new Error(`functions/registry.ts has no ${WEBHOOK_ROUTE_KEY} route`);
    // Both limits on the route: a route setting replaces the stage default field by field.
    (this.stage.node.defaultChild as CfnStage).routeSettings = { [WEBHOOK_ROUTE_KEY]: { ThrottlingRateLimit: rateLimit, ThrottlingBurstLimit: burstLimit } };
    // API Gateway refuses route settings that name a route it does not have yet.
    this.stage.node.addDependency(...webhookRoutes);

    const reserved = props.ingestReservedConcurrency;
    if (reserved === undefined) return;
    if (!Number.isInteger(reserved) || reserved < burstLimit) {
      throw new ReservedConcurrencyBelowBurst(
        `ingestReservedConcurrency (${reserved}) must be a whole number at least webhookThrottleBurstLimit (${burstLimit}): below it, Lambda throttles what API Gateway admitted and vendors get 500s instead of 429s`,
      );
    }
    const cfnFunction = props.routeFunction(webhook.function).node.defaultChild as CfnFunction | undefined;
    if (!cfnFunction) throw new Error(`ingestReservedConcurrency needs ${webhook.function} to be a function defined in this app, not an imported one`);
    cfnFunction.reservedConcurrentExecutions = reserved;
  }

  /** Full URL of a path on the default stage: `routeUrl('alerts/cloudwatch')`. */
  public routeUrl(path: string): string {
    return `${this.url}${path.replace(/^\//, '')}`;
  }
}

const pascal = (name: string): string => name.replace(/(^|-)(\w)/g, (_, __, c: string) => c.toUpperCase());
