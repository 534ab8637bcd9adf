/**
 * Importer for the PetShop root-cause dataset (amazon-science/petshop-root-cause-analysis, CC BY 4.0): converts
 * each case of one traffic scenario into a recording (format.ts), so `autopilot eval` can run real incidents of a
 * real AWS application through the whole workflow.
 *
 * A scenario directory holds `graph.csv` (the call graph), optionally `noissue/metrics.csv` (days of normal
 * operation) and `train/` and/or `test/` with `issue_*` cases (`metrics.csv` around the issue, `target.json`).
 *
 * What is read from `target.json`: `target` (the alert) and, for the answer key only, `root_cause.node`. Nothing
 * else: `metadata` says how the issue was injected, which is the answer, so it is never looked at.
 *
 * Mapping (the same metric names as the AWS X-Ray adapter):
 * - latency (seconds) Average / Minimum / Maximum / pNN → `latency_avg_ms` / `latency_min_ms` / `latency_max_ms`
 *   / `latency_pNN_ms` (× 1000); availability (%) Average → `error_rate_pct` = 100 − availability; requests Sum
 *   per period → `throughput_rps` = sum / period. Any other metric or statistic is kept under a derived name
 *   (`<metric>_<statistic>`, as recorded) and reported, never dropped. Empty cells are gaps (null).
 * - Nodes keep their X-Ray names; the resource type after the name (`<Name>_AWS::ECS::Fargate`, `_Database::SQL`,
 *   `_remote`, `_client`) goes to `type`, and the tier follows from it as in the AWS telemetry adapter (the shared
 *   convention of tools/aws/xray-names.ts; see `tierOf`).
 * - The baseline: the scenario's `noissue` period was recorded months after the cases, so it is spliced in front
 *   of each case, shifted to end one period before the case's first point, on the case's own grid, at the same
 *   time of day (see `chooseBaselineSplice`). The description says where the splice is.
 * - `recordedUntil` is the end of the case's last period (last point + one period): a point is stamped with the
 *   start of the period it aggregates, as CloudWatch and X-Ray do.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import * as z from 'zod';
import { parseXrayNodeName, xrayTier } from '../tools/aws/xray-names.ts';
import { parseRecording, RECORDING_FORMAT, type RecordedNode, type RecordedSeries, type Recording } from './format.ts';

/** The dataset's resolution: one point per 5 minutes. */
export const PETSHOP_RESOLUTION_SECONDS = 300;
export const PETSHOP_SOURCE = {
  dataset: 'PetShop (amazon-science/petshop-root-cause-analysis)',
  license: 'CC BY 4.0',
  url: 'https://github.com/amazon-science/petshop-root-cause-analysis',
} as const;
const DAY_SECONDS = 86_400;

/** Input that is not what the dataset's layout says: the message names the file, the line and the field. */
export class InvalidPetshopData extends Error {
  override name = 'InvalidPetshopData';
}

/** `--out` cannot be made a directory, or a recording cannot be written there: the message names the path. */
export class ImportOutputError extends Error {
  override name = 'ImportOutputError';
}

// ───────────────────────────── CSV ─────────────────────────────

export interface CsvRow {
  /** 1-based line of the file where the row starts. */
  readonly line: number;
  readonly cells: string[];
}

/** RFC 4180 CSV (quoted fields with `""` escapes and line breaks, CRLF or LF); empty lines are skipped. */
export const parseCsv = (text: string, file: string): CsvRow[] => {
  const rows: CsvRow[] = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  let rowHasContent = false;
  const endRow = () => {
    if (rowHasContent || cells.length > 0) rows.push({ line: rowLine, cells: [...cells, cell] });
    cells = [];
    cell = '';
    rowHasContent = false;
  };
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  for (let i = 0; i < src.length; i += 1) {
    const c = src[i];
    if (quoted) {
      if (c === '"') {
        if (src[i + 1] === '"') {
          cell += '"';
          i += 1;
        } else quoted = false;
      } else {
        if (c === '\n') line += 1;
        cell += c;
      }
      continue;
    }
    if (c === '"') {
      if (cell !== '') throw new InvalidPetshopData(`${file} line ${line}: a quote inside an unquoted field`);
      quoted = true;
      rowHasContent = true;
    } else if (c === ',') {
      cells.push(cell);
      cell = '';
      rowHasContent = true;
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && src[i + 1] === '\n') i += 1;
      endRow();
      line += 1;
      rowLine = line;
    } else {
      cell += c;
      rowHasContent = true;
    }
  }
  if (quoted) throw new InvalidPetshopData(`${file} line ${rowLine}: a quoted field is not closed before the end of the file`);
  endRow();
  return rows;
};

