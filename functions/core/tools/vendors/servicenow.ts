/**
 * ChangeHistory port over the ServiceNow Table API (`/api/now/table/{table}`, records under `result`).
 *
 * - listChanges: `GET change_request` with an encoded query on the window (actual `work_start`, or the
 *   planned `start_date` when work has not been recorded) and the services (`cmdb_ci` or
 *   `business_service` by name), newest first.
 * - searchIncidents: `GET incident`, keywords matched with `LIKE` on short_description / description /
 *   close_notes, resolved or closed only, `ORDERBYDESCsys_created_on`; the candidates are then ranked here
 *   by keyword hits (+ service match), because ServiceNow's LIKE has no relevance order.
 * - recordIncident: idempotent upsert keyed by `correlation_id` (our incident id): `GET` by correlation id,
 *   then `PATCH` the record found or `POST` a new one, resolved, with the root cause in the description
 *   and the resolution in `close_notes`. Set `readOnly: true` for an instance the integration user may
 *   not write to: recordIncident then fails with ToolUnavailable (the agent records the gap).
 *
 * Reads use `sysparm_display_value=all`, so each field arrives as `{value, display_value}`: dates are
 * taken from `value` (UTC, `yyyy-MM-dd HH:mm:ss`, whatever the user's time zone) and references
 * (`cmdb_ci`, `business_service`, `assigned_to`) from `display_value`. Date literals written into queries are
 * UTC too (`field>=yyyy-MM-dd HH:mm:ss` is compared with the stored UTC value).
 *
 * `scope.environment` is not used: one adapter serves one instance.
 */
import * as z from 'zod';
import { type ChangeHistory, type ChangeRequest, type PastIncident, type ToolScope, type TimeWindow, ToolUnavailable } from '../ports.ts';
import { type Credential, HttpClient, type RetryPolicy, resolveCredential } from './http.ts';
import { byCodeUnit } from '../../compare.ts';

const VENDOR = 'ServiceNow';

export type ServiceNowAuth = { readonly user: string; readonly password: Credential } | { readonly token: Credential };

export interface ServiceNowOptions extends RetryPolicy {
  /** `https://<instance>.service-now.com` */
  readonly instanceUrl: string;
  /** Basic auth (integration user) or an OAuth bearer token. */
  readonly auth: ServiceNowAuth;
  readonly fetch?: typeof globalThis.fetch;
  /** Refuse writes (recordIncident). @default false */
  readonly readOnly?: boolean;
  /** `close_code` set when recording a resolved incident (the choice list differs between releases). @default 'Solved (Permanently)' */
  readonly closeCode?: string;
  /** Overrides how a change request is classified into our change types. */
  readonly classifyChange?: (record: Readonly<Record<string, string>>) => ChangeRequest['type'];
  /** Upper bound on change requests read per call. @default 200 */
  readonly maxChanges?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const CHANGE_FIELDS = ['sys_id', 'number', 'short_description', 'description', 'cmdb_ci', 'business_service', 'category', 'type', 'state', 'close_code', 'start_date', 'end_date', 'work_start', 'work_end', 'backout_plan', 'assigned_to', 'requested_by'];
const INCIDENT_FIELDS = ['sys_id', 'number', 'short_description', 'description', 'cmdb_ci', 'business_service', 'category', 'opened_at', 'resolved_at', 'closed_at', 'close_notes', 'close_code', 'state'];
/** incident.state: 6 Resolved, 7 Closed. */
const RESOLVED_STATES = '6,7';
const MAX_KEYWORDS = 8;
const CANDIDATES_PER_RESULT = 5;
const MAX_CANDIDATES = 100;
const DEFAULT_LIMIT = 10;
const DEFAULT_MAX_CHANGES = 200;
const PAGE = 100;
const STOPWORDS = new Set(['the', 'and', 'for', 'with', 'from', 'was', 'are', 'after', 'during', 'service', 'into', 'has', 'have', 'not', 'but']);

// A field is `{value, display_value}` with display_value=all, or a bare string otherwise; both accepted.
const Field = z.union([z.string(), z.object({ value: z.union([z.string(), z.number(), z.boolean()]).nullish(), display_value: z.union([z.string(), z.number(), z.boolean()]).nullish() })]).nullish();
const Records = z.object({ result: z.array(z.record(z.string(), Field)) });
const Created = z.object({ result: z.object({ sys_id: z.string() }).passthrough() });

type Raw = z.infer<typeof Records>['result'][number];
interface Rec {
  value(field: string): string;
  display(field: string): string;
}
const rec = (raw: Raw): Rec => {
  const pick = (field: string, which: 'value' | 'display_value'): string => {
    const f = raw[field];
    if (f === null || f === undefined) return '';
    if (typeof f === 'string') return f;
    return String(f[which] ?? f.value ?? '');
  };
  return { value: (f) => pick(f, 'value'), display: (f) => pick(f, 'display_value') };
};

/** `2024-05-01 10:00:00` (ServiceNow internal UTC) ↔ ISO 8601. */
export const fromGlideDate = (value: string): string | undefined => {
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})$/.exec(value.trim());
  if (!m) return undefined;
  return new Date(`${m[1]}T${m[2]}Z`).toISOString();
};
export const toGlideDate = (iso: string): string => {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new ToolUnavailable(VENDOR, `not an ISO 8601 time: "${iso}"`);
  return new Date(t).toISOString().slice(0, 19).replace('T', ' ');
};

