/**
 * Reads a metric series from CSV text (`timestamp,value`, as Numenta's NAB and most exports write it). A header
 * row is recognised by a value cell that is not a number; columns named `timestamp`/`time`/`t` and
 * `value`/`v` are picked by name, otherwise the first column is the time and the second the value.
 * Timestamps are kept exactly as written (the CLI echoes them back).
 */
import type { SeriesPoint } from './metrics.ts';

export class InvalidCsv extends Error {
  override name = 'InvalidCsv';
}

/** Splits one CSV record (RFC 4180 quotes, `""` escapes). */
export const splitCsvLine = (line: string): string[] => {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i += 1) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cell += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      cells.push(cell);
      cell = '';
    } else cell += c;
  }
  cells.push(cell);
  return cells.map((x) => x.trim());
};

const isNumber = (s: string) => s !== '' && Number.isFinite(Number(s));

/** One point per data row, in file order. Throws `InvalidCsv` naming the origin, row and bad cell. */
export const parseSeriesCsv = (text: string, origin = '(csv)'): { t: string; v: number }[] & SeriesPoint[] => {
  const rows = text.split(/\r?\n/).map((line, i) => ({ line, row: i + 1 })).filter((r) => r.line.trim() !== '');
  if (rows.length === 0) throw new InvalidCsv(`${origin}: no rows`);
  let timeCol = 0;
  let valueCol = 1;
  let start = 0;
  const first = splitCsvLine(rows[0].line);
  if (first.length < 2) throw new InvalidCsv(`${origin} row ${rows[0].row}: expected "timestamp,value", got one column`);
  if (!isNumber(first[valueCol] ?? '')) {
    // a header: pick the columns by name when they are named
    const names = first.map((h) => h.toLowerCase());
    const t = names.findIndex((h) => ['timestamp', 'time', 't', 'date', 'datetime'].includes(h));
    const v = names.findIndex((h) => ['value', 'v', 'y'].includes(h));
    if (t >= 0) timeCol = t;
    if (v >= 0) valueCol = v;
    start = 1;
  }
  if (rows.length === start) throw new InvalidCsv(`${origin}: a header and no rows`);
  return rows.slice(start).map(({ line, row }) => {
    const cells = splitCsvLine(line);
    const value = cells[valueCol] ?? '';
    if (!isNumber(value)) throw new InvalidCsv(`${origin} row ${row}: value "${value}" is not a number`);
    const v = Number(value);
    if (Math.abs(v) > MAX_VALUE_MAGNITUDE) throw new InvalidCsv(`${origin} row ${row}: value "${value}" is beyond ±${MAX_VALUE_MAGNITUDE} (differences and squares of such values overflow, so they cannot be scored)`);
    return { t: cells[timeCol] ?? '', v };
  });
};

/**
 * The largest magnitude a series value may have: the analysis takes differences and squares of values, and beyond
 * this they overflow to Infinity and NaN (a score of NaN). No metric comes near it.
 */
export const MAX_VALUE_MAGNITUDE = 1e150;
