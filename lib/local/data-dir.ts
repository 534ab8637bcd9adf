/**
 * Files `autopilot serve` keeps in its data directory so other commands (another terminal) can find it:
 *   twin.json   where the running twin listens (written on start, removed on a clean stop)
 *   secret      the webhook shared secret (0600; written by the twin)
 *   demo-sent   marker: the first-start demo has been sent
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';

const TwinInfoSchema = z.object({ url: z.url({ protocol: /^https?$/ }), pid: z.int().positive(), startedAt: z.string() });
export type TwinInfo = Readonly<z.infer<typeof TwinInfoSchema>>;

export class TwinNotRunning extends Error {
  override name = 'TwinNotRunning';
}

export const twinInfoFile = (dataDir: string): string => join(resolve(dataDir), 'twin.json');
export const secretFile = (dataDir: string): string => join(resolve(dataDir), 'secret');
export const demoMarker = (dataDir: string): string => join(resolve(dataDir), 'demo-sent');

export const writeTwinInfo = (dataDir: string, info: TwinInfo): void => writeFileSync(twinInfoFile(dataDir), `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });

export const removeTwinInfo = (dataDir: string): void => rmSync(twinInfoFile(dataDir), { force: true });

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** twin.json as `serve` wrote it; a truncated or hand-edited file names itself instead of failing as a bare JSON error. */
const readTwinInfo = (file: string): TwinInfo => {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new TwinNotRunning(`${file} is not valid JSON (${(error as Error).message}): restart \`npx autopilot serve\`, or pass --url`);
  }
  const parsed = TwinInfoSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TwinNotRunning(`${file}: ${issue.path.join('.') || '(root)'}: ${issue.message}: restart \`npx autopilot serve\`, or pass --url`);
  }
  return parsed.data;
};

/** The running twin's URL and secret, from `--url`/`--secret` or the data directory. */
export const resolveTwin = (opts: { dataDir: string; url?: string; secret?: string }): { url: string; secret?: string } => {
  const secret = opts.secret ?? (existsSync(secretFile(opts.dataDir)) ? readFileSync(secretFile(opts.dataDir), 'utf8').trim() : undefined);
  if (opts.url) return { url: opts.url, secret };
  const file = twinInfoFile(opts.dataDir);
  if (!existsSync(file)) throw new TwinNotRunning(`no running twin found in ${resolve(opts.dataDir)}: start one with \`npx autopilot serve\` (or pass --url)`);
  const info = readTwinInfo(file);
  if (!alive(info.pid)) throw new TwinNotRunning(`the twin that wrote ${file} (pid ${info.pid}) is no longer running: start it with \`npx autopilot serve\``);
  return { url: info.url, secret };
};