/** A value inside an encoded query: `^` separates conditions, and is written `^^` inside a value. */
export const encodedValue = (value: string): string => value.replace(/\^/g, '^^');

/** `a=x^ORa=y^ORb=x…`: one OR group (ServiceNow's ^OR binds tighter than ^, so groups AND together). */
const orGroup = (conditions: string[]): string => conditions.join('^OR');

const serviceCondition = (services: readonly string[]): string =>
  orGroup(services.flatMap((s) => [`cmdb_ci.name=${encodedValue(s)}`, `business_service.name=${encodedValue(s)}`]));

export const keywords = (text: string): string[] => [
  ...new Set(
    text
      .toLowerCase()
      .split(/[^a-z0-9]+/)
      .filter((t) => t.length > 2 && !STOPWORDS.has(t)),
  ),
];

/** change_request.state → our state. Numeric values are the out-of-the-box choices; labels are accepted too. */
const changeState = (r: Rec): ChangeRequest['state'] => {
  const state = r.value('state');
  const label = r.display('state').toLowerCase();
  if (state === '4' || label.startsWith('cancel')) return 'cancelled';
  if (['-5', '-4', '-3', '-2'].includes(state) || ['new', 'assess', 'authorize', 'scheduled'].includes(label)) return 'scheduled';
  if (/unsuccessful|backed out|backout|rolled back/.test(r.value('close_code').toLowerCase())) return 'rolled-back';
  return 'implemented';
};

/**
 * ServiceNow's change `type` (standard/normal/emergency) says how a change is approved, not what it changes:
 * our type comes from the text first (feature flags and configuration changes are usually named as such),
 * then the category (hardware/network/system software → infrastructure), else a deployment.
 */
export const classifyChange = (record: Readonly<Record<string, string>>): ChangeRequest['type'] => {
  const text = `${record.short_description ?? ''} ${record.description ?? ''}`.toLowerCase();
  if (/feature[ -]?flag|feature toggle|\btoggle\b/.test(text)) return 'feature-flag';
  if (/\bconfig(uration)?\b|\bparameter\b|\bsetting\b|\bproperty\b|pool size|timeout value/.test(text)) return 'config';
  const category = (record.category ?? '').toLowerCase();
  if (/hardware|network|system software|infrastructure|database/.test(category) || /terraform|scaling|node pool|certificate|\bdns\b|firewall|load balancer/.test(text)) return 'infrastructure';
  return 'deploy';
};

/** Whether a line starts a labelled section (`Root cause: …`, `Tags: …`). */
const LABEL_LINE = /^([A-Za-z][A-Za-z ]{0,30}):\s*(.*)$/;

/** The text of the `Label:` section (how recordIncident writes it), up to the next labelled line. */
export const section = (text: string, label: string): string | undefined => {
  const lines = text.split(/\r?\n/);
  const start = lines.findIndex((l) => LABEL_LINE.exec(l)?.[1].toLowerCase() === label.toLowerCase());
  if (start < 0) return undefined;
  const body = [LABEL_LINE.exec(lines[start])?.[2] ?? ''];
  for (const line of lines.slice(start + 1)) {
    if (LABEL_LINE.test(line)) break;
    body.push(line);
  }
  const value = body.join('\n').trim();
  return value ? value : undefined;
};