const parseNumberCell = (cell: string): number | null | undefined => {
  const t = cell.trim();
  if (t === '' || /^nan$/i.test(t)) return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
};

// ───────────────────────────── graph.csv ─────────────────────────────

export interface CallGraph {
  /** Node names in the file's column order. */
  readonly nodes: string[];
  /** caller → callees, in the file's column order. */
  readonly calls: ReadonlyMap<string, string[]>;
  readonly edges: number;
}

const checkName = (name: string, where: string): string => {
  if (name === '') throw new InvalidPetshopData(`${where}: an empty node name`);
  if (name.trim() !== name || /[\u0000-\u001f]/.test(name)) throw new InvalidPetshopData(`${where}: node name ${JSON.stringify(name)} has leading/trailing blanks or control characters`);
  return name;
};

/** The call graph: a square 0/1 adjacency matrix, row = caller, column = callee, the same names both ways. */
export const parseGraph = (text: string, file: string): CallGraph => {
  const rows = parseCsv(text, file);
  if (rows.length === 0) throw new InvalidPetshopData(`${file}: empty (expected a square 0/1 adjacency matrix with node names in the first row and column)`);
  const [head, ...body] = rows;
  const columns = head.cells.slice(1).map((n, i) => checkName(n, `${file} line ${head.line}, column ${i + 2}`));
  if (columns.length === 0) throw new InvalidPetshopData(`${file} line ${head.line}: no node columns`);
  const seen = new Map<string, number>();
  columns.forEach((n, i) => {
    if (seen.has(n)) throw new InvalidPetshopData(`${file} line ${head.line}: node "${n}" names columns ${seen.get(n)! + 2} and ${i + 2}`);
    seen.set(n, i);
  });
  if (body.length !== columns.length) throw new InvalidPetshopData(`${file}: not square: ${columns.length} column(s) but ${body.length} row(s)`);
  const calls = new Map<string, string[]>();
  let edges = 0;
  for (const row of body) {
    if (row.cells.length !== head.cells.length) throw new InvalidPetshopData(`${file} line ${row.line}: ${row.cells.length} cell(s), the header has ${head.cells.length}`);
    const caller = checkName(row.cells[0], `${file} line ${row.line}, column 1`);
    if (!seen.has(caller)) throw new InvalidPetshopData(`${file} line ${row.line}: row "${caller}" is not a column of the header`);
    if (calls.has(caller)) throw new InvalidPetshopData(`${file} line ${row.line}: row "${caller}" appears twice`);
    const callees: string[] = [];
    row.cells.slice(1).forEach((cell, i) => {
      const v = Number(cell.trim());
      if (cell.trim() === '' || (v !== 0 && v !== 1)) throw new InvalidPetshopData(`${file} line ${row.line}, column ${i + 2} (${caller} → ${columns[i]}): "${cell}" is not 0 or 1`);
      if (v === 1) callees.push(columns[i]);
    });
    edges += callees.length;
    calls.set(caller, callees);
  }
  return { nodes: columns, calls, edges };
};

// ───────────────────────────── metrics.csv ─────────────────────────────

export interface MetricColumn {
  readonly service: string;
  /** As recorded: `latency`, `availability`, `requests`, … */
  readonly metric: string;
  /** As recorded: `Average`, `p99`, `Sum`, … */
  readonly statistic: string;
  /** One value per row of the grid (`start + i × resolutionSeconds`); null is a gap. */
  readonly values: (number | null)[];
}

export interface MetricTable {
  /** Unix seconds of the first row. */
  readonly start: number;
  readonly resolutionSeconds: number;
  /** Rows of the grid, including the rows the file skipped (all gaps). */
  readonly rows: number;
  /** Grid rows the file did not have (filled with gaps). */
  readonly missingRows: number;
  readonly columns: MetricColumn[];
}

const HEADER_ROWS = ['microservice', 'metric', 'statistic'] as const;

/**
 * A PetShop metrics file: three header rows (microservice / metric / statistic; the first cell names the row),
 * optionally pandas' index-name row (`unix_timestamp,,,…`), then one row per period: the unix time, then a value
 * per column. Rows must increase by whole periods; a period the file skips becomes a gap in every column.
 */
