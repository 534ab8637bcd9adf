/**
 * Fault injection into a running simulated world (issue 12 §4): the console's demo page and `autopilot inject`.
 *
 * GET    /admin/faults?world=            → {world, services, presets: [{name, title, description}], faults: [FaultView]}
 * POST   /admin/faults  {world?, preset? | fault?, service?, by?}
 *                                        → 201 {id, world, service, kind, startsAt, fault, preset?, changes, watch, by}
 * DELETE /admin/faults/{id}?world=&by=   → 200 {id, world, endedAt, alreadyEnded}
 *
 * The world defaults to the live world (LIVE_WORLD_ID). A fault is added at the world's current minute — a preset
 * (world/presets.ts) on the named service or the preset's default one, or a scenario-format fault without `startsAt`
 * — with the change that caused it where the preset has one, so the autopilot's mitigation (a rollback, a failover)
 * really ends it in the world. Who did it: the signed-in user (console on AWS), else the body's `by` (or the query's on
 * DELETE), else 'console'.
 *
 * Ending is idempotent: DELETE of a fault that has already ended (by an earlier DELETE, or its own `endsAt`) answers
 * 200 with the end it has and `alreadyEnded: true`, writing nothing — a retried DELETE must not fail. A fault a
 * mitigation ended is still given its end (so undoing the mitigation later does not bring it back).
 *
 * Answers: unknown world → 404 naming it; unknown service → 400 listing the world's services; unknown preset → 400
 * listing the presets; a preset that does not fit the service → 400 naming those it fits; an invalid fault → 400 with
 * the scenario validator's problems (`problems`, paths under `fault.`); unknown fault id → 404 listing the world's;
 * a world holding MAX_WORLD_FAULTS → 409; edits that kept losing races → 503.
 */
import { type ApiEvent, type ApiResult, BadRequest, Conflict, HttpError, NotFound, ServiceUnavailable, json, parseJson, parseWith, pathParam, readBody, requireJsonContentType, signedInUser, withErrors } from '../core/http.ts';
import type { Config } from '../core/config.ts';
import { FaultInjectionBody, FaultQuery } from '../core/api/schemas.ts';
import { FaultInvalid, faultMaker, faultViews, LIVE_WORLD_ID } from '../core/world/faults.ts';
import { PresetNotApplicable, presetList } from '../core/world/presets.ts';
import { ScenarioInvalid } from '../core/world/scenario.ts';
import { FaultNotFound, ScenarioEditContended, WorldFull, WorldNotFound, type WorldStore, WorldTooLarge } from '../core/world/world-store.ts';
import { type WorldState, worldTime } from '../core/world/world.ts';

export interface ManageFaultsDeps {
  readonly worlds: WorldStore;
  readonly config: Pick<Config, 'MAX_BODY_BYTES'>;
  readonly clock: () => Date;
}

/** 400 with the problems, one `path: what is wrong` each (as parseWith answers). */
class FaultProblems extends BadRequest {
  constructor(message: string, problems: readonly string[]) {
    super(message, { problems });
  }
}

const worldNotFound = (id: string) => new HttpError(404, 'world_not_found', `world ${id} does not exist${id === LIVE_WORLD_ID ? ' (`autopilot serve` creates it when it starts)' : ''}`);

const readWorld = async (deps: ManageFaultsDeps, id: string): Promise<WorldState> => {
  const world = await deps.worlds.getWorld(id);
  if (!world) throw worldNotFound(id);
  return world;
};

/** Maps the world's errors to answers (the rest go to withErrors: 500, or 503 when retryable). */
const answering = async <T>(world: string, work: () => Promise<T>): Promise<T> => {
  try {
    return await work();
  } catch (error) {
    if (error instanceof WorldNotFound) throw worldNotFound(world);
    if (error instanceof FaultNotFound) throw new NotFound(error.message);
    if (error instanceof PresetNotApplicable) throw new BadRequest(error.message);
    if (error instanceof FaultInvalid) throw new FaultProblems(error.message, error.problems);
    if (error instanceof ScenarioInvalid) throw new FaultProblems(`invalid fault: ${error.problems.join('; ')}`, error.problems);
    if (error instanceof WorldFull || error instanceof WorldTooLarge) throw new Conflict('world_full', error.message);
    if (error instanceof ScenarioEditContended) throw new ServiceUnavailable(error.message, 1);
    throw error;
  }
};

export const manageFaults = (deps: ManageFaultsDeps) =>
  withErrors(async (event: ApiEvent): Promise<ApiResult> => {
    const method = event.requestContext?.http?.method ?? event.routeKey?.split(' ')[0];
    if (method === 'POST') return inject(deps, event);
    const query = parseWith(FaultQuery, event.queryStringParameters ?? {}, 'query parameters');
    const worldId = query.world ?? LIVE_WORLD_ID;
    if (method === 'DELETE') {
      const id = pathParam(event, 'id');
      const by = signedInUser(event) ?? query.by ?? 'console';
      const ended = await answering(worldId, () => deps.worlds.endFault(worldId, id, by, deps.clock()));
      return json(200, { id, world: worldId, endedAt: ended.endedAt, alreadyEnded: ended.alreadyEnded });
    }
    const world = await readWorld(deps, worldId);
    return json(200, { world: worldId, services: world.scenario.services.map((s) => s.name), presets: presetList(), faults: faultViews(world, deps.clock()) });
  });

const inject = async (deps: ManageFaultsDeps, event: ApiEvent): Promise<ApiResult> => {
  requireJsonContentType(event);
  const body = parseWith(FaultInjectionBody, parseJson(readBody(event, deps.config.MAX_BODY_BYTES)), 'fault injection');
  const worldId = body.world ?? LIVE_WORLD_ID;
  const world = await readWorld(deps, worldId);
  const services = world.scenario.services.map((s) => s.name);
  for (const service of [body.service, body.fault?.service]) {
    if (service !== undefined && (typeof service !== 'string' || !services.includes(service))) throw new BadRequest(`world ${worldId} has no service ${JSON.stringify(service)}: its services are ${services.join(', ')}`, { services });
  }
  const by = signedInUser(event) ?? body.by ?? 'console';
  const maker = faultMaker(body.preset ? { preset: body.preset, service: body.service, by } : { fault: body.fault as Record<string, unknown>, service: body.service, by });
  const added = await answering(worldId, () => deps.worlds.addFault(worldId, maker.make, deps.clock()));
  const info = maker.info();
  const fault = added.fault;
  return json(201, {
    id: fault.id,
    world: worldId,
    service: fault.service,
    kind: fault.kind,
    startsAt: new Date(worldTime(added.world, fault.startsAt)).toISOString(),
    fault,
    ...(info.preset ? { preset: info.preset } : {}),
    changes: info.changes,
    watch: info.watch,
    by,
  });
};
