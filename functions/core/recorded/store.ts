/**
 * Where the recordings of a replay live, for the recorded adapter (tools/recorded.ts), which serves the replay
 * named by `scope.environment`.
 *
 * A replay is a recording plus its anchor: the moment `recordedUntil` is mapped to. Every time the adapter returns
 * is shifted by `offsetMs` = anchor − recordedUntil, so the agents see the incident as if it had just happened.
 *
 * Two sources, looked up in this order:
 * - the in-process registry (`registerRecording`): what `autopilot eval` uses, since the twin's handlers run in
 *   the eval's own process. The anchor is the moment of registration (or the one given).
 * - a directory (`RECORDINGS_DIR`), so a long-running twin (`serve`) can replay a file: the replay id
 *   `<stem>` reads `<dir>/<stem>.json` anchored at the moment this process first read it, and `<stem>@<epoch-ms>`
 *   anchors it at that instant (an id several processes agree on). Files are read lazily and cached (a few, since
 *   a recording with a two-day baseline is megabytes).
 *
 * Recordings are never DynamoDB items (they can be MBs; an item holds 400 KB).
 *
 * Which sections a recording has is kept from the file as written: a section left out (no `logs` key) was not
 * recorded, and the adapter reports a gap for it; an empty list was recorded and holds nothing.
 */
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InvalidRecording, parseRecording, type Recording } from './format.ts';

/** The optional sections of a recording whose absence means "not recorded". */
export const OPTIONAL_SECTIONS = ['metrics', 'logs', 'traces', 'changes', 'history', 'oncall', 'ownership'] as const;
export type Section = (typeof OPTIONAL_SECTIONS)[number];

export interface Replay {
  /** The replay id: the environment the alert carries and the tools are scoped by. */
  readonly id: string;
  readonly recording: Recording;
  /** The moment `recordedUntil` is mapped to. */
  readonly anchor: Date;
  /** anchor − recordedUntil, in milliseconds: added to every recorded time the tools return. */
  readonly offsetMs: number;
  /** The optional sections the recording holds (see the header). */
  readonly sections: ReadonlySet<Section>;
}

export class InvalidReplayId extends Error {
  override name = 'InvalidReplayId';
}

/** The sections a raw recording value holds (all of them for a value that is not an object: parsing will say why). */
const sectionsOf = (value: unknown): Set<Section> =>
  new Set(OPTIONAL_SECTIONS.filter((s) => typeof value !== 'object' || value === null || (value as Record<string, unknown>)[s] !== undefined));

/** A replay of a recording (parsed here; `value` is the JSON as read, so absent sections are known). */
export const makeReplay = (id: string, value: unknown, anchor: Date, origin = `recording "${id}"`): Replay => {
  if (Number.isNaN(anchor.getTime())) throw new RangeError(`the anchor of replay "${id}" is not a valid time`);
  const recording = parseRecording(value, origin);
  return { id, recording, anchor, offsetMs: anchor.getTime() - Date.parse(recording.recordedUntil), sections: sectionsOf(value) };
};

// ───────────────────────── the in-process registry ─────────────────────────

/** One registry per process, whichever copy of this module a caller loaded. */
const REGISTRY_KEY = Symbol.for('incident-autopilot.recorded.registry');
const registry = (): Map<string, Replay> => {
  const g = globalThis as unknown as Record<symbol, Map<string, Replay> | undefined>;
  g[REGISTRY_KEY] ??= new Map();
  return g[REGISTRY_KEY];
};

/** A replay id: what an alert's `environment` may hold (printable, no blanks, at most 128 characters). */
const REPLAY_ID = /^[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}$/;

/**
 * Registers a recording under `id` for this process's recorded adapter, anchored now (or at `anchor`). `value` is
 * the recording as read from JSON (parsed and checked here: InvalidRecording names the field at fault).
 */
export const registerRecording = (id: string, value: unknown, opts: { anchor?: Date; origin?: string } = {}): Replay => {
  if (!REPLAY_ID.test(id)) throw new InvalidReplayId(`replay id "${id}" must be 1-128 letters, digits, ".", "_", "-", "@" or ":", starting with a letter or digit`);
  const replay = makeReplay(id, value, opts.anchor ?? new Date(), opts.origin);
  registry().set(id, replay);
  return replay;
};

export const unregisterRecording = (id: string): boolean => registry().delete(id);

