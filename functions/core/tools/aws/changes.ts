/**
 * ChangeHistory port of the `aws` family: what changed in the account (CloudTrail write events, CodeDeploy
 * deployments), each mapped to its service and made a ChangeRequest that says what changed, old → new where it can
 * be known, and names the resource precisely enough for a typed rollback (actions of the aws family) to undo it.
 * Past incidents (searchIncidents, recordIncident) are the project's own, in the incident table (history.ts).
 *
 * CloudTrail: one `LookupEvents` stream over the window with the single lookup attribute `ReadOnly=false` (LookupEvents
 * takes one attribute per call: one stream of write events costs far fewer calls than one per event name or source),
 * newest first, 50 per page through the SDK's paginator, at most `maxEvents` events (AWS_CHANGES_MAX_EVENTS). The
 * events that change behaviour are picked client-side (cloudtrail-events.ts lists every one); a failed call
 * (`errorCode`) is not a change and is skipped; a Lambda alias or ECS service moved by CodeDeploy itself is skipped
 * too (the CodeDeploy deployment is that change). LookupEvents is throttled at 2 requests per second per account and
 * region: calls from this adapter are spaced by `lookupIntervalMs` (500 ms), and the SDK's standard retry strategy
 * retries throttling (AWS_TOOLS_MAX_ATTEMPTS).
 *
 * What the events do not carry is looked up, within bounds:
 * - a Lambda alias's previous version: the same alias's previous UpdateAlias/CreateAlias in the stream, else a look
 *   back by event name (LookupEvents `EventName`, at most `MAX_BACKFILL_PAGES` pages per call);
 * - an ECS service's previous task definition: the ACTIVE deployment in the UpdateService response, else the same
 *   service's previous UpdateService/CreateService in the stream; images from the RegisterTaskDefinition events;
 * - an SSM parameter's old and new values: `GetParameterHistory` (PutParameter events carry no value). SecureString
 *   values are never read (no decryption): only their versions;
 * - an AppConfig environment's previous configuration version: `ListDeployments` (the latest COMPLETE deployment of the
 *   same configuration profile before this one; `GetDeployment` where a summary lacks the profile), and whether this
 *   deployment was rolled back since.
 * Old values that stay unknown are marked: no `version` / `configChange` (a rollback must not act on a guess), the
 * resource's `identifiers.previous` is `unknown`, and the description says why.
 *
 * Service: the directory's `serviceOf` for the change's ARNs (most specific first: an alias, then its function). A
 * change to a resource the directory does not map is kept, under the resource's own name (a function, ECS service,
 * table, parameter or stack name) — a service the directory does not know is its X-Ray name, which for Lambda is the
 * function name — so with no `services` filter every change in the account is listed. When the directory could not
 * answer for a change while `services` filter the list, the answer may miss changes: a partial gap.
 *
 * A Lambda publish (UpdateFunctionCode with `publish`, or UpdateFunctionCode then PublishVersion) that an alias move to
 * exactly that version follows in the window — an UpdateAlias, or the CodeDeploy deployment that moved the alias — is
 * not a change of its own: for a function served through an alias, users see nothing until the alias moves. The move
 * is the change (resource, version from → to, time) and its description says what was published, by whom and when
 * (cloudtrail-events.ts `foldPublishes`). A publish no alias move follows stays a change: $LATEST or the version may
 * be invoked directly.
 *
 * A change undone by a later one on the same resource (an alias moved back, a task definition restored, a parameter
 * set back) is `rolled-back`.
 *
 * Time: a call stops at its deadline (deadline.ts: AWS_TOOLS_CALL_BUDGET_MS, AWS_TOOLS_RUN_BUDGET_MS). Paced at 2 TPS,
 * the default event cap alone is 20 pages, ten seconds of waiting before any request's own time; the cap's maximum
 * (10,000 events) would be 100 s, past any agent's Lambda. At the deadline the stream stops where it got to (a partial
 * gap names the part of the window read and the budget), look-ups not made leave their old values unknown (and say
 * why), and CodeDeploy returns the deployments it read.
 *
 * Partial answers are never short lists read as whole: the event cap reached before the window was covered, more
 * deployments than read, CloudTrail or CodeDeploy unreadable while the other answered → the changes read, with partial
 * gaps naming what is missing (ports.ts `withPartialGaps`; the agent records each). Both unreadable: ToolUnavailable.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { AppConfigClient, type DeploymentSummary, GetDeploymentCommand, paginateListDeployments as paginateAppConfigDeployments } from '@aws-sdk/client-appconfig';
import { CloudTrailClient, type Event as LookupEvent, type LookupAttribute, paginateLookupEvents } from '@aws-sdk/client-cloudtrail';
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { type ParameterHistory, paginateGetParameterHistory, SSMClient } from '@aws-sdk/client-ssm';
import * as z from 'zod';
import { byCodeUnit } from '../../compare.ts';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type ChangeHistory, type ChangeRequest, type PartialGap, type PastIncident, type TimeWindow, type ToolScope, ToolUnavailable, withPartialGaps } from '../ports.ts';
import { type AwsClientSettings, awsClientOptions, budgetOf, errorReason } from './clients.ts';
import { callDeadline, Deadline, DeadlineReached } from './deadline.ts';
import { type AliasMove, SENSITIVE_KEY, baseEventName, type Draft, draftOf, foldPublishes, isContextEvent, lambdaFunction, mapperFor, partitionOf, registeredImages, taskDefinitionName, text, type TrailEvent } from './cloudtrail-events.ts';
import { type DeploymentChange, listDeploymentChanges } from './codedeploy.ts';
import type { DirectorySettings } from './directory-settings.ts';
import { IncidentHistory } from './history.ts';
import type { ServiceDirectory } from './resources.ts';
import { serviceDirectory } from './service-directory.ts';

export const CHANGES_TOOL = 'AWS changes';
export const DEFAULT_MAX_EVENTS = 1_000;
/** LookupEvents: 2 requests per second per account and region. */
export const LOOKUP_INTERVAL_MS = 500;
const LOOKUP_PAGE = 50;
/** LookupEvents pages spent per call looking back for aliases' previous versions. */
export const MAX_BACKFILL_PAGES = 4;
/** CloudTrail's event history: 90 days. */
const HISTORY_DAYS = 90;
const MAX_PARAMETER_HISTORIES = 10;
const MAX_APPCONFIG_LOOKUPS = 5;
const APPCONFIG_PAGES = 3;
const VALUE_IN_TITLE = 60;
/** `identifiers.previous` of a change whose old version or value could not be found. */
export const PREVIOUS_UNKNOWN = 'unknown';

