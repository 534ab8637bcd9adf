/**
 * `IncidentEvents`: the custom event bus the system publishes its outcomes to (`Incident Opened`, `Incident
 * Resolved`, …), an archive of it for replay, and the route that brings CloudWatch alarms in as incidents.
 *
 * Routing CloudWatch alarms — the choice, and why. CloudWatch publishes "CloudWatch Alarm State Change" events
 * only to the account's *default* bus. A rule there forwards them, through an EventBridge API destination, to
 * the very webhook every other vendor uses: `POST /alerts/cloudwatch`, with the shared secret sent as a header by
 * the connection. Targeting the ingest Lambda directly would be one resource shorter, but the function would then
 * receive a bare EventBridge event instead of an API Gateway request and need a second entry path (and a second
 * auth story) that the laptop twin never exercises. Through the API destination there is one ingestion path,
 * verified the same way for every source, and EventBridge adds retries and a dead-letter queue on top. The body
 * is the full EventBridge event (`detail.alarmName`, `detail.state`, …), which is what the ingest function's
 * `cloudwatch` normaliser receives.
 */
import { Duration, RemovalPolicy, SecretValue, Validations } from 'aws-cdk-lib';
import { ApiDestination, Archive, Authorization, Connection, EventBus, HttpMethod, Match, Rule } from 'aws-cdk-lib/aws-events';
import { ApiDestination as ApiDestinationTarget } from 'aws-cdk-lib/aws-events-targets';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EVENT_SOURCE } from '../functions/registry.ts';

export const DEFAULT_EVENT_BUS_NAME = 'incident-autopilot';

export interface IncidentEventsProps {
  /**
   * Name of the custom bus.
   * @default 'incident-autopilot'
   */
  readonly eventBusName?: string;
  /**
   * How long the archive keeps the system's own events (replayable into the bus).
   * @default Duration.days(30)
   */
  readonly archiveRetention?: Duration;
}

export interface AlarmForwardingProps {
  /** Full URL of the CloudWatch webhook route, e.g. `https://…/alerts/cloudwatch`. */
  readonly endpoint: string;
  /** Name of the header that carries the shared secret. */
  readonly secretHeaderName: string;
  /** The shared webhook secret; its value is resolved by CloudFormation into the connection's own secret. */
  readonly secret: ISecret;
  /**
   * Upper bound on requests per second EventBridge sends to the webhook.
   * @default 10
   */
  readonly rateLimitPerSecond?: number;
}

export class IncidentEvents extends Construct {
  /** The custom bus; grant publishers through `eventBus.grantPutEventsTo(...)`. */
  public readonly eventBus: EventBus;
  /** Archive of everything the system publishes on the bus. */
  public readonly archive: Archive;
  /** Rule on the default bus matching CloudWatch alarm state changes; forwarded once `forwardAlarmsTo` is called. */
  public readonly cloudWatchAlarmRule: Rule;
  /** Events the webhook did not accept after all retries (set by `forwardAlarmsTo`). */
  public alarmDeadLetterQueue?: Queue;

  constructor(scope: Construct, id: string, props: IncidentEventsProps = {}) {
    super(scope, id);
    this.eventBus = new EventBus(this, 'Bus', { eventBusName: props.eventBusName ?? DEFAULT_EVENT_BUS_NAME });
    this.archive = this.eventBus.archive('Archive', {
      description: 'Everything Incident Autopilot published, replayable into the bus',
      eventPattern: { source: [EVENT_SOURCE] },
      retention: props.archiveRetention ?? Duration.days(30),
    });
    this.cloudWatchAlarmRule = new Rule(this, 'CloudWatchAlarms', {
      description: 'CloudWatch alarms entering ALARM become incidents (POST /alerts/cloudwatch)',
      // No eventBus: CloudWatch publishes alarm state changes to the default bus only.
      eventPattern: {
        source: ['aws.cloudwatch'],
        detailType: ['CloudWatch Alarm State Change'],
        // Only transitions into ALARM open or fold into incidents; OK/INSUFFICIENT_DATA would only be noise.
        detail: { state: { value: Match.exactString('ALARM') } },
      },
    });
  }

  /**
   * Sends the CloudWatch alarm events to the webhook through an API destination authenticated with the shared
   * secret. Called once the API exists (the API needs the functions, which need this bus).
   */
  public forwardAlarmsTo(props: AlarmForwardingProps): ApiDestination {
    if (this.alarmDeadLetterQueue) throw new Error('forwardAlarmsTo was already called on this IncidentEvents');
    const connection = new Connection(this, 'WebhookConnection', {
      description: 'Shared-secret header for the Incident Autopilot webhook',
      // EventBridge keeps the key in a secret of its own; a rotated webhook secret reaches it on the next deploy.
      authorization: Authorization.apiKey(props.secretHeaderName, SecretValue.secretsManager(props.secret.secretArn)),
    });
    const destination = new ApiDestination(this, 'WebhookDestination', {
      description: 'POST /alerts/cloudwatch',
      connection,
      endpoint: props.endpoint,
      httpMethod: HttpMethod.POST,
      rateLimitPerSecond: props.rateLimitPerSecond ?? 10,
    });
    this.alarmDeadLetterQueue = new Queue(this, 'AlarmDeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(this.alarmDeadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself a dead-letter queue: that of the CloudWatch alarm rule target (EventBridge target DLQs are not visible to the rule as an SQS redrive policy).',
    });
    this.cloudWatchAlarmRule.addTarget(
      new ApiDestinationTarget(destination, {
        deadLetterQueue: this.alarmDeadLetterQueue,
        retryAttempts: 8,
        maxEventAge: Duration.hours(2),
      }),
    );
    return destination;
  }
}
