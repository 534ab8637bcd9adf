/**
 * The domain model shared by every function: the normalised alert, the incident, the evidence agents
 * collect and the typed outputs they write. Every agent output cites evidence ids; `validateCitations`
 * rejects an output that cites an id its evidence does not contain.
 */
import * as z from 'zod';

/** The monitoring tools whose webhooks `POST /alerts/{source}` accepts. */
export const AlertSource = z.enum(['dynatrace', 'alertmanager', 'datadog', 'cloudwatch', 'generic']);
export type AlertSource = z.infer<typeof AlertSource>;

/**
 * The source of the alerts Incident Autopilot raises itself: the anomaly detector (functions/detect-anomalies) hands
 * them to the core intake directly. Not a webhook source: nobody outside may post alerts in the detector's name.
 */
export const DETECTOR_SOURCE = 'detector';
/** Where a normalised alert came from: a webhook's vendor, or the system's own detector. */
export const IntakeSource = z.enum([...AlertSource.options, DETECTOR_SOURCE]);
export type IntakeSource = z.infer<typeof IntakeSource>;

export const Severity = z.enum(['SEV1', 'SEV2', 'SEV3', 'SEV4']);
export type Severity = z.infer<typeof Severity>;

/**
 * A string that becomes part of a DynamoDB key, capped in UTF-8 bytes (DynamoDB's limit is 2,048 bytes for a
 * partition key): a character cap alone lets multi-byte text through to a ValidationException, a 500.
 */
const keyPart = (maxChars: number, maxBytes: number, minChars = 1) =>
  z
    .string()
    .min(minChars)
    .max(maxChars)
    .refine((s) => Buffer.byteLength(s, 'utf8') <= maxBytes, { message: `must be at most ${maxBytes} bytes in UTF-8 (it is part of a storage key)` });

/** One alert from any source, after normalisation. */
export const NormalizedAlert = z.object({
  source: IntakeSource,
  /** The vendor's own identity for this alert (Dynatrace PID, Datadog alert cycle key, ...); keys DEDUP#<source>:<dedupKey>. */
  dedupKey: keyPart(512, 1024),
  /** OPEN/firing or RESOLVED/recovered. */
  state: z.enum(['OPEN', 'RESOLVED']),
  title: z.string().min(1).max(1024),
  /** Keys the correlation pointer CORR#<environment>#<service>, with `environment`. */
  service: keyPart(256, 512),
  severity: Severity,
  /** When the vendor says the problem started (ISO 8601). */
  startedAt: z.iso.datetime({ offset: true }),
  /** Environment / tenant scope the tools query (e.g. a Dynatrace management zone, a simulated world id). */
  environment: keyPart(256, 512, 0).optional(),
  tags: z.record(z.string(), z.string()).default({}),
  url: z.string().max(2048).optional(),
  description: z.string().max(8192).optional(),
});
export type NormalizedAlert = z.infer<typeof NormalizedAlert>;

export const IncidentStatus = z.enum([
  'OPEN',
  'INVESTIGATING',
  'AWAITING_APPROVAL',
  'MITIGATING',
  'VERIFYING',
  'RESOLVED',
  'ESCALATED',
  'FAILED',
]);
export type IncidentStatus = z.infer<typeof IncidentStatus>;
export const TERMINAL_STATUSES: readonly IncidentStatus[] = ['RESOLVED', 'ESCALATED', 'FAILED'];
/** The statuses in which an incident's workflow should be running, OPEN first (IncidentStatus's order otherwise). */
export const NON_TERMINAL_STATUSES: readonly IncidentStatus[] = IncidentStatus.options.filter((s) => !TERMINAL_STATUSES.includes(s));

/**
 * Workflow policy carried in the execution input (the verification Wait reads it). The approval deadline
 * is part of the definition itself (see lib/workflow-definition.ts), because `TimeoutSecondsPath` is
 * resolved differently by Step Functions and by the local interpreter.
 */
export const WorkflowPolicy = z.object({
  verifyWaitSeconds: z.number().int().min(0).max(86_400),
  maxVerifyChecks: z.number().int().min(1).max(20),
});
export type WorkflowPolicy = z.infer<typeof WorkflowPolicy>;