export class ServiceNowChanges implements ChangeHistory {
  readonly #http: HttpClient;
  readonly #readOnly: boolean;
  readonly #closeCode: string;
  readonly #classify: (record: Readonly<Record<string, string>>) => ChangeRequest['type'];
  readonly #maxChanges: number;

  constructor(options: ServiceNowOptions) {
    const auth = options.auth;
    this.#http = new HttpClient({
      ...options,
      vendor: VENDOR,
      baseUrl: options.instanceUrl,
      auth: async () =>
        'token' in auth
          ? { authorization: `Bearer ${await resolveCredential(VENDOR, 'OAuth token', auth.token)}` }
          : { authorization: `Basic ${Buffer.from(`${auth.user}:${await resolveCredential(VENDOR, 'password', auth.password)}`).toString('base64')}` },
    });
    this.#readOnly = options.readOnly ?? false;
    this.#closeCode = options.closeCode ?? 'Solved (Permanently)';
    this.#classify = options.classifyChange ?? classifyChange;
    this.#maxChanges = options.maxChanges ?? DEFAULT_MAX_CHANGES;
  }

  /** GET a table; ServiceNow releases that answer an empty query with 404 "No Record found" read as []. */
  async #table(table: string, query: string, fields: string[], limit: number, offset = 0): Promise<Rec[]> {
    const response = await this.#http.request({
      path: `/api/now/table/${table}`,
      query: {
        sysparm_query: query,
        sysparm_fields: fields.join(','),
        sysparm_limit: limit,
        sysparm_offset: offset > 0 ? offset : undefined,
        sysparm_display_value: 'all',
        sysparm_exclude_reference_link: 'true',
      },
      acceptStatuses: [404],
    });
    if (response.status === 404) {
      if (/no record found/i.test(response.text)) return [];
      throw new ToolUnavailable(VENDOR, `404 on GET /api/now/table/${table}: does the table exist and may the user read it?`);
    }
    return this.#http.parse(response.text, Records, `GET /api/now/table/${table}`).result.map(rec);
  }

  async listChanges(q: ToolScope & TimeWindow & { services?: readonly string[] }): Promise<ChangeRequest[]> {
    const from = toGlideDate(q.from);
    const to = toGlideDate(q.to);
    // (actual start in the window) OR (no actual start AND planned start in the window) — two ^NQ groups,
    // each repeating the service condition, because ^OR cannot group an AND.
    const services = q.services && q.services.length > 0 ? `^${serviceCondition(q.services)}` : '';
    const query =
      `work_start>=${from}^work_start<=${to}${services}` +
      `^NQwork_startISEMPTY^start_date>=${from}^start_date<=${to}${services}` +
      '^ORDERBYDESCwork_start^ORDERBYDESCstart_date';

    const records: Rec[] = [];
    for (let offset = 0; records.length < this.#maxChanges; offset += PAGE) {
      const page = await this.#table('change_request', query, CHANGE_FIELDS, Math.min(PAGE, this.#maxChanges - records.length), offset);
      records.push(...page);
      if (page.length < PAGE) break;
    }

    const wanted = new Set(q.services ?? []);
    return records
      .map((r): ChangeRequest => {
        const ci = r.display('cmdb_ci');
        const bs = r.display('business_service');
        const service = [ci, bs].find((s) => wanted.has(s)) ?? (ci || bs || 'unknown');
        const plain = Object.fromEntries(['short_description', 'description', 'category'].map((f) => [f, r.value(f)]));
        const deployedAt = fromGlideDate(r.value('work_start')) ?? fromGlideDate(r.value('start_date')) ?? new Date(Date.parse(q.from)).toISOString();
        const author = r.display('assigned_to') || r.display('requested_by');
        const backout = r.value('backout_plan');
        return {
          id: r.value('number'),
          service,
          type: this.#classify(plain),
          title: r.value('short_description'),
          description: r.value('description'),
          deployedAt,
          state: changeState(r),
          ...(backout ? { rollbackPlan: backout } : {}),
          ...(author ? { author } : {}),
        };
      })
      .sort((a, b) => byCodeUnit(b.deployedAt, a.deployedAt));
  }

  async searchIncidents(q: ToolScope & { text: string; services?: readonly string[]; limit?: number }): Promise<PastIncident[]> {
    const limit = Math.max(1, q.limit ?? DEFAULT_LIMIT);
    const words = keywords(q.text).slice(0, MAX_KEYWORDS);
    const services = q.services ?? [];
    if (words.length === 0 && services.length === 0) return [];
    const parts = [
      ...(words.length > 0 ? [orGroup(words.flatMap((w) => [`short_descriptionLIKE${encodedValue(w)}`, `descriptionLIKE${encodedValue(w)}`, `close_notesLIKE${encodedValue(w)}`]))] : []),
      ...(services.length > 0 ? [serviceCondition(services)] : []),
      `stateIN${RESOLVED_STATES}`,
      'ORDERBYDESCsys_created_on',
    ];
    const candidates = await this.#table('incident', parts.join('^'), INCIDENT_FIELDS, Math.min(MAX_CANDIDATES, limit * CANDIDATES_PER_RESULT));

    const serviceSet = new Set(services);
    return candidates
      .map((r) => this.#pastIncident(r))
      .map((incident) => {
        const text = `${incident.title} ${incident.rootCause} ${incident.resolution} ${incident.category ?? ''} ${incident.tags.join(' ')}`.toLowerCase();
        const score = words.filter((w) => text.includes(w)).length + (serviceSet.has(incident.service) ? 2 : 0);
        return { incident, score };
      })
      .filter((x) => x.score > 0)
      .sort((a, b) => b.score - a.score || byCodeUnit(b.incident.openedAt, a.incident.openedAt))
      .slice(0, limit)
      .map((x) => x.incident);
  }

  #pastIncident(r: Rec): PastIncident {
    const description = r.value('description');
    const notes = r.value('close_notes');
    const openedAt = fromGlideDate(r.value('opened_at')) ?? new Date(0).toISOString();
    const resolvedAt = fromGlideDate(r.value('resolved_at')) ?? fromGlideDate(r.value('closed_at'));
    const tags = section(description, 'Tags');
    const category = r.display('category');
    return {
      id: r.value('number'),
      title: r.value('short_description'),
      service: r.display('business_service') || r.display('cmdb_ci') || 'unknown',
      openedAt,
      ...(resolvedAt ? { resolvedAt, resolutionMinutes: Math.max(0, Math.round((Date.parse(resolvedAt) - Date.parse(openedAt)) / 60_000)) } : {}),
      ...(category ? { category } : {}),
      // Incidents record a root cause only where someone wrote one; the description is the nearest text.
      rootCause: section(description, 'Root cause') ?? section(notes, 'Root cause') ?? description,
      resolution: section(notes, 'Resolution') ?? notes,
      tags: tags ? tags.split(',').map((t) => t.trim()).filter(Boolean) : [],
    };
  }

  async recordIncident(q: ToolScope & { incident: PastIncident }): Promise<void> {
    const i = q.incident;
    if (this.#readOnly) throw new ToolUnavailable(VENDOR, `read-only adapter: incident ${i.id} was not recorded (readOnly is set)`);
    const existing = await this.#table('incident', `correlation_id=${encodedValue(i.id)}`, ['sys_id'], 1);
    const services = await this.#table('cmdb_ci_service', `name=${encodedValue(i.service)}`, ['sys_id'], 1);
    const serviceId = services[0]?.value('sys_id');
    const body = {
      correlation_id: i.id,
      correlation_display: 'Incident Autopilot',
      short_description: i.title,
      description: [`Root cause: ${i.rootCause}`, `Service: ${i.service}`, ...(i.tags.length > 0 ? [`Tags: ${i.tags.join(', ')}`] : [])].join('\n'),
      close_notes: i.resolution,
      close_code: this.#closeCode,
      ...(i.category ? { category: i.category } : {}),
      ...(serviceId ? { business_service: serviceId } : {}),
      opened_at: toGlideDate(i.openedAt),
      ...(i.resolvedAt ? { state: '6', resolved_at: toGlideDate(i.resolvedAt) } : {}),
    };
    const sysId = existing[0]?.value('sys_id');
    const response = sysId
      ? await this.#http.request({ method: 'PATCH', path: `/api/now/table/incident/${encodeURIComponent(sysId)}`, json: body })
      : await this.#http.request({ method: 'POST', path: '/api/now/table/incident', json: body });
    this.#http.parse(response.text, Created, sysId ? 'PATCH /api/now/table/incident' : 'POST /api/now/table/incident');
  }
}
