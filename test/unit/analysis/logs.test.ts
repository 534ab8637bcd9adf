import { describe, expect, it } from 'vitest';
import { InvalidMinerOptions, maskMessage, TemplateMiner, WILDCARD } from '../../../functions/core/analysis/logs.ts';

describe('unit: maskMessage', () => {
  it.each([
    ['request 3f2b8c1e-9a4d-4e5f-8a7b-1c2d3e4f5a6b failed', `request ${WILDCARD} failed`],
    ['connect to 10.0.12.7:5432 refused', `connect to ${WILDCARD} refused`],
    ['at 2026-03-14T12:04:13.221Z worker started', `at ${WILDCARD} worker started`],
    ['at 12:04:13,221 worker started', `at ${WILDCARD} worker started`],
    ['pointer 0x7ffe5c1a bad', `pointer ${WILDCARD} bad`],
    ['span 4bf92f3577b34da6a3ce929d0e0e4736 done', `span ${WILDCARD} done`],
    ['cannot open /var/lib/data/part-0001.parquet', `cannot open ${WILDCARD}`],
    ['query took 1532ms (limit 2.5s)', `query took ${WILDCARD} (limit ${WILDCARD})`],
    ['pool stats (total=10, active=10, idle=0, waiting=143)', `pool stats (total=${WILDCARD}, active=${WILDCARD}, idle=${WILDCARD}, waiting=${WILDCARD})`],
    ['HikariPool-1 - timeout', `HikariPool-${WILDCARD} - timeout`],
    ['block blk_-6952295868487656571 and blk_38865049064139660', `block blk_${WILDCARD} and blk_${WILDCARD}`],
  ])('masks %s', (input, expected) => {
    expect(maskMessage(input)).toBe(expected);
  });

  it('keeps identifiers that merely contain digits (user42, v2 API names)', () => {
    expect(maskMessage('user42 called s3 bucket')).toBe('user42 called s3 bucket');
  });
});