export const parseMetricsCsv = (text: string, file: string, resolutionSeconds = PETSHOP_RESOLUTION_SECONDS): MetricTable => {
  const rows = parseCsv(text, file);
  if (rows.length < HEADER_ROWS.length) throw new InvalidPetshopData(`${file}: ${rows.length} row(s); expected a 3-row header (${HEADER_ROWS.join(' / ')}) and data rows`);
  const width = rows[0].cells.length;
  HEADER_ROWS.forEach((label, i) => {
    const row = rows[i];
    if (row.cells[0].trim().toLowerCase() !== label) throw new InvalidPetshopData(`${file} line ${row.line}: header row ${i + 1} must start with "${label}", found "${row.cells[0]}"`);
    if (row.cells.length !== width) throw new InvalidPetshopData(`${file} line ${row.line}: ${row.cells.length} cell(s), the first header row has ${width}`);
  });
  if (width < 2) throw new InvalidPetshopData(`${file} line ${rows[0].line}: no metric columns`);
  const heads = rows[0].cells.slice(1).map((service, i) => {
    const col = i + 2;
    const metric = rows[1].cells[i + 1].trim();
    const statistic = rows[2].cells[i + 1].trim();
    checkName(service, `${file} line ${rows[0].line}, column ${col}`);
    if (metric === '') throw new InvalidPetshopData(`${file} line ${rows[1].line}, column ${col} (${service}): empty metric`);
    if (statistic === '') throw new InvalidPetshopData(`${file} line ${rows[2].line}, column ${col} (${service} ${metric}): empty statistic`);
    return { service, metric, statistic, col };
  });
  const keys = new Map<string, number>();
  for (const h of heads) {
    const key = `${h.service}\u0000${h.metric}\u0000${h.statistic}`;
    if (keys.has(key)) throw new InvalidPetshopData(`${file}: columns ${keys.get(key)} and ${h.col} are both ${h.service} ${h.metric} ${h.statistic}`);
    keys.set(key, h.col);
  }
  let data = rows.slice(HEADER_ROWS.length);
  // pandas writes the index's name on a row of its own under a multi-row header
  if (data.length > 0 && parseNumberCell(data[0].cells[0]) === undefined && data[0].cells.slice(1).every((c) => c.trim() === '')) data = data.slice(1);
  if (data.length === 0) throw new InvalidPetshopData(`${file}: no data rows after the header`);
  const times: number[] = [];
  for (const row of data) {
    if (row.cells.length !== width) throw new InvalidPetshopData(`${file} line ${row.line}: ${row.cells.length} cell(s), the header has ${width}`);
    const t = parseNumberCell(row.cells[0]);
    if (t === null || t === undefined || !Number.isInteger(t)) throw new InvalidPetshopData(`${file} line ${row.line}, column 1: "${row.cells[0]}" is not a unix time in whole seconds`);
    const previous = times.at(-1);
    if (previous !== undefined) {
      const step = t - previous;
      if (step <= 0 || step % resolutionSeconds !== 0) throw new InvalidPetshopData(`${file} line ${row.line}: time ${t} is ${step} s after the previous row; rows must increase by whole ${resolutionSeconds} s periods`);
    }
    times.push(t);
  }
  const start = times[0];
  const gridRows = (times.at(-1)! - start) / resolutionSeconds + 1;
  const columns: MetricColumn[] = heads.map((h) => ({ service: h.service, metric: h.metric, statistic: h.statistic, values: new Array<number | null>(gridRows).fill(null) }));
  data.forEach((row, r) => {
    const slot = (times[r] - start) / resolutionSeconds;
    heads.forEach((h, c) => {
      const v = parseNumberCell(row.cells[c + 1]);
      if (v === undefined) throw new InvalidPetshopData(`${file} line ${row.line}, column ${h.col} (${h.service} ${h.metric} ${h.statistic}): "${row.cells[c + 1]}" is not a number`);
      columns[c].values[slot] = v;
    });
  });
  return { start, resolutionSeconds, rows: gridRows, missingRows: gridRows - data.length, columns };
};

// ───────────────────────────── metric names ─────────────────────────────

export interface MetricMapping {
  /** The series name (tools/ports.ts METRICS where one fits). */
  readonly metric: string;
  readonly unit: string;
  /** False when no rule knows this metric/statistic: kept under a derived name, and reported. */
  readonly known: boolean;
  /** Converts one recorded value; throws a RangeError (with the reason) for a value the metric cannot have. */
  readonly convert: (value: number, resolutionSeconds: number) => number;
}

/** Rounded to 9 decimals: the unit conversions must not print 21.630995976216202 for 21.630995976216200. */
const tidy = (x: number): number => Math.round(x * 1e9) / 1e9;
const nonNegative = (what: string) => (v: number) => {
  if (v < 0) throw new RangeError(`a ${what} cannot be negative`);
  return v;
};
const slug = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '') || 'x';

