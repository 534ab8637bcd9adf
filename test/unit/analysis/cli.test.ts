/** Unit: the analysis commands of the CLI on small fixtures (`metrics anomalies`, `logs templates`), as a user runs them. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../../bin/autopilot.ts', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const autopilot = (...args: string[]) => run(process.execPath, [cli, ...args], { env: { ...process.env, NO_COLOR: '1' } });

describe('unit: autopilot metrics anomalies', () => {
  it('prints a score per row and the windows as JSON, timestamps as in the file', async () => {
    const { stdout } = await autopilot('metrics', 'anomalies', fixture('series.csv'), '--json');
    const out = JSON.parse(stdout) as { scores: number[]; windows: { start: string; end: string }[] };
    expect(out.scores).toHaveLength(240);
    expect(out.windows.length).toBeGreaterThan(0);
    expect(out.windows.map((w) => w.start)).toContain('2024-05-01 13:00:00');
    expect(Object.keys(out.windows[0])).toEqual(['start', 'end']);
  });

  it('fails with one line naming the file when it cannot be read', async () => {
    await expect(autopilot('metrics', 'anomalies', fixture('missing.csv'))).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/cannot read .*missing\.csv: ENOENT/) });
  });
});

describe('unit: autopilot logs templates', () => {
  it('prints a template id per line and the templates with counts, raw lines read as messages', async () => {
    const { stdout } = await autopilot('logs', 'templates', fixture('app.log'), '--json');
    const out = JSON.parse(stdout) as { lines: string[]; templates: { id: string; template: string; count: number }[] };
    expect(out.lines).toHaveLength(8);
    // the three "order placed", the two "payment failed" and the two "purged" lines share a template each
    expect(new Set([out.lines[0], out.lines[1], out.lines[4]]).size).toBe(1);
    expect(out.lines[3]).toBe(out.lines[5]);
    expect(out.lines[6]).toBe(out.lines[7]);
    expect(new Set(out.lines).size).toBe(4);
    const payment = out.templates.find((t) => t.id === out.lines[3])!;
    expect(payment).toEqual({ id: out.lines[3], template: 'payment for order <*> failed: connection refused to <*>', count: 2 });
    expect(out.templates.reduce((n, t) => n + t.count, 0)).toBe(8);
  });
});

describe('unit: the CLI under a reader that closes early', () => {
  it('ends quietly when stdout is closed (`autopilot scenarios | head -1`), without an EPIPE stack trace', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [new URL('../../../bin/autopilot.ts', import.meta.url).pathname, 'scenarios'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // Read one chunk, then close the pipe as `head -1` does.
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(stderr).not.toContain('EPIPE');
    expect(code).toBe(0);
  }, 30_000);
});