describe('unit: TemplateMiner', () => {
  it('groups lines that differ only in variables into one template', () => {
    // Prepare
    const miner = new TemplateMiner();
    const lines = [
      'Connection to 10.0.0.1:5432 timed out after 3000ms',
      'Connection to 10.0.0.2:5432 timed out after 2500ms',
      'Connection to 192.168.1.20:5433 timed out after 30s',
    ];

    // Act
    for (const l of lines) miner.add(l);
    const ids = miner.ids();

    // Assess
    expect(new Set(ids).size).toBe(1);
    expect(miner.templates()).toEqual([expect.objectContaining({ id: ids[0], template: `Connection to ${WILDCARD} timed out after ${WILDCARD}`, count: 3 })]);
  });

  it('generalises an unmasked variable position to <*> (a column of all-different words)', () => {
    // Three users, not two: two lines that differ in one word are as likely `begin` / `end` (two events).
    const miner = new TemplateMiner();
    miner.add('User alice logged in from web');
    miner.add('User bob logged in from web');
    miner.add('User carol logged in from web');
    const [first, second, third] = miner.ids();
    expect(second).toBe(first);
    expect(third).toBe(first);
    expect(miner.template(first)!.template).toBe(`User ${WILDCARD} logged in from web`);
    expect(miner.template(first)).toEqual(miner.templates()[0]);
    expect(miner.template('t99')).toBeUndefined();
  });

  it('separates different events, including ones with the same length', () => {
    const miner = new TemplateMiner();
    miner.add('Disk /dev/sda1 is almost full');
    miner.add('User alice logged in successfully');
    miner.add('Cache miss for key item-42');
    miner.add('Payment declined by issuer bank');
    expect(new Set(miner.ids()).size).toBe(4);
  });

  it('tracks count and first/last seen from timestamps given out of order', () => {
    const miner = new TemplateMiner();
    miner.add('Timeout waiting for connection after 30000ms', '2026-03-14T12:05:00Z');
    miner.add('Timeout waiting for connection after 30001ms', '2026-03-14T12:04:00Z');
    miner.add('Timeout waiting for connection after 29000ms', Date.parse('2026-03-14T12:09:00Z'));
    const [t] = miner.templates();
    expect(t).toMatchObject({ count: 3, firstSeen: '2026-03-14T12:04:00.000Z', lastSeen: '2026-03-14T12:09:00.000Z', example: 'Timeout waiting for connection after 30000ms' });
  });

  it('parses whole raw lines with headers (HDFS-style) into the events they carry', () => {
    const miner = new TemplateMiner();
    const raw = [
      '081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_38865049064139660 terminating',
      '081109 203807 222 INFO dfs.DataNode$PacketResponder: PacketResponder 0 for block blk_-6952295868487656571 terminating',
      '081109 204005 35 INFO dfs.FSNamesystem: BLOCK* NameSystem.addStoredBlock: blockMap updated: 10.251.73.220:50010 is added to blk_7128370237687728475 size 67108864',
      '081109 204015 308 INFO dfs.DataNode$PacketResponder: PacketResponder 2 for block blk_8229193803249955061 terminating',
      '081109 204106 329 INFO dfs.FSNamesystem: BLOCK* NameSystem.addStoredBlock: blockMap updated: 10.250.10.6:50010 is added to blk_-3548264467166591934 size 67108864',
      '081109 204132 26 INFO dfs.DataNode$DataXceiver: Receiving block blk_-1608999687919862906 src: /10.250.19.102:54106 dest: /10.250.19.102:50010',
      '081109 204134 26 INFO dfs.DataNode$DataXceiver: Receiving block blk_1717858812220360316 src: /10.251.111.130:37316 dest: /10.251.111.130:50010',
    ];
    for (const l of raw) miner.add(l);
    const ids = miner.ids();
    expect(ids[0]).toBe(ids[1]);
    expect(ids[0]).toBe(ids[3]);
    expect(ids[2]).toBe(ids[4]);
    expect(ids[5]).toBe(ids[6]);
    expect(new Set(ids).size).toBe(3);
    expect(miner.template(ids[0])!.template).toBe(`${WILDCARD} ${WILDCARD} ${WILDCARD} INFO dfs.DataNode$PacketResponder: PacketResponder ${WILDCARD} for block blk_${WILDCARD} terminating`);
  });

  it('matches without adding', () => {
    const miner = new TemplateMiner();
    const id = miner.templateIdOf(miner.add('Order 123 shipped'));
    expect(miner.match('Order 456 shipped')).toBe(id);
    expect(miner.match('Totally different line here')).toBeUndefined();
    expect(miner.templates()[0].count).toBe(1);
  });

  it('splits on a column of few repeated words, and reads a column of more than maxSplitValues words as a variable', () => {
    const lines = ['alpha event happened', 'beta event happened', 'gamma event happened', 'alpha event happened', 'beta event happened', 'gamma event happened'];
    const split = new TemplateMiner();
    for (const l of lines) split.add(l);
    expect(new Set(split.ids()).size).toBe(3);
    const merged = new TemplateMiner({ maxSplitValues: 2 });
    for (const l of lines) merged.add(l);
    expect(new Set(merged.ids()).size).toBe(1);
    expect(merged.templates()[0].template).toBe(`${WILDCARD} event happened`);
  });

  it('tokenizes at whitespace and punctuation, the punctuation kept, and supports extra delimiters', () => {
    expect(new TemplateMiner().tokenize('user=alice,role=admin')).toEqual(['user', '=', 'alice', ',', 'role', '=', 'admin']);
    expect(new TemplateMiner().tokenize('a#b took 12 ms')).toEqual(['a#b', 'took', WILDCARD]);
    expect(new TemplateMiner({ delimiters: ['#'] }).tokenize('a#b')).toEqual(['a', '#', 'b']);
  });

  it('rejects invalid options naming the field', () => {
    expect(() => new TemplateMiner({ maxSplitValues: 0 })).toThrow(InvalidMinerOptions);
    expect(() => new TemplateMiner({ maxSplitValues: 1.5 })).toThrow(/maxSplitValues/);
    expect(() => new TemplateMiner({ delimiters: ['ab'] })).toThrow(/delimiters/);
  });

  it('tells which line it was asked about when the line number is unknown', () => {
    const miner = new TemplateMiner();
    miner.add('one line');
    expect(() => miner.templateIdOf(5)).toThrow(/no line 5/);
  });
});