/** The shared metric name, unit and conversion of a PetShop metric/statistic column. */
export const mapPetshopMetric = (metric: string, statistic: string): MetricMapping => {
  const m = metric.trim().toLowerCase();
  const s = statistic.trim();
  if (m === 'latency') {
    const pct = /^p(\d{1,2}(?:\.\d+)?)$/i.exec(s);
    const suffix = pct ? `p${pct[1].replace('.', '_')}` : ({ average: 'avg', minimum: 'min', maximum: 'max' } as Record<string, string>)[s.toLowerCase()];
    if (suffix) return { metric: `latency_${suffix}_ms`, unit: 'ms', known: true, convert: (v) => tidy(nonNegative('latency')(v) * 1000) };
  }
  if (m === 'availability' && s.toLowerCase() === 'average') {
    return {
      metric: 'error_rate_pct',
      unit: '%',
      known: true,
      convert: (v) => {
        // float noise around the bounds is kept in [0, 100]; anything further out is not a percentage
        if (v < -1e-6 || v > 100 + 1e-6) throw new RangeError('availability is a percentage in [0, 100]');
        return tidy(Math.min(100, Math.max(0, 100 - v)));
      },
    };
  }
  if (m === 'requests' && s.toLowerCase() === 'sum') return { metric: 'throughput_rps', unit: 'req/s', known: true, convert: (v, period) => tidy(nonNegative('request count')(v) / period) };
  return { metric: `${slug(metric)}_${slug(statistic)}`, unit: '', known: false, convert: (v) => v };
};

// ───────────────────────────── nodes ─────────────────────────────

/**
 * The type an X-Ray style node name carries (the shared convention, tools/aws/xray-names.ts):
 * `<Name>_AWS::ECS::Fargate` → `AWS::ECS::Fargate`, `<host>_Database::SQL` → `Database::SQL`, `<host>_remote` →
 * `remote`, `<Name>_client` → `client`; a bare resource type (`AWS::StepFunctions::StateMachine`) is its own type;
 * an instrumented service with no suffix has none.
 */
export const xrayNodeType = (name: string): string | undefined => parseXrayNodeName(name).type;

/**
 * The tier of a node: what the AWS telemetry adapter gives the same X-Ray type (`xrayTier`: data stores →
 * database, caches → cache, queues and topics → queue, `remote` nodes and AWS APIs → external, `client` nodes and
 * API Gateway / load balancers → frontend, compute → backend), except that the node that alerted is the frontend
 * when its type makes it compute (where users meet the application; an alerting table stays a database).
 */
export const tierOf = (type: string | undefined, isAlertNode: boolean): RecordedNode['tier'] => {
  const tier = xrayTier(type);
  return isAlertNode && tier === 'backend' ? 'frontend' : tier;
};

// ───────────────────────────── target.json ─────────────────────────────

const Target = z.object({ node: z.string().min(1), metric: z.string().min(1), agg: z.string().min(1), timestamp: z.number().finite() });
const RootCause = z.object({ node: z.string().min(1) });

export interface CaseTarget {
  /** The alert: the node, the metric and statistic that alerted, and when (unix seconds). */
  readonly alert: z.infer<typeof Target>;
  /** The answer key's root-cause node, when the file gives one. */
  readonly rootCauseNode?: string;
}

/**
 * The alert (`target`) and the root-cause node (`root_cause.node`) of a case: only these two fields are read.
 * `metadata` (how the issue was injected) is never looked at.
 */
export const readTarget = (json: unknown, file: string): CaseTarget => {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new InvalidPetshopData(`${file}: not a JSON object`);
  const { target, root_cause: rootCause } = json as { target?: unknown; root_cause?: unknown };
  const alert = Target.safeParse(target);
  if (!alert.success) {
    const issue = alert.error.issues[0];
    throw new InvalidPetshopData(`${file}: target${issue.path.length ? `.${issue.path.join('.')}` : ''}: ${issue.message}`);
  }
  if (rootCause === undefined || rootCause === null) return { alert: alert.data };
  const cause = RootCause.safeParse(rootCause);
  if (!cause.success) throw new InvalidPetshopData(`${file}: root_cause.node: ${cause.error.issues[0].message}`);
  return { alert: alert.data, rootCauseNode: cause.data.node };
};

// ───────────────────────────── the baseline splice ─────────────────────────────

export interface BaselineSplice {
  /** Baseline rows used: rows 0 .. rows − 1 (the ones after are dropped to keep the time of day). */
  readonly rows: number;
  /** Seconds added to every baseline time (negative: the baseline was recorded after the case). */
  readonly shiftSeconds: number;
  /** Whether the spliced baseline keeps the time of day it was recorded at (within half a period). */
  readonly timeOfDayKept: boolean;
}

/**
 * Where the baseline goes: its last kept point lands one period before the case's first point, so baseline and
 * case form one regular series on the case's grid. To keep the time of day (traffic has a daily shape), the last
 * kept point is the latest baseline point whose time of day is within half a period of that slot's; the points
 * after it are dropped (with two days of baseline, between one and two days are kept). When the baseline is
 * shorter than a day and no point matches, the whole baseline is used and the time of day is not kept.
 * The shift is whole days plus less than half a period: it is a whole number of periods only when the baseline's
 * grid and the case's are in phase (when they are not, the case's grid wins: one series has one grid).
 */
