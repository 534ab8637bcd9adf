/**
 * The simulated adapter of every tool port, backed by the world named by `scope.environment` (the world id
 * the alert carried). Agents see only what a vendor API would return: metrics, traces, logs, change
 * requests, past incidents, on-call data, action results. The scenario's answer key (`expect`) and the fault
 * definitions never leave this module; tests serialise every result to make sure of it.
 */
import { METRICS, type ChangeRequest, type PastIncident, type ServiceNode, type ToolScope, ToolUnavailable, type Tools, UnknownEnvironment } from './ports.ts';
import { metricSeries } from '../world/dynamics.ts';
import { logs as worldLogs, traces as worldTraces } from '../world/signals.ts';
import { applyAction, changeUndoneBy, worldNow, worldTime, type WorldAction, type WorldState } from '../world/world.ts';
import { isUndo } from '../runbooks/inverse.ts';
import { WorldChanged, type WorldStore } from '../world/world-store.ts';
import { connectedTopology, copyChange, parseQueryTime, rankPastIncidents, samePastIncident } from './replay-common.ts';

export class InvalidToolQuery extends Error {
  override name = 'InvalidToolQuery';
}

/**
 * A write to the world (an action, a recorded incident) lost the race to concurrent writers on every attempt, so
 * this call recorded nothing. Still a ToolUnavailable: the agent records the gap (a failed action) and goes on.
 */
export class WorldContended extends ToolUnavailable {
  override name = 'WorldContended';
}

/**
 * Attempts at one conditional write before giving up. Each lost attempt means another writer's append landed
 * (progress), and an incident's executor runs one action at a time: two writers on one world are a duplicate run,
 * or another incident's executor in the same world, so a handful of attempts settles it.
 */
export const MAX_WORLD_WRITE_ATTEMPTS = 5;

const parseTime = (field: string, value: string): number => parseQueryTime(field, value, (message) => new InvalidToolQuery(message));

/** Agent runs whose world reads are kept (each entry one parsed world, tens of KB). */
const RUN_CACHE_ENTRIES = 64;

