/**
 * CPU benchmark of the log template miner (functions/core/analysis/logs.ts) and the logs agent's feed loop
 * (functions/core/agents/logs.ts) on realistic logs:
 * - loghub: the Loghub excerpts (test/unit/analysis/fixtures/loghub) and fixtures/app.log, as raw lines through
 *   `mineTemplates` (what `autopilot logs templates <file>` runs: header detection, masking, clustering);
 * - scenarios: every scenario's captured WARN+ logs (fixtures/scenario-logs.jsonl.gz), fed as the logs agent feeds
 *   them: one miner per service and level, baseline window first, each window sorted by time, with timestamps;
 * - agent: the real logs agent replayed over the same captures (feed loop, counting, ranking, evidence), per incident.
 *
 *   node bench/log-miner-benchmark.ts [--runs N]     one JSON line (median of N timed runs after 3 warm-ups)
 *   node bench/log-miner-benchmark.ts --capture      re-captures fixtures/scenario-logs.jsonl.gz from the current world
 *
 * Times are CPU time of this process (process.cpuUsage), less disturbed than wall time on a shared machine; the
 * machine's speed still drifts during the day, so compare figures taken back to back.
 */
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { parseArgs } from 'node:util';
import { mineTemplates, TemplateMiner } from '../functions/core/analysis/logs.ts';
import type { LogLine } from '../functions/core/tools/ports.ts';
import { appLogLines, encodeScenarioLogs, loghubSystems, replayLogsAgent, SCENARIO_LOGS, type ScenarioLogs, scenarioLogs } from '../test/unit/analysis/logs-fixtures.ts';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '15' }, capture: { type: 'boolean', default: false } } });

/** Runs the logs agent over every scenario of events/scenarios against the simulated world, recording what it read. */
const capture = async (): Promise<void> => {
  const { listScenarios, loadScenario } = await import('../functions/core/world/scenario.ts');
  const { SCENARIO_NOW, seedScenarioWorld } = await import('../test/unit/agents/scenario-world.ts');
  const { analyzeLogs } = await import('../functions/core/agents/logs.ts');
  const records: ScenarioLogs[] = [];
  for (const { file } of listScenarios()) {
    const scenario = loadScenario(file);
    const { deps, incidentId } = await seedScenarioWorld(scenario, 'bench-logs');
    const incident = await deps.store.getIncident(incidentId);
    if (!incident) throw new Error(`${scenario.name}: the seeded incident ${incidentId} is missing`);
    const record: { scenario: string; incident: ScenarioLogs['incident']; now: string; topology: ScenarioLogs['topology']; searches: ScenarioLogs['searches'][number][] } = {
      scenario: scenario.name,
      incident: { service: incident.service, startedAt: incident.startedAt },
      now: SCENARIO_NOW.toISOString(),
      topology: [],
      searches: [],
    };
    const { logs, telemetry } = deps.tools;
    const search = logs.search.bind(logs);
    const topology = telemetry.getTopology.bind(telemetry);
    const tools = { ...deps.tools, logs: { ...logs, search: async (q: Parameters<typeof logs.search>[0]) => {
      const lines = await search(q);
      record.searches.push({ from: q.from, to: q.to, services: [...q.services], minLevel: q.minLevel, limit: q.limit, lines });
      return lines;
    } }, telemetry: { ...telemetry, getTopology: async (q: Parameters<typeof telemetry.getTopology>[0]) => (record.topology = await topology(q)) } };
    await analyzeLogs({ ...deps, tools })({ incidentId });
    records.push(record);
  }
  writeFileSync(SCENARIO_LOGS, gzipSync(encodeScenarioLogs(records), { level: 9 }));
  process.stdout.write(`${JSON.stringify({ captured: records.length, lines: records.reduce((n, r) => n + r.searches.reduce((m, s) => m + s.lines.length, 0), 0), file: SCENARIO_LOGS.pathname })}\n`);
};

const LEVEL_RANK: Record<LogLine['level'], number> = { DEBUG: 0, INFO: 1, WARN: 2, ERROR: 3, FATAL: 4 };
const byTime = (a: LogLine, b: LogLine) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0);

/** The agent's feeding order (baseline window first, each sorted by time), prepared outside the timed part. */
const feedOrder = (captures: readonly ScenarioLogs[]): LogLine[][] =>
  captures.map((c) => {
    // The agent searches the incident window first, then the baseline, and feeds the baseline first.
    const [incident, baseline] = c.searches;
    return [...[...(baseline?.lines ?? [])].sort(byTime), ...[...(incident?.lines ?? [])].sort(byTime)].filter((l) => LEVEL_RANK[l.level] >= LEVEL_RANK.WARN);
  });

const mineScenarios = (incidents: readonly LogLine[][]): number => {
  let templates = 0;
  for (const lines of incidents) {
    const miners = new Map<string, TemplateMiner>();
    for (const line of lines) {
      const key = `${line.service}|${line.level}`;
      let miner = miners.get(key);
      if (!miner) miners.set(key, (miner = new TemplateMiner()));
      miner.add(line.message, line.timestamp);
    }
    for (const m of miners.values()) templates += m.templates().length;
  }
  return templates;
};

const cpuMs = (fn: () => unknown): number => {
  const start = process.cpuUsage();
  fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
};
const cpuMsAsync = async (fn: () => Promise<unknown>): Promise<number> => {
  const start = process.cpuUsage();
  await fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
};
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
const round = (x: number, digits = 3) => Number(x.toFixed(digits));

const bench = async (runs: number): Promise<void> => {
  const loghub = [...loghubSystems().map((s) => s.raw), appLogLines()];
  const captures = scenarioLogs();
  const incidents = feedOrder(captures);
  const loghubLines = loghub.reduce((n, l) => n + l.length, 0);
  const scenarioLines = incidents.reduce((n, l) => n + l.length, 0);
  let loghubTemplates = 0;
  let scenarioTemplates = 0;
  const loghubMs: number[] = [];
  const scenarioMs: number[] = [];
  const agentMs: number[] = [];
  for (let run = 0; run < runs + 3; run += 1) {
    const l = cpuMs(() => (loghubTemplates = loghub.reduce((n, lines) => n + mineTemplates(lines).templates.length, 0)));
    const s = cpuMs(() => (scenarioTemplates = mineScenarios(incidents)));
    const a = await cpuMsAsync(async () => {
      for (const c of captures) await replayLogsAgent(c);
    });
    if (run < 3) continue; // warm-up: JIT and caches
    loghubMs.push(l);
    scenarioMs.push(s);
    agentMs.push(a);
  }
  const per1000 = (ms: number, lines: number) => round((1000 * ms) / lines);
  process.stdout.write(
    `${JSON.stringify({
      runs,
      lines: loghubLines + scenarioLines,
      msPer1000Lines: per1000(median(loghubMs) + median(scenarioMs), loghubLines + scenarioLines),
      templates: loghubTemplates + scenarioTemplates,
      loghub: { lines: loghubLines, msPer1000Lines: per1000(median(loghubMs), loghubLines), templates: loghubTemplates },
      scenarios: { incidents: captures.length, lines: scenarioLines, msPer1000Lines: per1000(median(scenarioMs), scenarioLines), templates: scenarioTemplates },
      agent: { incidents: captures.length, msPerIncident: round(median(agentMs) / captures.length), msPer1000Lines: per1000(median(agentMs), scenarioLines) },
    })}\n`,
  );
};

if (args.capture) await capture();
else {
  const runs = Number(args.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new RangeError(`--runs must be a positive integer, got ${args.runs}`);
  await bench(runs);
}