export const registeredReplay = (id: string): Replay | undefined => registry().get(id);

// ───────────────────────── a directory of recordings ─────────────────────────

/** Replays a directory keeps parsed (a recording may be megabytes). */
const DIRECTORY_CACHE_ENTRIES = 8;

/** `<stem>` or `<stem>@<epoch-ms>`. */
const DIRECTORY_ID = /^([A-Za-z0-9][A-Za-z0-9._-]{0,63})(?:@(\d{1,15}))?$/;

/** Reads `<dir>/<stem>.json` for a replay id; see the header for the anchor. */
export class RecordingDirectory {
  readonly dir: string;
  readonly #clock: () => Date;
  /** Replay id → the replay, with the file's modification time it was read at (a rewritten file is read again). */
  readonly #cache = new Map<string, { mtimeMs: number; replay: Promise<Replay> }>();
  /** When this process first read a stem without an explicit anchor: the anchor stays put while the file is unchanged. */
  readonly #firstRead = new Map<string, Date>();

  constructor(dir: string, clock: () => Date = () => new Date()) {
    this.dir = resolve(dir);
    this.#clock = clock;
  }

  async get(id: string): Promise<Replay | undefined> {
    const m = DIRECTORY_ID.exec(id);
    if (!m) return undefined;
    const [, stem, anchorMs] = m as unknown as [string, string, string | undefined];
    const file = join(this.dir, `${stem}.json`);
    const info = await stat(file).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
      throw error;
    });
    if (!info?.isFile()) return undefined;
    const cached = this.#cache.get(id);
    if (cached && cached.mtimeMs === info.mtimeMs) {
      // Most recently used last: the oldest entry is the first to go.
      this.#cache.delete(id);
      this.#cache.set(id, cached);
      return cached.replay;
    }
    const anchor = anchorMs !== undefined ? new Date(Number(anchorMs)) : this.#anchorOf(stem, info.mtimeMs);
    const replay = readFile(file, 'utf8').then((text) => {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        throw new InvalidRecording(`${file} is not JSON: ${(error as Error).message}`);
      }
      return makeReplay(id, value, anchor, file);
    });
    replay.catch(() => this.#cache.delete(id)); // a failed read is tried again next time
    this.#cache.set(id, { mtimeMs: info.mtimeMs, replay });
    if (this.#cache.size > DIRECTORY_CACHE_ENTRIES) this.#cache.delete(this.#cache.keys().next().value as string);
    return replay;
  }

  #anchorOf(stem: string, mtimeMs: number): Date {
    const key = `${stem}\u0000${mtimeMs}`;
    let anchor = this.#firstRead.get(key);
    if (!anchor) {
      anchor = this.#clock();
      this.#firstRead.set(key, anchor);
    }
    return anchor;
  }
}

// ───────────────────────── lookup ─────────────────────────

export interface RecordingSource {
  /** The replay `id` names, or undefined when no source knows it. */
  get(id: string): Promise<Replay | undefined>;
  /** Where replays are looked up, for messages. */
  readonly describe: string;
}

/** The registry, then the directory (when one is configured). */
export const recordingSource = (opts: { dir?: string; clock?: () => Date } = {}): RecordingSource => {
  const directory = opts.dir ? new RecordingDirectory(opts.dir, opts.clock) : undefined;
  return {
    describe: directory ? `this process's registered recordings or ${directory.dir}` : "this process's registered recordings (set RECORDINGS_DIR to replay files)",
    get: async (id) => registeredReplay(id) ?? (await directory?.get(id)),
  };
};

// ───────────────────────── the replay's alert ─────────────────────────

/**
 * The alert of a replay as a generic alert payload (functions/core/alerts/generic.ts): the recorded alert with its
 * start shifted onto the replay's clock, `environment` = the replay id (the tools' scope) and `id` = the replay id
 * (the dedup key: one incident per replay).
 */
export const replayAlert = (replay: Replay): Record<string, unknown> => {
  const a = replay.recording.alert;
  return {
    id: replay.id,
    title: a.title,
    service: a.service,
    ...(a.severity ? { severity: a.severity } : {}),
    startedAt: new Date(Date.parse(a.startedAt) + replay.offsetMs).toISOString(),
    environment: replay.id,
    ...(a.description ? { description: a.description } : {}),
    ...(a.metric ? { tags: { metric: a.metric } } : {}),
  };
};