export interface AwsChangesClients {
  readonly cloudtrail?: CloudTrailClient;
  readonly codedeploy?: CodeDeployClient;
  readonly ssm?: SSMClient;
  readonly appconfig?: AppConfigClient;
}

/** Where searchIncidents / recordIncident go (history.ts's IncidentHistory). */
export type IncidentHistoryPort = Pick<ChangeHistory, 'searchIncidents' | 'recordIncident'>;

export interface AwsChangesOptions {
  readonly directory: ServiceDirectory;
  readonly history: IncidentHistoryPort;
  readonly clients?: AwsChangesClients;
  readonly clientSettings?: AwsClientSettings;
  /** CloudTrail events read per call (AWS_CHANGES_MAX_EVENTS). @default 1000 */
  readonly maxEvents?: number;
  /** Read CodeDeploy deployments too (AWS_CHANGES_CODEDEPLOY). @default true */
  readonly codeDeploy?: boolean;
  /** Least time between two LookupEvents calls. @default 500 */
  readonly lookupIntervalMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

/** The part of a CloudTrail record the adapter reads (the record itself has many more fields). */
const TrailRecord = z
  .object({
    eventID: z.string().min(1),
    eventTime: z.string().min(1),
    eventSource: z.string().min(1),
    eventName: z.string().min(1),
    awsRegion: z.string().optional(),
    recipientAccountId: z.string().optional(),
    errorCode: z.string().optional(),
    sourceIPAddress: z.string().optional(),
    userIdentity: z
      .object({ arn: z.string().optional(), principalId: z.string().optional(), accountId: z.string().optional(), invokedBy: z.string().optional() })
      .passthrough()
      .nullish(),
    requestParameters: z.record(z.string(), z.unknown()).nullish(),
    responseElements: z.record(z.string(), z.unknown()).nullish(),
  })
  .passthrough();

/** A LookupEvents event as a TrailEvent, when it is a successful event this adapter reads. */
export const toTrailEvent = (event: LookupEvent): TrailEvent | undefined => {
  if (!event.CloudTrailEvent) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(event.CloudTrailEvent);
  } catch {
    return undefined;
  }
  const parsed = TrailRecord.safeParse(json);
  if (!parsed.success) return undefined;
  const r = parsed.data;
  if (r.errorCode) return undefined;
  if (!mapperFor(r.eventSource, r.eventName) && !isContextEvent(r.eventSource, r.eventName)) return undefined;
  const time = Date.parse(r.eventTime);
  if (Number.isNaN(time)) return undefined;
  const region = r.awsRegion ?? '';
  const viaService = r.sourceIPAddress?.endsWith('.amazonaws.com') ? r.sourceIPAddress : undefined;
  const invokedBy = r.userIdentity?.invokedBy ?? viaService;
  const author = r.userIdentity?.arn ?? r.userIdentity?.principalId ?? event.Username;
  return {
    id: r.eventID,
    name: r.eventName,
    source: r.eventSource,
    time: new Date(time).toISOString(),
    region,
    account: r.recipientAccountId ?? r.userIdentity?.accountId ?? '',
    // The caller's own ARN says the partition for sure; the region's prefix otherwise.
    partition: /^arn:(aws[a-z-]*):/.exec(r.userIdentity?.arn ?? '')?.[1] ?? partitionOf(region),
    ...(author ? { author } : {}),
    ...(invokedBy ? { invokedBy } : {}),
    request: r.requestParameters ?? {},
    response: r.responseElements ?? {},
    resourceArns: (event.Resources ?? []).flatMap((x) => (x.ResourceName?.startsWith('arn:') ? [x.ResourceName] : [])),
  };
};

