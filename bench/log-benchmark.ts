/**
 * Benchmark of the template miner (functions/core/analysis/logs.ts, what the logs agent and
 * `autopilot logs templates` use) on LogHub's labelled 2k samples in ../shared/data/loghub-2k
 * (`<System>/<System>_2k.log_structured.csv`; source and license: that folder's SOURCE.md).
 *
 *   npm run bench:logs                       JSON: per system accuracy, ms, templates; the mean
 *   npm run bench:logs -- --runs 9           timing runs per system (median; default 5)
 *   npm run bench:logs -- --data <dir>       another folder of LogHub-style systems
 *
 * One configuration for every system (the miner's defaults): each file's `Content` column, one message a line,
 * is fed in order to a fresh `TemplateMiner`; the template id of each line is its predicted group and `EventId`
 * its true group. Grouping accuracy is logparser's rule (`groupingAccuracy`): a line counts only when its
 * predicted group holds exactly the lines of its true group. `ms` is the median wall time of mining the whole
 * file in this process (adding every line and reading every line's template id), over `--runs` runs after one
 * warm-up run; `cpuMs` the median CPU time of the same runs (wall time swells when other processes share the CPUs).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { splitCsvLine } from '../functions/core/analysis/csv.ts';
import { groupingAccuracy, TemplateMiner } from '../functions/core/analysis/logs.ts';

export const DEFAULT_DATA_DIR = fileURLToPath(new URL('../../shared/data/loghub-2k/', import.meta.url));

export class InvalidLoghubFile extends Error {
  override name = 'InvalidLoghubFile';
}

export interface LoghubSystem {
  readonly system: string;
  readonly contents: string[];
  readonly eventIds: string[];
}

/** Reads one `*_log_structured.csv`: the `Content` and `EventId` columns, by name (quoted cells may hold commas). */
export const readStructuredCsv = (file: string, system: string): LoghubSystem => {
  const rows = readFileSync(file, 'utf8').split(/\r?\n/).filter((l) => l !== '');
  if (rows.length < 2) throw new InvalidLoghubFile(`${file}: no data rows`);
  const header = splitCsvLine(rows[0]);
  const content = header.indexOf('Content');
  const eventId = header.indexOf('EventId');
  if (content < 0) throw new InvalidLoghubFile(`${file}: no "Content" column in the header`);
  if (eventId < 0) throw new InvalidLoghubFile(`${file}: no "EventId" column in the header`);
  const contents: string[] = [];
  const eventIds: string[] = [];
  rows.slice(1).forEach((row, i) => {
    const cells = splitCsvLine(row);
    if (cells.length !== header.length) throw new InvalidLoghubFile(`${file} row ${i + 2}: ${cells.length} cells, the header has ${header.length}`);
    contents.push(cells[content]);
    eventIds.push(cells[eventId]);
  });
  return { system, contents, eventIds };
};

/** Every `<System>/<System>_2k.log_structured.csv` under `dir`, by system name. */
export const loadLoghub = (dir: string): LoghubSystem[] =>
  readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, `${d.name}_2k.log_structured.csv`)))
    .map((d) => d.name)
    .sort()
    .map((system) => readStructuredCsv(join(dir, system, `${system}_2k.log_structured.csv`), system));

/** The accuracy the bench reports: logparser's grouping accuracy (see `groupingAccuracy`). */
export const benchAccuracy = groupingAccuracy;

/** Template id per line, from a fresh miner with default options. */
export const mineContents = (contents: readonly string[]): string[] => {
  const miner = new TemplateMiner();
  for (const c of contents) miner.add(c);
  return miner.ids();
};

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export interface SystemResult {
  readonly accuracy: number;
  readonly ms: number;
  /** CPU time of the same runs (median): steadier than wall time on a shared machine. */
  readonly cpuMs: number;
  readonly lines: number;
  readonly templates: number;
  readonly truthTemplates: number;
}

export const benchSystem = (s: LoghubSystem, runs: number): SystemResult => {
  const predicted = mineContents(s.contents); // also the warm-up run
  const times: number[] = [];
  const cpuTimes: number[] = [];
  for (let r = 0; r < runs; r += 1) {
    const start = performance.now();
    const cpu = process.cpuUsage();
    mineContents(s.contents);
    const used = process.cpuUsage(cpu);
    times.push(performance.now() - start);
    cpuTimes.push((used.user + used.system) / 1000);
  }
  const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;
  return {
    accuracy: round(benchAccuracy(s.eventIds, predicted), 4),
    ms: round(median(times), 2),
    cpuMs: round(median(cpuTimes), 2),
    lines: s.contents.length,
    templates: new Set(predicted).size,
    truthTemplates: new Set(s.eventIds).size,
  };
};

const main = () => {
  const args = process.argv.slice(2);
  const flag = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const dir = resolve(flag('--data') ?? DEFAULT_DATA_DIR);
  const runs = Number(flag('--runs') ?? 5);
  if (!Number.isInteger(runs) || runs < 1) throw new RangeError(`--runs must be a positive integer, got ${flag('--runs')}`);
  if (!existsSync(dir)) {
    process.stderr.write(`bench:logs: no LogHub data at ${dir} (see /work/shared/data/README.md); nothing measured\n`);
    process.exit(2);
  }
  const systems = loadLoghub(dir);
  if (systems.length === 0) throw new InvalidLoghubFile(`${dir}: no <System>/<System>_2k.log_structured.csv`);
  const perSystem = Object.fromEntries(systems.map((s) => [s.system, benchSystem(s, runs)]));
  const results = Object.values(perSystem);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const out = {
    data: dir,
    systems: perSystem,
    meanAccuracy: Math.round(mean(results.map((r) => r.accuracy)) * 10_000) / 10_000,
    // the time for 2,000 lines: per system normalised to 2,000 lines, then the median and the worst
    msPer2000Lines: {
      median: Math.round(median(results.map((r) => (r.ms * 2000) / r.lines)) * 100) / 100,
      max: Math.round(Math.max(...results.map((r) => (r.ms * 2000) / r.lines)) * 100) / 100,
    },
    cpuMsPer2000Lines: {
      median: Math.round(median(results.map((r) => (r.cpuMs * 2000) / r.lines)) * 100) / 100,
      max: Math.round(Math.max(...results.map((r) => (r.cpuMs * 2000) / r.lines)) * 100) / 100,
    },
    runs,
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
};

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
