/**
 * The tools of one function, built from the environment through the adapter table (adapters.ts), once per cold
 * start. Per port:
 *
 * 1. the row whose variables are set (DYNATRACE_URL, … as the table lists): two rows for one port is a ConfigError;
 * 2. else the row the deployment chose for it: `TOOLS_<PORT>=<row>` (TOOLS_TELEMETRY, TOOLS_CHANGES, TOOLS_LOGS,
 *    TOOLS_ONCALL, TOOLS_ACTIONS), else `TOOLS_DEFAULT=<row>` where that row serves the port. Either may name a family
 *    of rows instead (`aws`): the family's row that serves the port. The simulated world is
 *    only ever chosen this way (the twin, `simulate`, `eval`, the bench and a demo deployment set
 *    TOOLS_DEFAULT=simulated);
 * 3. else nothing: the port's methods fail with `PortNotConfigured` (a `ToolUnavailable`), which the agents record
 *    as a `gap:` evidence item naming the port and the variables to set. Never the simulator.
 *
 * Settings are parsed here, at cold start (a partial configuration fails the function at init, naming the
 * variable); an adapter's module is imported on the first call of one of its ports.
 */
import { ConfigError, type Env, envValue } from '../config.ts';
import { ADAPTERS, type AdapterName, type AdapterRow, type BuildContext, omitSwitch, parseSettings, type Port, PORT_METHODS, PORTS } from './adapters.ts';
import { ToolUnavailable, type Tools, type ToolScope } from './ports.ts';

/** The variables a deployment chooses rows with. */
export const TOOLS_DEFAULT = 'TOOLS_DEFAULT';
export const portChoiceVariable = (port: Port): string => `TOOLS_${String(port).toUpperCase()}`;
export const CHOICE_VARIABLES: readonly string[] = [TOOLS_DEFAULT, ...PORTS.map(portChoiceVariable)];

/** A port no adapter serves in this deployment: every call fails with this, and the agent records a gap. */
export class PortNotConfigured extends ToolUnavailable {
  override name = 'PortNotConfigured';
  readonly port: Port;
  /** The variables that would configure it (one alternative per adapter). */
  readonly variables: readonly string[];
  constructor(port: Port, alternatives: readonly { readonly title: string; readonly variables: readonly string[] }[] = []) {
    const set = alternatives.map((a) => `${a.variables.join(' + ')} (${a.title})`);
    super(port, `no ${port} adapter is configured: set ${[...set, `${portChoiceVariable(port)}=simulated for the simulated world`].join(', or ')}`);
    this.port = port;
    this.variables = [...new Set(alternatives.flatMap((a) => a.variables)), portChoiceVariable(port)];
  }
}

/** Which row serves each port ('none': a gap). */
export type ToolSources = Record<Port, AdapterName | 'none'>;

export interface ToolsRuntime {
  readonly tools: Tools;
  readonly sources: ToolSources;
  /** The built adapter behind a port (imports and builds it if not yet done); undefined for an unconfigured port. */
  adapter<P extends Port>(port: P): Promise<Tools[P] | undefined>;
}

const present = (env: Env, r: AdapterRow): string[] => r.selectors.filter((n) => envValue(env, n) !== undefined);

