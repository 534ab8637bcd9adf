/**
 * Unit: the template miner on real logs — excerpts of Loghub's labelled 2k samples (see fixtures/loghub/README.md),
 * fed both as messages and as whole raw lines; grouping accuracy as Loghub's benchmark defines it.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { groupingAccuracy, headerEnd, messagesOf, mineTemplates } from '../../../functions/core/analysis/logs.ts';

const dir = new URL('./fixtures/loghub/', import.meta.url);
const systems = readdirSync(dir)
  .filter((f) => f.endsWith('.tsv'))
  .map((f) => {
    const rows = readFileSync(new URL(f, dir), 'utf8').trimEnd().split('\n').map((l) => l.split('\t'));
    return { system: f.replace('.tsv', ''), truth: rows.map((r) => r[0]), raw: rows.map((r) => r[1] + r[2]), messages: rows.map((r) => r[2]) };
  });

describe('unit: grouping accuracy on Loghub excerpts', () => {
  it.each(systems.map((s) => [s.system, s] as const))('%s: raw lines group exactly like their messages', (_name, s) => {
    const fromRaw = groupingAccuracy(s.truth, mineTemplates(s.raw).lines);
    const fromMessages = groupingAccuracy(s.truth, mineTemplates(s.messages).lines);
    expect(fromRaw).toBe(fromMessages);
  });

  it('groups the excerpts with a mean accuracy above 0.85', () => {
    const scores = systems.map((s) => groupingAccuracy(s.truth, mineTemplates(s.messages).lines));
    const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
    expect(systems.length).toBeGreaterThanOrEqual(8);
    expect(mean).toBeGreaterThan(0.85);
  });
});

describe('unit: groupingAccuracy', () => {
  it('counts a line right only when its predicted group is exactly its true group', () => {
    expect(groupingAccuracy(['a', 'a', 'b', 'b'], ['x', 'x', 'y', 'y'])).toBe(1);
    expect(groupingAccuracy(['a', 'a', 'b', 'b'], ['x', 'x', 'x', 'y'])).toBe(0);
    expect(groupingAccuracy(['a', 'a', 'b', 'c'], ['x', 'x', 'y', 'y'])).toBe(0.5);
    expect(() => groupingAccuracy(['a'], [])).toThrow(RangeError);
  });
});

describe('unit: raw-line headers', () => {
  it('finds where the header ends in several formats without a per-format pattern', () => {
    const message = (line: string) => line.slice(headerEnd(line)).trim();
    expect(message('081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_1 terminating')).toBe('PacketResponder 1 for block blk_1 terminating');
    expect(message('2015-07-29 19:04:12,394 - INFO  [/10.10.34.11:3888:QuorumCnxManager$Listener@493] - Received connection request /10.10.34.11:45307')).toBe('Received connection request /10.10.34.11:45307');
    expect(message('[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6')).toBe('mod_jk child workerEnv in error state 6');
    expect(message('Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186')).toBe('Invalid user webmaster from 173.234.31.186');
    expect(message('2015-10-18 18:01:51,775 INFO [Socket Reader #1 for port 62260] org.apache.hadoop.ipc.Server: Starting Socket Reader #1')).toBe('Starting Socket Reader #1');
    expect(message('03-17 16:13:38.811  1702  2395 D WindowManager: printFreezingDisplayLogs opening app wtoken')).toBe('printFreezingDisplayLogs opening app wtoken');
    expect(headerEnd('Invalid user webmaster from 173.234.31.186')).toBeUndefined();
  });

  it('leaves messages alone when most lines have no header, even one that starts with an address and a colon', () => {
    const lines = ['10.251.30.85:50010:Got exception while serving blk_1 to /10.251.90.64:', 'PacketResponder 1 for block blk_2 terminating', 'Verification succeeded for blk_3'];
    expect(messagesOf(lines)).toEqual(lines);
  });
});