const short = (s: string, max = VALUE_IN_TITLE): string => (s.length > max ? `${s.slice(0, max - 1)}…` : s);
const quoted = (s: string): string => JSON.stringify(short(s));

const markUnknown = (d: Draft, why: string): void => {
  if (d.resource) d.resource.identifiers = { ...d.resource.identifiers, previous: PREVIOUS_UNKNOWN };
  d.details.push(why);
};

/** The UpdateAlias/CreateAlias events of one alias, and the version each set. */
const aliasVersion = (e: TrailEvent, functionName: string, alias: string): string | undefined => {
  if (e.source !== 'lambda.amazonaws.com' || !/^(UpdateAlias|CreateAlias)$/.test(baseEventName(e.name))) return undefined;
  if (lambdaFunction(e, text(e.request, 'functionName'))?.name !== functionName || (text(e.request, 'name') ?? text(e.response, 'name')) !== alias) return undefined;
  return text(e.request, 'functionVersion') ?? text(e.response, 'functionVersion');
};

export class AwsChanges implements ChangeHistory {
  readonly #directory: ServiceDirectory;
  readonly #history: IncidentHistoryPort;
  readonly #options: AwsChangesOptions;
  readonly #maxEvents: number;
  readonly #interval: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #now: () => number;
  #cloudtrail: CloudTrailClient | undefined;
  #codedeploy: CodeDeployClient | undefined;
  #ssm: SSMClient | undefined;
  #appconfig: AppConfigClient | undefined;
  /** When the last LookupEvents call was made (the pace is kept across calls of this adapter). */
  #lastLookup = Number.NEGATIVE_INFINITY;

  constructor(options: AwsChangesOptions) {
    this.#directory = options.directory;
    this.#history = options.history;
    this.#options = options;
    this.#maxEvents = options.maxEvents ?? DEFAULT_MAX_EVENTS;
    this.#interval = options.lookupIntervalMs ?? LOOKUP_INTERVAL_MS;
    this.#sleep = options.sleep ?? ((ms) => delay(ms));
    this.#now = options.now ?? Date.now;
    this.#cloudtrail = options.clients?.cloudtrail;
    this.#codedeploy = options.clients?.codedeploy;
    this.#ssm = options.clients?.ssm;
    this.#appconfig = options.clients?.appconfig;
  }

  searchIncidents(q: ToolScope & { text: string; services?: readonly string[]; limit?: number }): Promise<PastIncident[]> {
    return this.#history.searchIncidents(q);
  }

  recordIncident(q: ToolScope & { incident: PastIncident }): Promise<void> {
    return this.#history.recordIncident(q);
  }

