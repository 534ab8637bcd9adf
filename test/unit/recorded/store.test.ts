/** Unit: where replays live (recorded/store.ts) — the in-process registry, a directory of files, the replay's alert. */
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { normalizeGeneric } from '../../../functions/core/alerts/generic.ts';
import { InvalidRecording } from '../../../functions/core/recorded/format.ts';
import { InvalidReplayId, RecordingDirectory, recordingSource, registerRecording, registeredReplay, replayAlert, unregisterRecording } from '../../../functions/core/recorded/store.ts';
import { ANCHOR, API, MINUTE, OFFSET, rec, recording, replayed, SECRET, without } from './fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'autopilot-recordings-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the in-process registry', () => {
  it('registers a parsed replay: offset anchor − recordedUntil, and the sections the file holds', () => {
    const replay = registerRecording('reg-1', without('logs', 'oncall'), { anchor: ANCHOR });
    try {
      expect(replay.offsetMs).toBe(OFFSET);
      expect(replay.recording.name).toBe('unit-orders');
      expect([...replay.sections].sort()).toEqual(['changes', 'history', 'metrics', 'ownership', 'traces']);
      expect(registeredReplay('reg-1')).toBe(replay);
    } finally {
      expect(unregisterRecording('reg-1')).toBe(true);
    }
    expect(registeredReplay('reg-1')).toBeUndefined();
  });

  it('anchors at the moment of registration by default', () => {
    const before = Date.now();
    const replay = registerRecording('reg-2', recording());
    unregisterRecording('reg-2');
    expect(replay.anchor.getTime()).toBeGreaterThanOrEqual(before);
    expect(replay.anchor.getTime()).toBeLessThanOrEqual(Date.now());
  });

  it('refuses a bad id and a bad recording, naming the field', () => {
    expect(() => registerRecording('has space', recording())).toThrow(InvalidReplayId);
    expect(() => registerRecording('reg-3', recording({ alert: { service: 'nowhere', title: 't', startedAt: rec(-1) } }), { origin: 'x.json' })).toThrow(
      /x\.json is not a valid recording \(autopilot\.recording\/1\): alert\.service: "nowhere" is not a node of the topology/,
    );
    expect(registeredReplay('reg-3')).toBeUndefined();
  });
});

describe('a directory of recordings (RECORDINGS_DIR)', () => {
  writeFileSync(join(dir, 'orders.json'), JSON.stringify(recording()));
  writeFileSync(join(dir, 'broken.json'), '{ "format": ');

  it('reads <stem>.json anchored at the first read, and keeps that replay while the file is unchanged', async () => {
    let now = ANCHOR.getTime();
    const directory = new RecordingDirectory(dir, () => new Date(now));
    const first = await directory.get('orders');
    now += 10 * MINUTE;
    const again = await directory.get('orders');
    expect(first?.anchor).toEqual(ANCHOR);
    expect(again).toBe(first);
  });

  it('anchors `<stem>@<epoch-ms>` at that instant (an id every process agrees on)', async () => {
    const directory = new RecordingDirectory(dir);
    const replay = await directory.get(`orders@${ANCHOR.getTime()}`);
    expect(replay?.offsetMs).toBe(OFFSET);
    expect(replay?.id).toBe(`orders@${ANCHOR.getTime()}`);
  });

  it('reads a rewritten file again', async () => {
    const file = join(dir, 'changing.json');
    writeFileSync(file, JSON.stringify(recording({ name: 'first' })));
    const directory = new RecordingDirectory(dir);
    expect((await directory.get('changing'))?.recording.name).toBe('first');
    writeFileSync(file, JSON.stringify(recording({ name: 'second' })));
    utimesSync(file, new Date(), new Date(Date.now() + 5_000));
    expect((await directory.get('changing'))?.recording.name).toBe('second');
  });

  it('knows nothing of a missing file or an id that is no file name, and says why a file is not a recording', async () => {
    const directory = new RecordingDirectory(dir);
    expect(await directory.get('missing')).toBeUndefined();
    expect(await directory.get('../orders')).toBeUndefined();
    await expect(directory.get('broken')).rejects.toThrow(InvalidRecording);
    await expect(directory.get('broken')).rejects.toThrow(/broken\.json is not JSON/);
  });

  it('is looked up after the registry', async () => {
    const source = recordingSource({ dir });
    const registered = registerRecording('orders', recording({ name: 'registered' }), { anchor: ANCHOR });
    try {
      expect(await source.get('orders')).toBe(registered);
    } finally {
      unregisterRecording('orders');
    }
    expect((await source.get('orders'))?.recording.name).toBe('unit-orders');
    expect(await recordingSource().get('orders')).toBeUndefined();
    expect(recordingSource().describe).toMatch(/set RECORDINGS_DIR/);
  });
});

describe('the replay alert', () => {
  it('is a generic alert: start shifted onto the replay clock, environment and dedup id = the replay id, no answer key', () => {
    const replay = registerRecording('alert-1', recording(), { anchor: ANCHOR });
    unregisterRecording('alert-1');
    const payload = replayAlert(replay);
    expect(payload).toEqual({ id: 'alert-1', title: 'orders-api 5XX above 5%', service: API, severity: 'SEV2', startedAt: replayed(-10), environment: 'alert-1', tags: { metric: 'error_rate_pct' } });
    const [{ alert }] = normalizeGeneric(payload, { now: ANCHOR });
    expect(alert).toMatchObject({ source: 'generic', service: API, severity: 'SEV2', startedAt: replayed(-10), environment: 'alert-1' });
    expect(JSON.stringify(payload)).not.toMatch(new RegExp(`expect|${SECRET.target}|${SECRET.description}`));
  });
});
