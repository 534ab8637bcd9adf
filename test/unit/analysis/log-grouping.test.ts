/**
 * Unit: what makes a token a variable for the template miner, format-agnostic — a month name, a leading host name,
 * numbers, IPs and paths do not split one event, and two different events of the same length do not merge; the
 * grouping is deterministic; the log benchmark's accuracy is logparser's rule; and, when the LogHub data is there
 * (../shared/data/loghub-2k), the mean grouping accuracy over its systems with the one default configuration.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { benchAccuracy, DEFAULT_DATA_DIR, loadLoghub, mineContents } from '../../../bench/log-benchmark.ts';
import { TemplateMiner, WILDCARD } from '../../../functions/core/analysis/logs.ts';

const mine = (lines: readonly string[]) => {
  const miner = new TemplateMiner();
  for (const l of lines) miner.add(l);
  return { ids: miner.ids(), miner };
};

describe('unit: template miner — variables do not split an event', () => {
  it('a month or weekday name in a date', () => {
    const { ids, miner } = mine([
      'Backup finished at Mon Dec 04 04:47:44 2005 for volume home',
      'Backup finished at Tue Jan 10 01:02:03 2006 for volume home',
      'Backup finished at Sun Mar 12 23:59:59 2006 for volume home',
    ]);
    expect(new Set(ids).size).toBe(1);
    expect(miner.templates()[0].template).toBe(`Backup finished at ${WILDCARD} for volume home`);
  });

  it('keeps a month word that is not in a date ("may")', () => {
    expect(new TemplateMiner().tokenize('request may be retried')).toEqual(['request', 'may', 'be', 'retried']);
  });

  it('a leading host name, with or without a port', () => {
    const { ids, miner } = mine([
      'proxy.cse.example.edu.hk:5070 open through proxy gw.example.com:3128 HTTPS',
      'github.com:443 open through proxy gw.example.com:3128 HTTPS',
      'wpad:80 open through proxy gw.example.com:3128 HTTPS',
      '182.254.114.110:80 open through proxy gw.example.com:3128 HTTPS',
      'cdn.static.example.net open through proxy gw.example.com:3128 HTTPS',
    ]);
    expect(new Set(ids).size).toBe(1);
    expect(miner.templates()[0].template).toBe(`${WILDCARD} open through proxy gw.example.com:${WILDCARD} HTTPS`);
  });

  it('numbers, IPs, paths, hex ids, durations and a value in another unit', () => {
    const { ids } = mine([
      'Read 512 bytes from /var/lib/a/part-1.dat for 10.0.0.1 in 12ms',
      'Read 18846 bytes (18.4 KB) from /srv/b/c for 192.168.1.20:5432 in <1 sec',
      'Read 0 bytes from /tmp/x/y for 10.1.2.3 in 00:01',
      'Read 7 bytes from \\Windows\\Temp\\z for fe80::1 in 3 s',
    ]);
    expect(new Set(ids).size).toBe(1);
  });

  it('MAC addresses, letter-only bytes included, and dot leaders', () => {
    const { ids } = mine([
      'chip inserted: FF:F2:9F:16:E2:23:00:0D:60:E9:1D:DC state=ok',
      'chip inserted: FF:F2:9F:16:EB:27:00:0D:60:E9:14:D8 state=ok',
      'chip inserted: FF:FF:FF:FF:FF:FF state=ok',
    ]);
    expect(new Set(ids).size).toBe(1);
    expect(new TemplateMiner().tokenize('icache prefetch depth......0')).toEqual(['icache', 'prefetch', 'depth', WILDCARD]);
  });
});

describe('unit: template miner — different events stay apart', () => {
  it('two events of the same length that differ in one repeated word', () => {
    const lines = [
      ...['1.2.3.4', '5.6.7.8', '9.9.9.9'].map((ip) => `Failed password for invalid user admin from ${ip} port 22 ssh2`),
      ...['1.2.3.4', '5.6.7.8', '9.9.9.9'].map((ip) => `Failed none for invalid user admin from ${ip} port 22 ssh2`),
    ];
    const { ids, miner } = mine(lines);
    expect(new Set(ids.slice(0, 3)).size).toBe(1);
    expect(new Set(ids.slice(3)).size).toBe(1);
    expect(ids[0]).not.toBe(ids[3]);
    expect(miner.template(ids[0])!.template).toBe(`Failed password for invalid user admin from ${WILDCARD} port ${WILDCARD} ssh2`);
  });

  it('two events of the same length with different words', () => {
    const { ids } = mine(['Connection closed by peer', 'Disk quota exceeded now', 'Connection closed by peer', 'Disk quota exceeded now']);
    expect(ids[0]).toBe(ids[2]);
    expect(ids[1]).toBe(ids[3]);
    expect(ids[0]).not.toBe(ids[1]);
  });
});

describe('unit: template miner — determinism', () => {
  it('gives the same ids and templates for the same lines, ids in order of first appearance', () => {
    const lines = ['job 1 started', 'job 2 failed: timeout', 'job 3 started', 'job 4 failed: timeout', 'queue drained'];
    const a = mine(lines);
    const b = mine(lines);
    expect(a.ids).toEqual(b.ids);
    expect(a.miner.templates()).toEqual(b.miner.templates());
    expect(a.ids).toEqual(['t1', 't2', 't1', 't2', 't3']);
  });
});

describe('unit: log benchmark accuracy is logparser grouping accuracy', () => {
  it('counts a line only when its predicted group is exactly its true group', () => {
    // an over-split event scores 0 for all its lines, though every predicted group is pure
    expect(benchAccuracy(['A', 'A', 'A', 'A'], ['x', 'x', 'y', 'y'])).toBe(0);
    // a merged group is wrong for all its lines; an exact singleton is right
    expect(benchAccuracy(['A', 'A', 'B', 'B', 'C'], ['x', 'x', 'x', 'y', 'z'])).toBeCloseTo(0.2);
    expect(benchAccuracy(['A', 'A', 'B'], ['q', 'q', 'r'])).toBe(1);
    expect(() => benchAccuracy(['A'], ['x', 'y'])).toThrow(RangeError);
  });
});

const hasData = existsSync(DEFAULT_DATA_DIR);
if (!hasData) console.warn(`skipping the LogHub accuracy test: no data at ${DEFAULT_DATA_DIR}`);

describe.skipIf(!hasData)('unit: template miner on LogHub-2k (one configuration for every system)', () => {
  it('groups with a mean accuracy of at least 0.95', () => {
    const systems = loadLoghub(DEFAULT_DATA_DIR);
    expect(systems.length).toBeGreaterThan(0);
    const scores = systems.map((s) => benchAccuracy(s.eventIds, mineContents(s.contents)));
    expect(scores.reduce((a, b) => a + b, 0) / scores.length).toBeGreaterThanOrEqual(0.95);
  });
});