  async listChanges(q: ToolScope & TimeWindow & { services?: readonly string[] }): Promise<ChangeRequest[]> {
    const from = Date.parse(q.from);
    const to = Date.parse(q.to);
    if (Number.isNaN(from)) throw new ToolUnavailable(CHANGES_TOOL, `from is not an ISO 8601 time: ${JSON.stringify(q.from.slice(0, 40))}`);
    if (Number.isNaN(to)) throw new ToolUnavailable(CHANGES_TOOL, `to is not an ISO 8601 time: ${JSON.stringify(q.to.slice(0, 40))}`);
    if (from > to) return [];
    const deadline = callDeadline(q, budgetOf(this.#options.clientSettings), this.#now);
    try {
      return await this.#listChanges(q, from, to, deadline);
    } finally {
      deadline.dispose();
    }
  }

  async #listChanges(q: ToolScope & TimeWindow & { services?: readonly string[] }, from: number, to: number, deadline: Deadline): Promise<ChangeRequest[]> {
    const scope: ToolScope = { ...(q.runId ? { runId: q.runId } : {}), ...(q.environment ? { environment: q.environment } : {}) };
    const useCodeDeploy = this.#options.codeDeploy ?? true;

    const [trail, deployments] = await Promise.allSettled([
      this.#trailDrafts(new Date(from), new Date(to), useCodeDeploy, deadline),
      useCodeDeploy ? listDeploymentChanges((this.#codedeploy ??= new CodeDeployClient(awsClientOptions(this.#options.clientSettings))), new Date(from), new Date(to), undefined, deadline) : Promise.resolve<{ changes: DeploymentChange[]; truncated?: string }>({ changes: [] }),
    ]);
    if (trail.status === 'rejected' && (deployments.status === 'rejected' || !useCodeDeploy)) throw new ToolUnavailable(CHANGES_TOOL, `CloudTrail LookupEvents failed: ${errorReason(trail.reason)}${deployments.status === 'rejected' ? `; CodeDeploy failed: ${errorReason(deployments.reason)}` : ''}`, { cause: trail.reason });
    const gaps: PartialGap[] = [];
    if (trail.status === 'rejected') gaps.push({ api: 'cloudtrail:LookupEvents', reason: `${errorReason(trail.reason)}: only CodeDeploy deployments were read` });
    if (deployments.status === 'rejected') gaps.push({ api: 'codedeploy:ListDeployments', reason: `${errorReason(deployments.reason)}: only CloudTrail events were read` });
    if (trail.status === 'fulfilled' && trail.value.truncated) gaps.push({ api: 'cloudtrail:LookupEvents', reason: trail.value.truncated });
    if (deployments.status === 'fulfilled' && deployments.value.truncated) gaps.push({ api: 'codedeploy:ListDeployments', reason: deployments.value.truncated });
    if (trail.status === 'fulfilled' && trail.value.lookupsCut > 0) gaps.push({ api: 'cloudtrail:LookupEvents', reason: `${trail.value.lookupsCut} look-up(s) of previous versions or values were not made, ${deadline.reason}: those changes say their old value is unknown` });

    const deploymentChanges = deployments.status === 'fulfilled' ? deployments.value.changes : [];
    const deploymentNotes = new Map<DeploymentChange, string[]>();
    const drafts = foldPublishes(trail.status === 'fulfilled' ? trail.value.drafts : [], [
      ...(trail.status === 'fulfilled' ? trail.value.drafts : []).flatMap((d): AliasMove[] => (d.aliasTarget ? [{ ...d.aliasTarget, time: d.event.time, note: (s) => d.details.push(s) }] : [])),
      ...deploymentChanges.flatMap((d): AliasMove[] => {
        const { resource, version } = d.change;
        if (resource?.type !== 'AWS::Lambda::Alias' || !version) return [];
        return [{ functionArn: resource.arn.slice(0, resource.arn.lastIndexOf(':')), version: version.to, time: d.change.deployedAt, note: (s) => deploymentNotes.set(d, [...(deploymentNotes.get(d) ?? []), s]) }];
      }),
    ]);
    const unmapped: string[] = [];
    const serviceOf = this.#serviceResolver(scope, unmapped, deadline);
    const changes: ChangeRequest[] = [];
    for (const d of drafts) changes.push(this.#changeOf(d, await serviceOf(d.arns, d.fallbackService)));
    for (const d of deploymentChanges) {
      const notes = deploymentNotes.get(d) ?? [];
      changes.push({ ...d.change, ...(notes.length > 0 ? { description: [d.change.description, ...notes].join(' ') } : {}), service: await serviceOf(d.arns, d.fallbackService) } as ChangeRequest);
    }

    const marked = markRolledBack(changes);
    const wanted = q.services && q.services.length > 0 ? new Set(q.services) : undefined;
    const result = marked.filter((c) => !wanted || wanted.has(c.service)).sort((a, b) => byCodeUnit(b.deployedAt, a.deployedAt));
    if (wanted && unmapped.length > 0) gaps.push({ api: 'AWS service directory', reason: `the service of ${unmapped.length} change(s) could not be told (${[...new Set(unmapped)].slice(0, 3).join('; ')}): changes to ${q.services!.join(', ')} may be missing` });
    return withPartialGaps(result, gaps);
  }

  #changeOf(d: Draft, service: string): ChangeRequest {
    const e = d.event;
    const via = e.invokedBy ? ` (through ${e.invokedBy})` : '';
    const description = [`${e.name} by ${e.author ?? 'unknown'}${via} at ${e.time} (CloudTrail event ${e.id}).`, ...d.details].join(' ');
    return {
      id: `cloudtrail:${e.id}`,
      service,
      type: d.type,
      title: d.title,
      description,
      deployedAt: e.time,
      state: d.state ?? 'implemented',
      ...(d.version ? { version: d.version } : {}),
      ...(d.configChange ? { configChange: d.configChange } : {}),
      ...(d.rollbackPlan ? { rollbackPlan: d.rollbackPlan } : {}),
      ...(e.author ? { author: e.author } : {}),
      ...(d.resource ? { resource: { type: d.resource.type, arn: d.resource.arn, ...(d.resource.identifiers ? { identifiers: { ...d.resource.identifiers } } : {}) } } : {}),
    };
  }

  /** The first of `arns` the directory maps, else `fallback`; an ARN it could not answer for is noted in `unmapped`. */
  #serviceResolver(scope: ToolScope, unmapped: string[], deadline: Deadline): (arns: readonly string[], fallback: string) => Promise<string> {
    const cache = new Map<string, Promise<{ service?: string; error?: string }>>();
    const one = (arn: string) => {
      let p = cache.get(arn);
      if (!p) {
        // The directory's tag read is shared by the run's calls; this call waits for it only until its own deadline.
        p = deadline.race(this.#directory.serviceOf({ ...scope, arn })).then(
          (service) => (service ? { service } : {}),
          (error: unknown) => ({ error: error instanceof ToolUnavailable ? error.reason : errorReason(error) }),
        );
        cache.set(arn, p);
      }
      return p;
    };
    return async (arns, fallback) => {
      let error: string | undefined;
      for (const arn of arns) {
        const r = await one(arn);
        if (r.service) return r.service;
        error ??= r.error;
      }
      if (error) unmapped.push(error);
      return fallback;
    };
  }

  // ───────────────────────── CloudTrail ─────────────────────────

  /** Waits until the next LookupEvents call keeps to CloudTrail's rate; DeadlineReached when the slot comes after the deadline. */
  async #pace(deadline: Deadline): Promise<void> {
    const wait = this.#lastLookup + this.#interval - this.#now();
    if (wait > 0) {
      if (wait >= deadline.remaining()) throw new DeadlineReached(deadline.reason);
      await this.#sleep(wait);
    }
    if (deadline.expired) throw new DeadlineReached(deadline.reason);
    this.#lastLookup = this.#now();
  }

  /** Pages of LookupEvents, each paced; stops when `onPage` says so, DeadlineReached at the deadline. */
  async #lookup(attribute: LookupAttribute, start: Date, end: Date, deadline: Deadline, onPage: (events: readonly LookupEvent[], hasMore: boolean) => boolean): Promise<void> {
    const client = (this.#cloudtrail ??= new CloudTrailClient(awsClientOptions(this.#options.clientSettings)));
    await this.#pace(deadline);
    for await (const page of deadline.pages(paginateLookupEvents({ client, pageSize: LOOKUP_PAGE, stopOnSameToken: true }, { LookupAttributes: [attribute], StartTime: start, EndTime: end }, { abortSignal: deadline.signal }))) {
      const more = page.NextToken !== undefined && page.NextToken !== '';
      if (!onPage(page.Events ?? [], more) || !more) return;
      await this.#pace(deadline);
    }
  }

  /** The window's write events as drafts, with what they lacked looked up. */
  async #trailDrafts(start: Date, end: Date, skipCodeDeployMoves: boolean, deadline: Deadline): Promise<{ drafts: Draft[]; truncated?: string; lookupsCut: number }> {
    const events: TrailEvent[] = [];
    let read = 0;
    let pages = 0;
    let oldestRead: Date | undefined;
    let truncated: string | undefined;
    try {
      await this.#lookup({ AttributeKey: 'ReadOnly', AttributeValue: 'false' }, start, end, deadline, (page, more) => {
      pages += 1;
      let unread = false;
      for (const raw of page) {
        if (read >= this.#maxEvents) {
          unread = true;
          break;
        }
        read += 1;
        oldestRead = raw.EventTime ?? oldestRead;
        const e = toTrailEvent(raw);
        if (e) events.push(e);
      }
      if (read >= this.#maxEvents && (more || unread)) {
        const reached = oldestRead?.toISOString() ?? events.at(-1)?.time ?? start.toISOString();
        truncated = `CloudTrail had more than ${this.#maxEvents} write events in the window: only ${reached} → ${end.toISOString()} was read (AWS_CHANGES_MAX_EVENTS)`;
        return false;
      }
      return true;
      });
    } catch (error) {
      // Not one page read: nothing is known, and that is CloudTrail failing, not an empty window.
      if (!(error instanceof DeadlineReached) || pages === 0) throw error;
      truncated = `CloudTrail's write events were read back to ${oldestRead?.toISOString() ?? end.toISOString()} only (window ${start.toISOString()} → ${end.toISOString()}): ${deadline.reason}`;
    }
    // Newest first, as LookupEvents returns them (re-sorted in case pages overlapped in time).
    events.sort((a, b) => byCodeUnit(b.time, a.time));

    const drafts: Draft[] = [];
    for (const e of events) {
      if (skipCodeDeployMoves && e.invokedBy === 'codedeploy.amazonaws.com' && /^(UpdateAlias|UpdateService)$/.test(baseEventName(e.name))) continue;
      const d = draftOf(e);
      if (d) drafts.push(d);
    }
    const lookupsCut = await this.#complete(drafts, events, deadline);
    return { drafts, ...(truncated ? { truncated } : {}), lookupsCut };
  }

  /** Looks up what each draft's event did not carry (see the header comment); how many look-ups the deadline cut. */
  async #complete(drafts: Draft[], events: readonly TrailEvent[], deadline: Deadline): Promise<number> {
    let cut = 0;
    /** Whether a look-up may start; when not, the draft says its old value is unknown and why. */
    const mayLookUp = (d: Draft, what: string): boolean => {
      if (!deadline.expired) return true;
      cut += 1;
      markUnknown(d, `The previous ${what} is unknown: not looked up, ${deadline.reason}.`);
      return false;
    };
    const images = new Map<string, string[]>();
    for (const e of events) {
      if (e.source === 'ecs.amazonaws.com' && baseEventName(e.name) === 'RegisterTaskDefinition') {
        const r = registeredImages(e);
        if (r) images.set(r.taskDefinition, r.images);
      }
    }
    let backfillPages = MAX_BACKFILL_PAGES;
    let parameterHistories = 0;
    let appconfigLookups = 0;
    const histories = new Map<string, Promise<ParameterHistory[]>>();

    for (const d of drafts) {
      const need = d.need;
      // Newest first: the events after this one are the older ones.
      const olderEvents = () => events.slice(events.indexOf(d.event) + 1);
      if (need?.kind === 'alias-previous') {
        let from = olderEvents()
          .map((e) => aliasVersion(e, need.functionName, need.alias))
          .find((v) => v !== undefined);
        let why = 'its previous UpdateAlias/CreateAlias is not in the window';
        if (from === undefined && backfillPages > 0 && !mayLookUp(d, 'version')) continue;
        if (from === undefined && backfillPages > 0) {
          try {
            const found = await this.#aliasBackfill(need.functionName, need.alias, need.eventName, new Date(Date.parse(d.event.time) - 1), deadline, () => (backfillPages -= 1) > 0);
            from = found;
            if (from === undefined) why = `no earlier UpdateAlias/CreateAlias of it was found in CloudTrail's ${HISTORY_DAYS}-day history within the look-back budget`;
          } catch (error) {
            if (error instanceof DeadlineReached) cut += 1;
            why = `looking back for it failed (${errorReason(error)})`;
          }
        } else if (from === undefined) why += ' and the look-back budget of this call is spent';
        if (from !== undefined && d.toVersion) {
          d.version = { from, to: d.toVersion };
          d.title = d.title.replace(/ → version /, `: version ${from} → `);
          d.rollbackPlan = `Point alias ${need.alias} of ${need.functionName} back to version ${from}`;
        } else markUnknown(d, `The alias's previous version is unknown: ${why}.`);
      }
      if (need?.kind === 'ecs-previous') {
        const from = olderEvents()
          .filter((e) => e.source === 'ecs.amazonaws.com' && /^(UpdateService|CreateService)$/.test(baseEventName(e.name)))
          .map((e) => draftOf(e))
          .find((x) => x?.resource?.arn === need.serviceArn && x.taskDefinition)?.taskDefinition;
        if (from && d.toVersion) {
          d.version = { from, to: d.toVersion };
          d.title = d.title.replace(/task definition → /, `task definition ${taskDefinitionName(from)} → `);
          d.rollbackPlan = `Update the service back to task definition ${taskDefinitionName(from)}`;
        } else markUnknown(d, 'The previous task definition is unknown: the UpdateService response lists no other active deployment and no earlier deployment of the service is in the window.');
      }
      if (d.taskDefinition && images.has(d.taskDefinition)) d.details.push(`Images: ${images.get(d.taskDefinition)!.join(', ')}.`);
      if (d.version && images.has(d.version.from)) d.details.push(`Previous images: ${images.get(d.version.from)!.join(', ')}.`);

      if (need?.kind === 'ssm-history') {
        if (!histories.has(need.name) && parameterHistories >= MAX_PARAMETER_HISTORIES) {
          markUnknown(d, `The previous value is unknown: only ${MAX_PARAMETER_HISTORIES} parameter histories are read per call.`);
        } else if (histories.has(need.name) || mayLookUp(d, 'value')) {
          if (!histories.has(need.name)) {
            parameterHistories += 1;
            histories.set(need.name, this.#parameterHistory(need.name, deadline));
          }
          try {
            this.#applyParameterHistory(d, need.name, need.version, need.secure, await histories.get(need.name)!);
          } catch (error) {
            if (error instanceof DeadlineReached) cut += 1;
            markUnknown(d, `The previous value is unknown: GetParameterHistory failed (${errorReason(error)}).`);
          }
        }
      }
      if (need?.kind === 'appconfig-previous') {
        if (appconfigLookups >= MAX_APPCONFIG_LOOKUPS) markUnknown(d, `The previous configuration version is unknown: only ${MAX_APPCONFIG_LOOKUPS} AppConfig deployments are looked up per call.`);
        else if (mayLookUp(d, 'configuration version')) {
          appconfigLookups += 1;
          try {
            await this.#applyAppConfigHistory(d, need, deadline);
          } catch (error) {
            if (error instanceof DeadlineReached) cut += 1;
            markUnknown(d, `The previous configuration version is unknown: ListDeployments failed (${errorReason(error)}).`);
          }
        }
      }
    }
    return cut;
  }

  /**
   * Looks back (by event name, newest first) for the version an alias had before `before`. `spend` is called for each
   * page read and says whether another may be.
   */
  async #aliasBackfill(functionName: string, alias: string, eventName: string, before: Date, deadline: Deadline, spend: () => boolean): Promise<string | undefined> {
    const start = new Date(Math.max(this.#now() - HISTORY_DAYS * 86_400_000, before.getTime() - HISTORY_DAYS * 86_400_000));
    const suffix = eventName.slice(baseEventName(eventName).length);
    let budgetLeft = true;
    for (const name of [`UpdateAlias${suffix}`, `CreateAlias${suffix}`]) {
      let found: string | undefined;
      await this.#lookup({ AttributeKey: 'EventName', AttributeValue: name }, start, before, deadline, (page) => {
        budgetLeft = spend();
        for (const raw of page) {
          const e = toTrailEvent(raw);
          const v = e ? aliasVersion(e, functionName, alias) : undefined;
          if (v !== undefined) {
            found = v;
            return false;
          }
        }
        return budgetLeft;
      });
      if (found !== undefined || !budgetLeft) return found;
    }
    return undefined;
  }

  async #parameterHistory(name: string, deadline: Deadline): Promise<ParameterHistory[]> {
    const client = (this.#ssm ??= new SSMClient(awsClientOptions(this.#options.clientSettings)));
    const out: ParameterHistory[] = [];
    // At most 100 versions are kept per parameter: two pages of 50.
    for await (const page of deadline.pages(paginateGetParameterHistory({ client, pageSize: 50 }, { Name: name, WithDecryption: false }, { abortSignal: deadline.signal }))) out.push(...(page.Parameters ?? []));
    return out;
  }

  #applyParameterHistory(d: Draft, name: string, version: number, secureEvent: boolean, history: readonly ParameterHistory[]): void {
    const current = history.find((h) => h.Version === version);
    const previous = history.filter((h) => h.Version !== undefined && h.Version < version).sort((a, b) => b.Version! - a.Version!)[0];
    const secureType = secureEvent || current?.Type === 'SecureString' || previous?.Type === 'SecureString';
    // A secret kept as a plain String is still a secret: its values go nowhere (the record, the plan, a model's prompt).
    const secure = secureType || SENSITIVE_KEY.test(name);
    const ids = d.resource!.identifiers!;
    if (!previous) {
      if (version === 1) {
        d.title = `SSM parameter ${name} created${!secure && current?.Value !== undefined ? `: ${quoted(current.Value)}` : ''}`;
        d.resource!.identifiers = { ...ids, previous: 'none' };
        d.details.push('A new parameter: there is no previous value.');
      } else markUnknown(d, `The previous value is unknown: version ${version - 1} is no longer in the parameter's history (100 versions are kept).`);
      return;
    }
    d.resource!.identifiers = { ...ids, fromVersion: String(previous.Version) };
    if (secure) {
      d.title = `SSM parameter ${name} (${secureType ? 'SecureString' : 'named like a secret'}) changed: version ${previous.Version} → ${version} (values withheld)`;
      d.details.push(`${secureType ? 'SecureString values are not read' : 'The values of a parameter named like a secret are not shown'}; the previous value is version ${previous.Version} of the parameter.`);
      d.rollbackPlan = `Put version ${previous.Version}'s value back into ${name}`;
      return;
    }
    if (current?.Value === undefined || previous.Value === undefined) {
      markUnknown(d, `The values are unknown: the parameter's history has no value for version ${current?.Value === undefined ? version : previous.Version}.`);
      return;
    }
    d.configChange = { param: name, old: previous.Value, new: current.Value };
    d.title = `SSM parameter ${name}: ${quoted(previous.Value)} → ${quoted(current.Value)}`;
    d.rollbackPlan = `Put the previous value (version ${previous.Version}) back into ${name}`;
  }

  async #applyAppConfigHistory(d: Draft, need: Extract<NonNullable<Draft['need']>, { kind: 'appconfig-previous' }>, deadline: Deadline): Promise<void> {
    const client = (this.#appconfig ??= new AppConfigClient(awsClientOptions(this.#options.clientSettings)));
    const eventTime = Date.parse(d.event.time);
    const isThis = (s: DeploymentSummary) => (need.deploymentNumber !== undefined ? s.DeploymentNumber === need.deploymentNumber : false);
    const before = (s: DeploymentSummary) => (need.deploymentNumber !== undefined ? (s.DeploymentNumber ?? 0) < need.deploymentNumber : (s.StartedAt?.getTime() ?? Number.POSITIVE_INFINITY) < eventTime);
    const summaries: DeploymentSummary[] = [];
    let pages = 0;
    for await (const page of deadline.pages(paginateAppConfigDeployments({ client, pageSize: 50 }, { ApplicationId: need.applicationId, EnvironmentId: need.environmentId }, { abortSignal: deadline.signal }))) {
      summaries.push(...(page.Items ?? []));
      pages += 1;
      // Listed newest first: once a page reaches below this deployment with a complete one of the profile, stop.
      if (summaries.some((s) => before(s) && s.State === 'COMPLETE' && s.ConfigurationProfileId === need.configurationProfileId) || pages >= APPCONFIG_PAGES) break;
    }
    const self = summaries.find(isThis);
    if (self?.State === 'ROLLED_BACK' || self?.State === 'REVERTED') {
      d.state = 'rolled-back';
      d.details.push(`AppConfig reports this deployment ${self.State.toLowerCase().replace('_', ' ')}.`);
    }
    const candidates = summaries.filter((s) => before(s) && s.State === 'COMPLETE').sort((a, b) => (b.DeploymentNumber ?? 0) - (a.DeploymentNumber ?? 0));
    let previous = candidates.find((s) => s.ConfigurationProfileId === need.configurationProfileId);
    if (!previous) {
      // Older summaries may lack the profile id: ask GetDeployment for the newest few.
      for (const s of candidates.filter((c) => c.ConfigurationProfileId === undefined && c.DeploymentNumber !== undefined).slice(0, 3)) {
        const full = await deadline.race(client.send(new GetDeploymentCommand({ ApplicationId: need.applicationId, EnvironmentId: need.environmentId, DeploymentNumber: s.DeploymentNumber }), { abortSignal: deadline.signal }));
        if (full.ConfigurationProfileId === need.configurationProfileId) {
          previous = { ...s, ConfigurationVersion: full.ConfigurationVersion ?? s.ConfigurationVersion };
          break;
        }
      }
    }
    if (!previous?.ConfigurationVersion || !d.toVersion) {
      markUnknown(d, `The previous configuration version is unknown: no earlier completed deployment of profile ${need.configurationProfileId} to environment ${need.environmentId} is among the ${summaries.length} listed.`);
      return;
    }
    d.version = { from: previous.ConfigurationVersion, to: d.toVersion };
    d.resource!.identifiers = { ...d.resource!.identifiers, previousDeploymentNumber: String(previous.DeploymentNumber ?? '') };
    d.title = d.title.replace(/ → version /, `: version ${previous.ConfigurationVersion} → `);
    d.rollbackPlan = `Deploy configuration version ${previous.ConfigurationVersion} of profile ${need.configurationProfileId} to environment ${need.environmentId} again`;
  }
}

