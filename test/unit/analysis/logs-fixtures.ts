/**
 * Log corpora for the template miner's golden tests and for bench/log-miner-benchmark.ts:
 * - Loghub excerpts (fixtures/loghub/*.tsv, see its README) and fixtures/app.log: raw lines of real formats;
 * - fixtures/scenario-logs.jsonl.gz: what the logs agent read from the simulated world in every scenario of
 *   events/scenarios (its topology call and its two log searches, baseline and incident window), captured once
 *   with `node bench/log-miner-benchmark.ts --capture`. Frozen on purpose: the world's generator changes, and a
 *   golden test over live world logs would break for reasons that have nothing to do with the miner.
 *   Lines are stored as [timestamp, service, level, message, traceId|null] (the host is not read by the agent).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type { LogLine, ServiceNode } from '../../../functions/core/tools/ports.ts';

export const FIXTURES = new URL('./fixtures/', import.meta.url);
export const SCENARIO_LOGS = new URL('./fixtures/scenario-logs.jsonl.gz', import.meta.url);

export interface LoghubSystem {
  readonly system: string;
  /** Header + content: the raw line. */
  readonly raw: string[];
  readonly messages: string[];
}

export const loghubSystems = (): LoghubSystem[] => {
  const dir = new URL('./loghub/', FIXTURES);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.tsv'))
    .sort()
    .map((f) => {
      const rows = readFileSync(new URL(f, dir), 'utf8').trimEnd().split('\n').map((l) => l.split('\t'));
      return { system: f.replace('.tsv', ''), raw: rows.map((r) => r[1] + r[2]), messages: rows.map((r) => r[2]) };
    });
};

/** fixtures/app.log, split as the CLI splits a file. */
export const appLogLines = (): string[] => {
  const lines = readFileSync(new URL('app.log', FIXTURES), 'utf8').split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  return lines;
};

export interface CapturedSearch {
  readonly from: string;
  readonly to: string;
  readonly services: string[];
  readonly minLevel?: LogLine['level'];
  readonly limit?: number;
  readonly lines: LogLine[];
}

export interface ScenarioLogs {
  readonly scenario: string;
  /** The incident as the agent saw it, and the clock it ran at. */
  readonly incident: { readonly service: string; readonly startedAt: string };
  readonly now: string;
  readonly topology: ServiceNode[];
  /** In the order the agent made them (incident window, then baseline window). */
  readonly searches: CapturedSearch[];
}

type StoredLine = [string, string, LogLine['level'], string, string | null];

export class ScenarioLogsFixtureInvalid extends Error {
  override name = 'ScenarioLogsFixtureInvalid';
}

export const encodeScenarioLogs = (records: readonly ScenarioLogs[]): string =>
  records
    .map((r) => JSON.stringify({ ...r, searches: r.searches.map((s) => ({ ...s, lines: s.lines.map((l): StoredLine => [l.timestamp, l.service, l.level, l.message, l.traceId ?? null]) })) }))
    .join('\n')
    .concat('\n');

export const scenarioLogs = (file: URL = SCENARIO_LOGS): ScenarioLogs[] =>
  gunzipSync(readFileSync(file))
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((text, i) => {
      const r = JSON.parse(text) as Omit<ScenarioLogs, 'searches'> & { searches: (Omit<CapturedSearch, 'lines'> & { lines: StoredLine[] })[] };
      if (typeof r.scenario !== 'string' || !Array.isArray(r.searches) || !r.incident || typeof r.now !== 'string') throw new ScenarioLogsFixtureInvalid(`${file.pathname} record ${i + 1}: not a captured scenario (scenario, incident, now, topology, searches)`);
      return {
        ...r,
        searches: r.searches.map((s) => ({
          ...s,
          lines: s.lines.map(([timestamp, service, level, message, traceId]): LogLine => (traceId === null ? { timestamp, service, level, message } : { timestamp, service, level, message, traceId })),
        })),
      };
    });

export class UnexpectedLogSearch extends Error {
  override name = 'UnexpectedLogSearch';
}

/**
 * Runs the real logs agent over a captured scenario: its topology and log searches answered from the capture, at
 * the clock it ran at. A search the capture does not hold (another window, other services) is an error, not an
 * empty answer, so a changed query cannot pass as "no logs".
 */
export const replayLogsAgent = async (captured: ScenarioLogs): Promise<{ output: unknown; evidence: unknown; summary: string }> => {
  const { analyzeLogs } = await import('../../../functions/core/agents/logs.ts');
  const { fakeDeps, seedIncident } = await import('../agents/fakes.ts');
  const now = new Date(captured.now);
  const deps = fakeDeps({
    clock: () => now,
    tools: {
      telemetry: { getTopology: async () => captured.topology },
      logs: {
        search: async (q) => {
          const hit = captured.searches.find((s) => s.from === q.from && s.to === q.to && s.services.join() === q.services.join() && s.minLevel === q.minLevel && s.limit === q.limit);
          if (!hit) throw new UnexpectedLogSearch(`${captured.scenario}: no captured search for ${JSON.stringify({ from: q.from, to: q.to, services: q.services, minLevel: q.minLevel, limit: q.limit })}`);
          return hit.lines.map((l) => ({ ...l }));
        },
      },
    },
  });
  const incidentId = await seedIncident(deps, { service: captured.incident.service, startedAt: captured.incident.startedAt });
  const { summary } = await analyzeLogs(deps)({ incidentId });
  const record = await deps.store.getAgentRecord(incidentId, 'logs');
  return { output: record?.output, evidence: record?.evidence, summary };
};