/** The execution input written by ingest/rerun: ids and a short summary only. */
export const ExecutionInput = z.object({
  incidentId: z.string().min(1),
  service: z.string(),
  severity: Severity,
  title: z.string(),
  policy: WorkflowPolicy,
});
export type ExecutionInput = z.infer<typeof ExecutionInput>;

/** What every agent Lambda receives from the state machine. */
export const AgentTask = z.object({
  incidentId: z.string().min(1).max(128),
});
export type AgentTask = z.infer<typeof AgentTask>;

// ───────────────────────────── evidence ─────────────────────────────

export const EvidenceKind = z.enum(['metric', 'trace', 'log', 'change', 'incident', 'oncall', 'ownership', 'topology', 'action', 'gap']);
export type EvidenceKind = z.infer<typeof EvidenceKind>;

/** One fact an agent saw through a tool. `id` is stable within the incident (e.g. `metric:inventory-service:latency_p99`). */
export const Evidence = z.object({
  id: z.string().min(1),
  kind: EvidenceKind,
  source: z.string(), // the tool that produced it: "telemetry", "changes", "logs", "oncall", ...
  summary: z.string(),
  data: z.unknown().optional(),
});
export type Evidence = z.infer<typeof Evidence>;

// ───────────────────────────── agent outputs ─────────────────────────────

const evidenceIds = z.array(z.string()).default([]);

export const Anomaly = z.object({
  service: z.string(),
  metric: z.string(),
  baseline: z.number(),
  current: z.number(),
  /** Robust z-like score, >= 0. */
  score: z.number(),
  direction: z.enum(['up', 'down']),
  onset: z.string().optional(),
  evidenceIds,
});
export type Anomaly = z.infer<typeof Anomaly>;

export const ImpactOutput = z.object({
  anomalies: z.array(Anomaly),
  blastRadius: z.array(z.string()),
  usersImpacted: z.number().nonnegative(),
  revenuePerMinute: z.number().nonnegative(),
  severity: Severity,
  /** The earliest anomaly onset across services (ISO 8601), if any. */
  onset: z.string().optional(),
  confidence: z.number().min(0).max(1),
  reasoning: z.string(),
  evidenceIds,
});
export type ImpactOutput = z.infer<typeof ImpactOutput>;

export const SimilarIncident = z.object({
  id: z.string(),
  title: z.string(),
  score: z.number().min(0).max(1),
  rootCause: z.string().optional(),
  resolution: z.string().optional(),
  resolutionMinutes: z.number().optional(),
  evidenceIds,
});
export const SimilarOutput = z.object({
  incidents: z.array(SimilarIncident).max(3),
  topMatch: z.string().optional(),
  suggestedRunbook: z.string().optional(),
  reasoning: z.string(),
  evidenceIds,
});
export type SimilarOutput = z.infer<typeof SimilarOutput>;

export const LogTemplate = z.object({
  id: z.string(),
  template: z.string(),
  service: z.string(),
  level: z.string(),
  count: z.number().int().nonnegative(),
  firstSeen: z.string(),
  lastSeen: z.string(),
  /** Whether the template is new or much more frequent than in the baseline window. */
  novel: z.boolean(),
  evidenceIds,
});
export const LogAnalysisOutput = z.object({
  templates: z.array(LogTemplate),
  totalLines: z.number().int().nonnegative(),
  firstErrorAt: z.string().optional(),
  reasoning: z.string(),
  evidenceIds,
});
export type LogAnalysisOutput = z.infer<typeof LogAnalysisOutput>;

export const TeamToEngage = z.object({
  team: z.string(),
  service: z.string(),
  oncall: z.string(),
  contact: z.string(),
  slackChannel: z.string().optional(),
  escalation: z.string().optional(),
  evidenceIds,
});
export const TriageOutput = z.object({
  classification: z.string(),
  headline: z.string(),
  narrative: z.string(),
  teamsToEngage: z.array(TeamToEngage),
  nextSteps: z.array(z.string()),
  confidence: z.number().min(0).max(1),
  evidenceIds,
});
export type TriageOutput = z.infer<typeof TriageOutput>;