/**
 * A change a later change on the same resource undid: the alias or service set back to the version it replaced, or the
 * parameter set back to its old value.
 */
export const markRolledBack = (changes: readonly ChangeRequest[]): ChangeRequest[] =>
  changes.map((c) => {
    if (c.state !== 'implemented' || !c.resource) return c;
    const undone = changes.some(
      (later) =>
        later !== c &&
        later.deployedAt > c.deployedAt &&
        later.resource?.arn === c.resource!.arn &&
        ((c.version && later.version?.to === c.version.from) || (c.configChange && later.configChange?.param === c.configChange.param && later.configChange.new === c.configChange.old)),
    );
    return undone ? { ...c, state: 'rolled-back' as const } : c;
  });

/** The settings of the aws-changes row (adapters.ts). */
export interface AwsChangesSettings {
  readonly directory: DirectorySettings;
  readonly client?: AwsClientSettings;
  readonly maxEvents?: number;
  readonly codeDeploy?: boolean;
  readonly historyMaxCandidates?: number;
}

/** The adapter a deployment builds: its own clients, the directory the aws rows share, the history in the incident table. */
export const awsChanges = (s: AwsChangesSettings, table: { readonly dynamo?: () => DynamoDBDocumentClient; readonly tableName?: string }): AwsChanges =>
  new AwsChanges({
    directory: serviceDirectory(s.directory, {}, s.client ? { client: s.client } : {}),
    history: new IncidentHistory({ doc: table.dynamo, tableName: table.tableName, ...(s.historyMaxCandidates !== undefined ? { maxCandidates: s.historyMaxCandidates } : {}) }),
    ...(s.client ? { clientSettings: s.client } : {}),
    ...(s.maxEvents !== undefined ? { maxEvents: s.maxEvents } : {}),
    ...(s.codeDeploy !== undefined ? { codeDeploy: s.codeDeploy } : {}),
  });