export const chooseBaselineSplice = (baseline: Pick<MetricTable, 'start' | 'rows' | 'resolutionSeconds'>, caseStart: number): BaselineSplice => {
  const period = baseline.resolutionSeconds;
  const slot = caseStart - period;
  for (let i = baseline.rows - 1; i >= 0; i -= 1) {
    const t = baseline.start + i * period;
    const offset = (((slot - t) % DAY_SECONDS) + DAY_SECONDS) % DAY_SECONDS;
    if (Math.min(offset, DAY_SECONDS - offset) <= period / 2) return { rows: i + 1, shiftSeconds: slot - t, timeOfDayKept: true };
  }
  return { rows: baseline.rows, shiftSeconds: slot - (baseline.start + (baseline.rows - 1) * period), timeOfDayKept: false };
};

// ───────────────────────────── one case → one recording ─────────────────────────────

export interface PetshopCaseInput {
  readonly scenario: string;
  /** `train` or `test`. */
  readonly split: string;
  /** The case's directory name (`issue_3`). */
  readonly caseName: string;
  readonly graph: CallGraph;
  readonly metrics: MetricTable;
  readonly target: CaseTarget;
  /** The scenario's noissue period, if it has one. */
  readonly baseline?: MetricTable;
  /** For messages: where the case's files are. */
  readonly origin?: { readonly metrics: string; readonly target: string; readonly baseline?: string };
}

export interface CaseReport {
  readonly name: string;
  readonly scenario: string;
  readonly split: string;
  readonly case: string;
  readonly nodes: number;
  readonly edges: number;
  readonly series: number;
  /** Values in all series (baseline and case). */
  readonly points: number;
  /** Null values in all series: cells the dataset left empty, and grid rows a file skipped. */
  readonly gaps: number;
  readonly casePoints: number;
  readonly caseGaps: number;
  /** Grid rows per series taken from the noissue baseline (0: none). */
  readonly baselineRows: number;
  readonly baselineShiftSeconds?: number;
  readonly baselineTimeOfDayKept?: boolean;
  /** `metric/statistic` columns no rule maps: kept under a derived name. */
  readonly unmapped: string[];
  /** Baseline columns of nodes the call graph does not have: not imported (`node metric/statistic`). */
  readonly baselineSkipped: string[];
  /** Baseline columns with no column in the case: imported, with gaps over the case. */
  readonly baselineOnly: number;
  readonly alert: string;
  readonly rootCause?: string;
  /** The file written (fs layer). */
  readonly file?: string;
}

/** Recording names allow letters, digits, `.`, `_`, `-`, at most 64 characters. */
export const recordingName = (scenario: string, split: string, caseName: string): string => {
  const name = `${scenario}-${split}-${caseName}`;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) throw new InvalidPetshopData(`"${name}" (scenario-split-case) is not a valid recording name: letters, digits, ".", "_" and "-", at most 64 characters`);
  return name;
};

const iso = (unixSeconds: number): string => new Date(unixSeconds * 1000).toISOString().replace('.000Z', 'Z');

const direction = (metric: string): string => {
  const m = metric.toLowerCase();
  return m === 'availability' ? 'below normal' : m === 'requests' ? 'abnormal' : 'above normal';
};

/** A recording as written: the sections the dataset has, and no others (see `buildPetshopRecording`). */
export type RecordingDocument = Pick<Recording, 'format' | 'name' | 'description' | 'source' | 'recordedUntil' | 'alert' | 'topology' | 'metrics' | 'expect'>;

/**
 * Converts one case into a recording and the counts of what went in: `document` is what is written (only the
 * sections PetShop records), `recording` the same parsed and validated by parseRecording.
 */