export const FaultCategory = z.enum([
  'bad-deploy',
  'config-change',
  'database',
  'connection-pool',
  'memory-leak',
  'capacity',
  'dependency',
  'cache',
  'certificate',
  'dns',
  // Mechanisms without a change (issue 11): what runs out or stops, whatever triggered it.
  'disk-full',
  'file-descriptors',
  'throttling',
  'queue-backlog',
  'credential',
  // Confined to one availability zone of a service (its hosts, network or storage there), whatever set it off.
  'zone',
  'unknown',
]);
export type FaultCategory = z.infer<typeof FaultCategory>;

/**
 * Categories that name what triggered a fault (a deploy, a config or flag change) rather than how it fails: a
 * hypothesis's `mechanism` is one of these only when the evidence does not show the mechanism, and an answer key
 * with one of these as its category does not score the mechanism unless it names one (`expect.rootCause.mechanism`).
 */
export const TRIGGER_CATEGORIES: ReadonlySet<FaultCategory> = new Set(['bad-deploy', 'config-change']);
export const isTriggerCategory = (category: string | undefined): boolean => TRIGGER_CATEGORIES.has(category as FaultCategory);

/**
 * What set the fault off, apart from how it fails (issue 11): a change (`changeId`), load (a surge, demand growing
 * into a quota), a scheduled job, an external dependency, something that expired, or the service itself with nothing
 * outside it (a leak, a disk filling, a defect with no change), or one availability zone's infrastructure (an AZ
 * impairment: only the service's share in that zone fails). `service` is where that culprit lives.
 */
export const CulpritKind = z.enum(['change', 'load', 'job', 'dependency', 'expiry', 'service', 'zone']);
export type CulpritKind = z.infer<typeof CulpritKind>;
export const Culprit = z.object({
  kind: CulpritKind,
  service: z.string(),
  changeId: z.string().optional(),
  /** A zone culprit: the availability zone that went bad. */
  zone: z.string().optional(),
});
export type Culprit = z.infer<typeof Culprit>;

export const Prediction = z.object({
  statement: z.string(),
  result: z.enum(['supported', 'refuted', 'inconclusive']),
  evidenceIds,
});
export const Hypothesis = z.object({
  summary: z.string(),
  service: z.string(),
  /** The compatibility field: one category for the culprit and the mechanism together, as before issue 11. */
  category: FaultCategory,
  changeId: z.string().optional(),
  /**
   * What triggered the fault, and how it fails (what runs out or stops). Optional only so that outputs stored before
   * they existed, and a model's answer without them, still parse: the offline analysis always sets both, and the
   * root-cause agent fills a model's omissions (analysis/hypotheses/culprit.ts `withCulprits`).
   */
  culprit: Culprit.optional(),
  mechanism: FaultCategory.optional(),
  predictions: z.array(Prediction),
  confidence: z.number().min(0).max(1),
  evidenceIds,
});
export type Hypothesis = z.infer<typeof Hypothesis>;
export const RootCauseOutput = z.object({
  rootCauses: z.array(Hypothesis),
  abstained: z.boolean(),
  missingEvidence: z.array(z.string()).default([]),
  rollbackCandidate: z.string().optional(),
  reasoning: z.string(),
  evidenceIds,
});
export type RootCauseOutput = z.infer<typeof RootCauseOutput>;

export const ActionKind = z.enum(['rollback-change', 'revert-config', 'scale-service', 'restart-service', 'toggle-feature-flag', 'failover', 'none']);
export type ActionKind = z.infer<typeof ActionKind>;
export const RiskLevel = z.enum(['low', 'medium', 'high']);
export type RiskLevel = z.infer<typeof RiskLevel>;

export const MitigationAction = z.object({
  kind: ActionKind,
  service: z.string(),
  /** The change to roll back, the parameter to revert, ... */
  target: z.string().optional(),
  params: z.record(z.string(), z.unknown()).default({}),
  description: z.string(),
  risk: RiskLevel,
  reversible: z.boolean(),
  evidenceIds,
});
export type MitigationAction = z.infer<typeof MitigationAction>;
export const PlanOutput = z.object({
  immediate: z.array(MitigationAction),
  longTerm: z.array(z.string()),
  risk: RiskLevel,
  reversible: z.boolean(),
  /** True only when the policy allows this plan to run without a human. */
  autoApprove: z.boolean(),
  rationale: z.string(),
  evidenceIds,
});
export type PlanOutput = z.infer<typeof PlanOutput>;

