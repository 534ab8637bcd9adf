/**
 * The newcomer's path, as the README writes it: `npm start` runs the twin (here without the demo, on a free port,
 * with its own data directory), the CLI finds it through the data directory, and `autopilot send` posts a vendor
 * payload to it. Ctrl-C (SIGINT) stops it cleanly.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);
const env = { ...process.env, NO_COLOR: '1', CI: '1' };

/** Signals a whole process group; a group that is already gone is fine. */
const signalGroup = (pid: number, signal: NodeJS.Signals): void => {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
};

describe('npm start, then the CLI against it', () => {
  let dataDir: string;
  let server: ChildProcess;
  let output = '';

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'autopilot-start-'));
    server = spawn('npm', ['start', '--', '--no-demo', '--port', '0', '--data-dir', dataDir], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    server.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    server.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const deadline = Date.now() + 45_000;
    while (!/laptop twin is running/.test(output)) {
      if (Date.now() > deadline || server.exitCode !== null) throw new Error(`npm start did not come up:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }, 60_000);
  afterAll(async () => {
    // npm runs the CLI in a shell of its own: Ctrl-C reaches the whole process group, so signal the group.
    if (server?.pid && server.exitCode === null) {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      signalGroup(server.pid, 'SIGINT');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      signalGroup(server.pid, 'SIGKILL'); // whatever is left of the group
    }
    rmSync(dataDir, { recursive: true, force: true });
  }, 20_000);

  it('serves the API the CLI finds through the data directory, and accepts a vendor payload sent with `autopilot send`', async () => {
    // Act
    const sent = await run(process.execPath, ['bin/autopilot.ts', 'send', 'events/alerts/dynatrace.json', '--source', 'dynatrace', '--json', '--data-dir', dataDir], { cwd: root, env });
    const listed = await run(process.execPath, ['bin/autopilot.ts', 'incidents', '--json', '--data-dir', dataDir], { cwd: root, env });
    // Assess
    const accepted = JSON.parse(sent.stdout) as { incidentId: string; executionArn: string; deduplicated: boolean };
    expect(accepted).toMatchObject({ incidentId: expect.any(String), deduplicated: false });
    expect(JSON.stringify(JSON.parse(listed.stdout))).toContain(accepted.incidentId);
  });

  it('keeps the live world: the banner names it, and `autopilot inject` and `autopilot faults` reach it through the data directory', async () => {
    // Assess: created on this first start
    expect(output).toMatch(/live world live +\(8 services, created now;/);
    // Act
    const injected = await run(process.execPath, ['bin/autopilot.ts', 'inject', 'dependency-down', '--json', '--data-dir', dataDir], { cwd: root, env });
    const listed = await run(process.execPath, ['bin/autopilot.ts', 'faults', '--json', '--data-dir', dataDir], { cwd: root, env });
    // Assess
    expect(JSON.parse(injected.stdout)).toMatchObject({ id: 'fault-1', world: 'live', service: 'card-psp', preset: 'dependency-down' });
    expect(JSON.parse(listed.stdout)).toMatchObject({ world: 'live', faults: [{ id: 'fault-1', active: true, service: 'card-psp' }] });
  });

  it("names the console's URL first, and serves the console there (its page, config and assets)", async () => {
    const banner = output.slice(output.indexOf('laptop twin is running')).split('\n').slice(1).filter((l) => l.trim());
    expect(banner[0]).toMatch(/^\s+Console\s+http:\/\/127\.0\.0\.1:\d+\//);
    const url = /Console\s+(http:\/\/\S+\/)/.exec(output)?.[1] as string;
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    const script = /src="\.\/(assets\/main-[\w-]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(new URL(script as string, url));
    expect(asset.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect(await (await fetch(new URL('config.json', url))).json()).toEqual({ apiBase: '', auth: null });
  });

  it('describes its API at /docs and /openapi.json, as the banner says', async () => {
    const docs = /API docs\s+(http:\/\/\S+\/docs)/.exec(output)?.[1];
    expect(docs).toBeDefined();
    const page = await fetch(docs as string);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('/incidents/{id}/approval');
    const document = (await (await fetch((docs as string).replace(/\/docs$/, '/openapi.json'))).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths)).toContain('/alerts/{source}');
  });

  it('prints one line per alert of a group (an Alertmanager notification), each naming its incident', async () => {
    const sent = await run(process.execPath, ['bin/autopilot.ts', 'send', 'events/alerts/alertmanager.json', '--source', 'alertmanager', '--data-dir', dataDir], { cwd: root, env });
    const lines = sent.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).toMatch(/^202 (opened|folded into|joined) incident inc-\S+ /);
  });

  it('refuses a payload the webhook rejects with a non-zero exit and the API message', async () => {
    await expect(run(process.execPath, ['bin/autopilot.ts', 'send', 'package.json', '--source', 'dynatrace', '--data-dir', dataDir], { cwd: root, env })).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/400/),
    });
  });
});