export const buildPetshopRecording = (input: PetshopCaseInput): { recording: Recording; document: RecordingDocument; report: CaseReport } => {
  const { graph, metrics, target, baseline, scenario, split, caseName } = input;
  const where = input.origin ?? { metrics: `${scenario}/${split}/${caseName}/metrics.csv`, target: `${scenario}/${split}/${caseName}/target.json`, baseline: `${scenario}/noissue/metrics.csv` };
  const name = recordingName(scenario, split, caseName);
  const period = metrics.resolutionSeconds;
  if (baseline && baseline.resolutionSeconds !== period) throw new InvalidPetshopData(`${where.baseline}: ${baseline.resolutionSeconds} s periods, the case has ${period} s`);
  const inGraph = new Set(graph.nodes);
  for (const c of metrics.columns) if (!inGraph.has(c.service)) throw new InvalidPetshopData(`${where.metrics}: node "${c.service}" is not in graph.csv`);
  const { alert } = target;
  if (!inGraph.has(alert.node)) throw new InvalidPetshopData(`${where.target}: target.node "${alert.node}" is not in graph.csv`);
  if (target.rootCauseNode !== undefined && !inGraph.has(target.rootCauseNode)) throw new InvalidPetshopData(`${where.target}: root_cause.node "${target.rootCauseNode}" is not in graph.csv`);
  const caseEnd = metrics.start + metrics.rows * period;
  if (alert.timestamp > caseEnd) throw new InvalidPetshopData(`${where.target}: target.timestamp ${alert.timestamp} is after the case's metrics end (${caseEnd})`);
  // The agents look a little before the alert: one a day or more before the case would see none of it.
  if (alert.timestamp < metrics.start - DAY_SECONDS) throw new InvalidPetshopData(`${where.target}: target.timestamp ${alert.timestamp} is more than a day before the case's metrics start (${metrics.start})`);

  const topology: RecordedNode[] = graph.nodes.map((node) => {
    const type = xrayNodeType(node);
    return { name: node, tier: tierOf(type, node === alert.node), calls: graph.calls.get(node) ?? [], ...(type ? { type } : {}) };
  });

  const splice = baseline ? chooseBaselineSplice(baseline, metrics.start) : undefined;
  const baselineStart = baseline && splice ? baseline.start + splice.shiftSeconds : metrics.start;
  const keyOf = (c: Pick<MetricColumn, 'service' | 'metric' | 'statistic'>) => `${c.service}\u0000${c.metric}\u0000${c.statistic}`;
  const baselineColumns = new Map((baseline?.columns ?? []).map((c) => [keyOf(c), c]));
  const caseKeys = new Set(metrics.columns.map(keyOf));
  const unmapped = new Set<string>();
  const seriesKeys = new Map<string, string>();
  const series: RecordedSeries[] = [];

  // a value the metric cannot have is named by its file, column and time (the grid row's unix time)
  const convertAll = (values: readonly (number | null)[], map: MetricMapping, column: MetricColumn, file: string, start: number) =>
    values.map((v, i) => {
      if (v === null) return null;
      try {
        return map.convert(v, period);
      } catch (error) {
        throw new InvalidPetshopData(`${file}, row at ${start + i * period} (${column.service} ${column.metric} ${column.statistic}): ${v}: ${(error as Error).message}`);
      }
    });
  const add = (column: MetricColumn, map: MetricMapping, start: number, values: (number | null)[], file: string) => {
    if (!map.known) unmapped.add(`${column.metric}/${column.statistic}`);
    const seriesKey = `${column.service}\u0000${map.metric}`;
    const other = seriesKeys.get(seriesKey);
    if (other) throw new InvalidPetshopData(`${file}: ${column.service} ${column.metric}/${column.statistic} and ${other} both map to ${map.metric}`);
    seriesKeys.set(seriesKey, `${column.metric}/${column.statistic}`);
    series.push({ service: column.service, metric: map.metric, unit: map.unit, statistic: column.statistic, resolutionSeconds: period, start: iso(start), values });
  };
  const baselineFile = where.baseline ?? `${scenario}/noissue/metrics.csv`;

  let caseGaps = 0;
  let casePoints = 0;
  for (const column of metrics.columns) {
    const map = mapPetshopMetric(column.metric, column.statistic);
    const caseValues = convertAll(column.values, map, column, where.metrics, metrics.start);
    const base = baselineColumns.get(keyOf(column));
    const baseValues = base && splice && baseline ? convertAll(base.values.slice(0, splice.rows), map, base, baselineFile, baseline.start) : [];
    add(column, map, base ? baselineStart : metrics.start, [...baseValues, ...caseValues], where.metrics);
    casePoints += caseValues.length;
    caseGaps += caseValues.filter((v) => v === null).length;
  }
  const baselineSkipped: string[] = [];
  let baselineOnly = 0;
  if (baseline && splice) {
    for (const column of baseline.columns) {
      if (caseKeys.has(keyOf(column))) continue;
      if (!inGraph.has(column.service)) {
        baselineSkipped.push(`${column.service} ${column.metric}/${column.statistic}`);
        continue;
      }
      // in the graph but not in the case's file: the case period is a gap, as the telemetry would show it
      const map = mapPetshopMetric(column.metric, column.statistic);
      const values = [...convertAll(column.values.slice(0, splice.rows), map, column, baselineFile, baseline.start), ...new Array<null>(metrics.rows).fill(null)];
      add(column, map, baselineStart, values, baselineFile);
      baselineOnly += 1;
    }
  }

  const alertMap = mapPetshopMetric(alert.metric, alert.agg);
  const caseFirst = iso(metrics.start);
  const description = [
    `PetShop, traffic scenario ${scenario}, ${split} case ${caseName}: ${metrics.rows} × ${period / 60}-minute points per series from ${caseFirst}.`,
    splice
      ? `Before them, spliced in as a baseline: ${splice.rows} points of the scenario's noissue period (normal operation, recorded separately), shifted by ${splice.shiftSeconds} s to end at ${iso(metrics.start - period)}${splice.timeOfDayKept ? ', at the time of day it was recorded' : ' (the time of day is not kept)'}. The splice is at ${caseFirst}: what comes before it is not the days before the case.`
      : 'No baseline: the scenario has no noissue period.',
  ].join(' ');

  // Only what the dataset recorded: a section left out (logs, traces, changes, history, on-call, ownership) reads as
  // "not recorded", a gap, where an empty list would claim it was recorded and held nothing.
  const document: RecordingDocument = {
    format: RECORDING_FORMAT,
    name,
    description,
    source: { dataset: PETSHOP_SOURCE.dataset, case: `${scenario}/${split}/${caseName}`, license: PETSHOP_SOURCE.license, url: PETSHOP_SOURCE.url },
    recordedUntil: iso(caseEnd),
    alert: {
      service: alert.node,
      title: `${alert.node} ${alert.metric} (${alert.agg}) ${direction(alert.metric)}`,
      startedAt: iso(alert.timestamp),
      severity: 'SEV2',
      metric: alertMap.metric,
    },
    topology,
    metrics: series,
    ...(target.rootCauseNode !== undefined ? { expect: { rootCause: { service: target.rootCauseNode } } } : {}),
  };
  const recording = parseRecording(document, `${name} (from ${where.metrics})`);
  const points = series.reduce((n, s) => n + s.values.length, 0);
  const gaps = series.reduce((n, s) => n + s.values.filter((v) => v === null).length, 0);
  return {
    recording,
    document,
    report: {
      name,
      scenario,
      split,
      case: caseName,
      nodes: topology.length,
      edges: graph.edges,
      series: series.length,
      points,
      gaps,
      casePoints,
      caseGaps,
      baselineRows: splice?.rows ?? 0,
      ...(splice ? { baselineShiftSeconds: splice.shiftSeconds, baselineTimeOfDayKept: splice.timeOfDayKept } : {}),
      unmapped: [...unmapped].sort(),
      baselineSkipped,
      baselineOnly,
      alert: `${alert.node} ${alert.metric}/${alert.agg} → ${alertMap.metric}`,
      ...(target.rootCauseNode !== undefined ? { rootCause: target.rootCauseNode } : {}),
    },
  };
};