export const ExecutedAction = z.object({ kind: ActionKind, service: z.string(), target: z.string().optional(), status: z.enum(['succeeded', 'failed', 'skipped']), detail: z.string(), executedAt: z.string() });
export type ExecutedAction = z.infer<typeof ExecutedAction>;
export const ExecutionOutput = z.object({
  actions: z.array(ExecutedAction),
  executedAt: z.string(),
  /** The inverses run after verification failed ("Undo mitigation"), in the order they ran (reverse of `actions`). */
  undone: z.array(ExecutedAction).optional(),
});
export type ExecutionOutput = z.infer<typeof ExecutionOutput>;

export const MetricCheck = z.object({
  service: z.string(),
  metric: z.string(),
  baseline: z.number(),
  before: z.number(),
  after: z.number(),
  recovered: z.boolean(),
  evidenceIds,
});
export const VerificationOutput = z.object({
  attempt: z.number().int().min(1),
  recovered: z.boolean(),
  checks: z.array(MetricCheck),
  checkedAt: z.string(),
});
export type VerificationOutput = z.infer<typeof VerificationOutput>;

export const ReportOutput = z.object({
  markdown: z.string(),
  /** Where the report is stored (s3://… on AWS, a path on the laptop twin, or dynamodb://…). */
  location: z.string(),
  /** `self-recovered`: every alert resolved on its own while the mitigation awaited approval (approval withdrawn). */
  outcome: z.enum(['resolved', 'escalated', 'rejected', 'no-action', 'self-recovered']),
});
export type ReportOutput = z.infer<typeof ReportOutput>;

/** Agent names: also the DynamoDB sort-key suffix `AGENT#<name>`. */
export const AgentName = z.enum(['impact', 'similar', 'logs', 'triage', 'rootcause', 'plan', 'execution', 'verification', 'report']);
export type AgentName = z.infer<typeof AgentName>;

/** What is stored per agent run (AGENT#<name>). */
export const AgentRecord = z.object({
  agent: AgentName,
  output: z.unknown(),
  evidence: z.array(Evidence),
  latencyMs: z.number().nonnegative(),
  reasoner: z.string(), // "offline" | "llm:<model>" | "offline-fallback"
  reasonerNote: z.string().optional(),
  toolCalls: z.array(z.object({ tool: z.string(), ok: z.boolean(), latencyMs: z.number(), error: z.string().optional() })).default([]),
  tokens: z.object({ input: z.number(), output: z.number() }).optional(),
  completedAt: z.string(),
});
export type AgentRecord = z.infer<typeof AgentRecord>;

/** The compact result a workflow task returns to the state machine (ids and a one-line summary). */
export interface AgentSummary {
  readonly incidentId: string;
  readonly agent: AgentName;
  readonly summary: string;
}

/** Collects every `evidenceIds` array in a value, recursively. */
export const citedEvidenceIds = (value: unknown, out = new Set<string>()): Set<string> => {
  if (Array.isArray(value)) for (const v of value) citedEvidenceIds(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'evidenceIds' && Array.isArray(v)) for (const id of v) out.add(String(id));
      else citedEvidenceIds(v, out);
    }
  }
  return out;
};

export class UnknownEvidenceCited extends Error {
  override name = 'UnknownEvidenceCited';
  readonly ids: string[];
  constructor(ids: string[]) {
    super(`output cites evidence that does not exist: ${ids.join(', ')}`);
    this.ids = ids;
  }
}

/** Throws `UnknownEvidenceCited` when `output` cites an id that is not in `evidence` (or `known`). */
export const validateCitations = (output: unknown, evidence: readonly Evidence[], known: Iterable<string> = []): void => {
  const ids = new Set([...evidence.map((e) => e.id), ...known]);
  const missing = [...citedEvidenceIds(output)].filter((id) => !ids.has(id));
  if (missing.length > 0) throw new UnknownEvidenceCited(missing);
};