export const simulatedTools = (worlds: WorldStore, opts: { clock?: () => Date } = {}): Tools => {
  const clock = opts.clock ?? (() => new Date());

  /**
   * The world as first read by an agent run (`scope.runId`), shared by that run's later queries: a run's
   * queries see one consistent world, and the store is read once per run instead of once per query. A query
   * without a runId reads the store. Writes through these tools (an action, a recorded incident) drop the
   * world's entries, so the same run reads the world it changed. Bounded, oldest run first.
   */
  const byRun = new Map<string, { worldId: string; state: Promise<WorldState | undefined> }>();
  const read = (id: string, runId: string | undefined): Promise<WorldState | undefined> => {
    if (!runId) return worlds.getWorld(id);
    const key = `${runId}\u0000${id}`;
    const cached = byRun.get(key);
    if (cached) return cached.state;
    const state = worlds.getWorld(id);
    byRun.set(key, { worldId: id, state });
    state.catch(() => byRun.delete(key)); // a failed read is not remembered
    if (byRun.size > RUN_CACHE_ENTRIES) byRun.delete(byRun.keys().next().value as string);
    return state;
  };
  const changed = (id: string): void => {
    for (const [key, entry] of byRun) if (entry.worldId === id) byRun.delete(key);
  };

  /** The world `id` as `reading` reads it, or ToolUnavailable naming what is missing (the agent records a gap). */
  const loaded = async (tool: string, id: string, reading: () => Promise<WorldState | undefined>, missing = ''): Promise<WorldState> => {
    let state: WorldState | undefined;
    try {
      state = await reading();
    } catch (error) {
      throw new ToolUnavailable(tool, `cannot read simulated world "${id}": ${(error as Error).message}`, { cause: error });
    }
    if (!state) throw new UnknownEnvironment(tool, id, `environment "${id}" is not a known simulated world${missing}`);
    return state;
  };

  /** The world of the scope, as the run first read it. */
  const world = async (tool: string, scope: ToolScope): Promise<WorldState> => {
    const id = scope.environment;
    if (!id) throw new ToolUnavailable(tool, 'no environment in the tool scope: the simulated tools need the world id (the alert\'s "environment" tag)');
    return loaded(tool, id, () => read(id, scope.runId));
  };

  /** The world as stored now, bypassing the run's cached read (after a lost race). */
  const fresh = (tool: string, id: string): Promise<WorldState> => loaded(tool, id, () => worlds.getWorld(id), ' (it disappeared while being written)');

  /**
   * Optimistic concurrency for a write that depends on what the world holds: `decide` looks at the world as read
   * and returns the result plus, if something must be appended, the write, which the store makes conditional on
   * that world being unchanged (guarded by the list length `decide` saw). On a lost race (`WorldChanged`: a
   * concurrent writer, typically a duplicate run of the same Lambda) the world is read again and `decide` runs on
   * it, so it sees what the other writer did (e.g. the same action, now already applied). Bounded; WorldContended
   * if it never settles.
   */
  const settle = async <T>(tool: string, what: string, first: WorldState, decide: (w: WorldState) => { result: T; write?: () => Promise<void> }): Promise<T> => {
    let w = first;
    for (let attempt = 1; ; attempt++) {
      const { result, write } = decide(w);
      if (!write) return result;
      try {
        await write();
        changed(w.id);
        return result;
      } catch (error) {
        changed(w.id); // the write may have landed before the error (a timeout), and a lost race means the run's read is stale
        if (!(error instanceof WorldChanged)) throw new ToolUnavailable(tool, `cannot record ${what} in world "${w.id}": ${(error as Error).message}`, { cause: error });
        if (attempt >= MAX_WORLD_WRITE_ATTEMPTS) {
          throw new WorldContended(tool, `cannot record ${what} in world "${w.id}": the world changed under each of ${attempt} attempts (concurrent writers); nothing was recorded by this call`, { cause: error });
        }
        w = await fresh(tool, w.id);
      }
    }
  };

  /**
   * The world's now: the wall clock plus what the twin advanced this world's clock by compressing waits (0 on AWS
   * and wherever waits are real). Every answer is "up to now" on this clock, and an action is stamped with it.
   */
  const now = (w: WorldState): number => worldNow(w, clock().getTime());

  /** A window in epoch ms, its end clamped to the world's now (the world has no future data). */
  const window = (w: WorldState, q: { from: string; to: string }) => {
    const from = parseTime('from', q.from);
    const to = Math.min(parseTime('to', q.to), now(w));
    if (from > to) throw new InvalidToolQuery(`from (${q.from}) is after to (${q.to}, or now)`);
    return { from, to };
  };

  const pastIncidents = (w: WorldState, now: number): PastIncident[] => [
    ...w.scenario.history
      .filter((h) => worldTime(w, h.openedAt) <= now)
      .map((h) => ({
        id: h.id,
        title: h.title,
        service: h.service,
        openedAt: new Date(worldTime(w, h.openedAt)).toISOString(),
        resolvedAt: new Date(worldTime(w, h.openedAt + h.resolutionMinutes)).toISOString(),
        category: h.category,
        rootCause: h.rootCause,
        resolution: h.resolution,
        resolutionMinutes: h.resolutionMinutes,
        tags: [...h.tags],
      })),
    ...w.incidents,
  ];

  return {
    telemetry: {
      async queryMetrics(q) {
        const w = await world('telemetry', q);
        const { from, to } = window(w, q);
        return metricSeries(w, { services: q.services, metrics: q.metrics, from, to, resolutionSeconds: q.resolutionSeconds, ...(q.groupBy ? { groupBy: q.groupBy } : {}) });
      },
      async getTraces(q) {
        const w = await world('telemetry', q);
        const { from, to } = window(w, q);
        return worldTraces(w, { services: q.services, from, to, limit: q.limit, errorsOnly: q.errorsOnly });
      },
      async present(q) {
        return new Date(now(await world('telemetry', q))).toISOString();
      },
      async getTopology(q) {
        const w = await world('telemetry', q);
        // A monitoring tool shows a batch job as one more service (its runs are in its throughput and its logs), and
        // draws a queue's asynchronous edge to its consumer (X-Ray links an SQS-triggered function to its queue).
        const nodes: ServiceNode[] = w.scenario.services.map((s) => ({ name: s.name, tier: s.tier === 'job' ? 'backend' : s.tier, calls: [...s.calls, ...(s.consumer ? [s.consumer.service] : [])] }));
        if (!q.services || q.services.length === 0) return nodes;
        return connectedTopology(nodes, q.services);
      },
    },

    changes: {
      async listChanges(q) {
        const w = await world('changes', q);
        const { from, to } = window(w, q);
        return w.scenario.changes
          .filter((c) => !q.services || q.services.length === 0 || q.services.includes(c.service))
          .map((c) => ({ c, at: worldTime(w, c.deployedAt) }))
          .filter(({ at }) => at >= from && at <= to)
          .sort((a, b) => b.at - a.at)
          .map(({ c, at }): ChangeRequest => {
            // Rolled back while the last action on it by `to` undid it (a roll-forward makes it implemented again).
            const undone = changeUndoneBy(w, c.id, to);
            // An empty author is no author (the scenario schema allows "").
            return copyChange({ ...c, author: c.author || undefined }, new Date(at).toISOString(), undone ? 'rolled-back' : 'implemented');
          });
      },
      async searchIncidents(q) {
        const w = await world('changes', q);
        return rankPastIncidents(pastIncidents(w, now(w)), q);
      },
      async recordIncident(q) {
        const w = await world('changes', q);
        // Idempotent by incident id: a retried report (or two at once) must not add the incident to the history twice. The
        // same id with other content replaces its entry (the last record wins, as on the AWS history and ServiceNow):
        // people correcting what the autopilot recorded (functions/resolve-incident).
        await settle('changes', `incident ${q.incident.id}`, w, (current) => {
          const at = current.incidents.findIndex((i) => i.id === q.incident.id);
          const guard = { expectedLength: current.incidents.length };
          if (at < 0) return { result: undefined, write: () => worlds.recordIncident(current.id, q.incident, guard) };
          if (samePastIncident(current.incidents[at]!, q.incident)) return { result: undefined };
          return { result: undefined, write: () => worlds.replaceIncident(current.id, at, q.incident, guard) };
        });
      },
    },

    logs: {
      async search(q) {
        const w = await world('logs', q);
        const { from, to } = window(w, q);
        return worldLogs(w, { services: q.services, from, to, minLevel: q.minLevel, limit: q.limit });
      },
    },

    oncall: {
      async getOnCall(q) {
        const w = await world('oncall', q);
        return w.scenario.services
          .filter((s) => q.services.includes(s.name))
          .map((s) => ({ service: s.name, primary: { ...s.oncall.primary }, ...(s.oncall.escalation ? { escalation: { ...s.oncall.escalation } } : {}) }));
      },
      async getOwnership(q) {
        const w = await world('oncall', q);
        const at = now(w);
        return w.scenario.services
          .filter((s) => q.services.includes(s.name))
          .map((s) => {
            // Availability over the last hour, from the world's error rate (what an SLO dashboard shows).
            const series = metricSeries(w, { services: [s.name], metrics: [METRICS.errorRate], from: at - 3_600_000, to: at })[0];
            const errors = series && series.points.length > 0 ? series.points.reduce((sum, p) => sum + p.v, 0) / series.points.length : 0;
            return {
              service: s.name,
              team: s.team,
              slackChannel: s.oncall.slack,
              ...(s.runbookUrl ? { runbookUrl: s.runbookUrl } : {}),
              sloTargetPct: s.sloTargetPct,
              sloCurrentPct: Math.round((100 - errors) * 100) / 100,
            };
          });
      },
    },

    actions: {
      async execute(q) {
        const w = await world('actions', q);
        const request = { kind: q.action.kind, service: q.action.service, target: q.action.target, params: q.action.params, incidentId: q.incidentId, ...(isUndo(q.action) ? { undo: true } : {}) };
        return settle('actions', 'the action', w, (current) => {
          // A duplicate run that lost the race finds its action applied on the re-read (applyAction's idempotent retry).
          const { result, record } = applyAction(current, request, new Date(now(current)));
          if (!record) return { result };
          return { result, write: () => worlds.recordAction(current.id, record, { expectedLength: current.actions.length }) };
        });
      },
    },
  };
};