/** Which row serves each port, from the environment; every ConfigError names the variable. */
export const chooseAdapters = (env: Env, rows: readonly AdapterRow[] = ADAPTERS): { readonly byPort: Readonly<Record<Port, AdapterRow | undefined>>; readonly settings: ReadonlyMap<AdapterRow, unknown> } => {
  const settings = new Map<AdapterRow, unknown>();
  const use = (r: AdapterRow): AdapterRow => {
    if (!settings.has(r)) settings.set(r, parseSettings(r, env));
    return r;
  };
  /** The rows a choice variable names: one row by its name, or every row of a family. */
  const namedRows = (variable: string): AdapterRow[] | undefined => {
    const value = envValue(env, variable);
    if (value === undefined) return undefined;
    const byName = rows.filter((x) => x.name === value);
    const chosen = byName.length > 0 ? byName : rows.filter((x) => x.family === value);
    if (chosen.length === 0) {
      const families = [...new Set(rows.flatMap((x) => (x.family ? [x.family] : [])))];
      throw new ConfigError(`invalid configuration: ${variable} must name an adapter (${rows.map((x) => x.name).join(', ')})${families.length > 0 ? ` or a family of adapters (${families.join(', ')})` : ''}, got "${value}"`);
    }
    return chosen;
  };
  /** The row a choice variable names for one port (a family: its row serving the port). */
  const named = (variable: string, port: Port): AdapterRow | undefined => {
    const chosen = namedRows(variable);
    if (!chosen) return undefined;
    return chosen.find((x) => x.ports.includes(port)) ?? chosen[0];
  };
  const defaults = namedRows(TOOLS_DEFAULT);
  const configured = rows.filter((r) => present(env, r).length > 0);
  // Two adapters for one port is the first thing to say: neither one's settings matter until one is chosen.
  for (const port of PORTS) {
    const candidates = configured.filter((r) => r.ports.includes(port));
    if (candidates.length > 1) {
      const [a, b] = candidates.map((r) => present(env, r)[0]);
      throw new ConfigError(`invalid configuration: set ${a} or ${b}, not both (one ${port} adapter per function)`);
    }
  }
  configured.forEach(use);
  const byPort = {} as Record<Port, AdapterRow | undefined>;
  for (const port of PORTS) {
    const candidates = configured.filter((r) => r.ports.includes(port));
    const choiceVariable = portChoiceVariable(port);
    const chosen = named(choiceVariable, port);
    if (chosen && !chosen.ports.includes(port)) throw new ConfigError(`invalid configuration: ${choiceVariable}=${chosen.name}, but the ${chosen.title} adapter does not serve ${port} (it serves ${chosen.ports.join(', ')})`);
    if (chosen && candidates[0] && chosen !== candidates[0]) {
      throw new ConfigError(`invalid configuration: ${choiceVariable}=${chosen.name}, but ${present(env, candidates[0]).join(', ')} configure the ${candidates[0].title} adapter for ${port}: choose one`);
    }
    const row = candidates[0] ?? chosen ?? defaults?.find((x) => x.ports.includes(port));
    byPort[port] = row ? use(row) : undefined;
  }
  return { byPort, settings };
};

/** The tools for this environment. Throws a ConfigError at once for a partial or contradictory configuration. */
export const toolsRuntime = (env: Env, context: BuildContext, rows: readonly AdapterRow[] = ADAPTERS): ToolsRuntime => {
  const { byPort, settings } = chooseAdapters(env, rows);
  const built = new Map<AdapterRow, Promise<Partial<Tools>>>();
  const instance = (r: AdapterRow): Promise<Partial<Tools>> => {
    let p = built.get(r);
    if (!p) {
      const build = r.build;
      if (!build) throw new ConfigError(`invalid configuration: the ${r.title} adapter is configured but this bundle was built without it (${omitSwitch(r.name)}); deploy with the stack setting that chooses it (${r.stackSetting})`);
      p = build(settings.get(r), context);
      // A failed import or build is tried again on the next call rather than cached.
      p.catch(() => built.delete(r));
      built.set(r, p);
    }
    return p;
  };
  const sources = {} as ToolSources;
  const tools = {} as Record<Port, Record<string, (q: unknown) => Promise<unknown>>>;
  for (const port of PORTS) {
    const r = byPort[port];
    sources[port] = r?.name ?? 'none';
    // Fail now, at cold start, if the chosen row is not in this bundle.
    if (r && !r.build) instance(r);
    const alternatives = rows.filter((x) => x.ports.includes(port) && x.configureWith.length > 0).map((x) => ({ title: x.title, variables: x.configureWith }));
    tools[port] = Object.fromEntries(
      PORT_METHODS[port].map((method) => [
        method,
        async (q: unknown) => {
          if (!r) throw new PortNotConfigured(port, alternatives);
          const impl = (await instance(r))[port] as unknown as Record<string, (q: unknown) => Promise<unknown>>;
          return impl[method]!.call(impl, q);
        },
      ]),
    );
  }
  // Optional and outside PORT_METHODS (no IAM, no tool call of its own): the telemetry source's present, where it keeps
  // one apart from the wall clock (a simulated world the twin moved ahead). Sources without one answer undefined.
  const telemetryRow = byPort.telemetry;
  tools.telemetry.present = async (q: unknown) => (telemetryRow ? ((await instance(telemetryRow)).telemetry as Tools['telemetry'] | undefined)?.present?.(q as ToolScope) : undefined);
  return {
    tools: tools as unknown as Tools,
    sources,
    adapter: async (port) => {
      const r = byPort[port];
      return r ? (await instance(r))[port] : undefined;
    },
  };
};