/**
 * A recording as JSON text, one series or node per line: small enough to diff and read, unlike one line of
 * megabytes or one number per line.
 */
export const serializeRecording = (recording: RecordingDocument | Recording): string => {
  const entries = Object.entries(recording).map(([key, value]) => {
    if (Array.isArray(value) && value.length > 0) return `  ${JSON.stringify(key)}: [\n${value.map((v) => `    ${JSON.stringify(v)}`).join(',\n')}\n  ]`;
    return `  ${JSON.stringify(key)}: ${JSON.stringify(value)}`;
  });
  return `{\n${entries.join(',\n')}\n}\n`;
};

// ───────────────────────────── the fs layer ─────────────────────────────

export const PETSHOP_SPLITS = ['train', 'test'] as const;

export interface ImportSummary {
  readonly scenario: string;
  readonly outDir: string;
  readonly cases: CaseReport[];
  readonly totals: { readonly cases: number; readonly series: number; readonly points: number; readonly gaps: number; readonly casePoints: number; readonly caseGaps: number; readonly unmapped: string[]; readonly baselineSkipped: number };
}

const isDir = (path: string): boolean => statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
const isFile = (path: string): boolean => statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
const naturalOrder = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

const readText = (file: string): string => {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new InvalidPetshopData(`${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
};

/** The `issue_*` case directories of a scenario, per split, in natural order. */
export const findPetshopCases = (scenarioDir: string, splits: readonly string[] = PETSHOP_SPLITS): { split: string; caseName: string; dir: string }[] =>
  splits.flatMap((split) => {
    const dir = join(scenarioDir, split);
    if (!isDir(dir)) return [];
    return readdirSync(dir)
      .filter((n) => n.startsWith('issue_') && isDir(join(dir, n)))
      .sort(naturalOrder)
      .map((caseName) => ({ split, caseName, dir: join(dir, caseName) }));
  });

const errorCode = (error: unknown): string => (error as NodeJS.ErrnoException).code ?? (error as Error).message;

/** Fails early, naming it, when `--out` exists and is not a directory (or its path runs through a file). */
const checkOutDir = (outDir: string): void => {
  let info: ReturnType<typeof statSync>;
  try {
    info = statSync(outDir, { throwIfNoEntry: false });
  } catch (error) {
    throw new ImportOutputError(`--out ${outDir}: cannot create the directory (${errorCode(error)})`);
  }
  if (info && !info.isDirectory()) throw new ImportOutputError(`--out ${outDir}: exists and is not a directory`);
};

/**
 * Writes every file or none: each to a temporary name beside it, then all renamed into place (a failed write removes
 * the temporary files; a rename within one directory does not fail half-way through a file).
 */
const writeAll = (outDir: string, files: readonly { file: string; text: string }[]): void => {
  try {
    mkdirSync(outDir, { recursive: true });
  } catch (error) {
    throw new ImportOutputError(`--out ${outDir}: cannot create the directory (${errorCode(error)})`);
  }
  const temporary = files.map((f) => ({ ...f, tmp: `${f.file}.${process.pid}.tmp` }));
  const written: string[] = [];
  try {
    for (const f of temporary) {
      writeFileSync(f.tmp, f.text);
      written.push(f.tmp);
    }
  } catch (error) {
    for (const tmp of written) rmSync(tmp, { force: true });
    throw new ImportOutputError(`--out ${outDir}: cannot write ${temporary[written.length]?.file} (${errorCode(error)}); nothing was written`);
  }
  for (const f of temporary) renameSync(f.tmp, f.file);
};

/**
 * Converts every case of one PetShop traffic scenario into `<outDir>/<scenario>-<split>-<case>.json`. Every case is
 * converted and validated before any is written: the first bad file stops the import with an error naming it, and
 * nothing is written.
 */
export const importPetshopScenario = (scenarioDir: string, outDir: string, opts: { splits?: readonly string[] } = {}): ImportSummary => {
  const dir = resolve(scenarioDir);
  const scenario = basename(dir);
  const graphFile = join(dir, 'graph.csv');
  if (!isFile(graphFile)) {
    const inner = isDir(dir) ? readdirSync(dir).filter((n) => isFile(join(dir, n, 'graph.csv'))) : [];
    throw new InvalidPetshopData(
      inner.length > 0
        ? `${dir} has no graph.csv: it holds the traffic scenarios ${inner.join(', ')}; import one of them`
        : `${graphFile} not found: a PetShop traffic scenario has graph.csv, optional noissue/ and train/ or test/ with issue_* cases`,
    );
  }
  const cases = findPetshopCases(dir, opts.splits);
  if (cases.length === 0) throw new InvalidPetshopData(`${dir}: no cases (${(opts.splits ?? PETSHOP_SPLITS).map((s) => `${s}/issue_*/`).join(' or ')})`);
  const graph = parseGraph(readText(graphFile), graphFile);
  const baselineFile = join(dir, 'noissue', 'metrics.csv');
  const baseline = isFile(baselineFile) ? parseMetricsCsv(readText(baselineFile), baselineFile) : undefined;
  checkOutDir(outDir);
  const reports: CaseReport[] = [];
  const outputs: { file: string; text: string }[] = [];
  for (const c of cases) {
    const metricsFile = join(c.dir, 'metrics.csv');
    const targetFile = join(c.dir, 'target.json');
    let targetJson: unknown;
    try {
      targetJson = JSON.parse(readText(targetFile));
    } catch (error) {
      if (error instanceof InvalidPetshopData) throw error;
      throw new InvalidPetshopData(`${targetFile}: not JSON (${(error as Error).message})`);
    }
    const { recording, document, report } = buildPetshopRecording({
      scenario,
      split: c.split,
      caseName: c.caseName,
      graph,
      metrics: parseMetricsCsv(readText(metricsFile), metricsFile),
      target: readTarget(targetJson, targetFile),
      baseline,
      origin: { metrics: metricsFile, target: targetFile, baseline: baselineFile },
    });
    const file = join(outDir, `${recording.name}.json`);
    outputs.push({ file, text: serializeRecording(document) });
    reports.push({ ...report, file });
  }
  writeAll(outDir, outputs);
  const sum = (f: (r: CaseReport) => number) => reports.reduce((n, r) => n + f(r), 0);
  return {
    scenario,
    outDir: resolve(outDir),
    cases: reports,
    totals: {
      cases: reports.length,
      series: sum((r) => r.series),
      points: sum((r) => r.points),
      gaps: sum((r) => r.gaps),
      casePoints: sum((r) => r.casePoints),
      caseGaps: sum((r) => r.caseGaps),
      unmapped: [...new Set(reports.flatMap((r) => r.unmapped))].sort(),
      baselineSkipped: sum((r) => r.baselineSkipped.length),
    },
  };
};
