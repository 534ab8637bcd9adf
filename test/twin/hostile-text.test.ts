/**
 * Hostile text through whole incidents on the laptop twin: alert titles, descriptions, tags and service names
 * carrying markup, Markdown, terminal escape sequences and bidi overrides (and an approver who types the same into
 * the approval form) reach the RCA report, the approval page and `autopilot show`/`incidents` only neutralised:
 * no raw HTML or Markdown structure in the report, no markup on the page, no control byte on the terminal, and
 * the literal text still there to read, in escaped form.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveLinkKey, signApprovalLink } from '../../functions/core/approval-links.ts';
import { ApiClient } from '../../lib/local/client.ts';
import { seedScenario } from '../../lib/local/incident-run.ts';
import { startTwin, type Twin } from '../../lib/local/twin.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);
const env = { ...process.env, NO_COLOR: '1', CI: '1' };

const MARKUP = '<script>alert(1)</script> <img src=x onerror=alert(2)> [click](javascript:alert(3)) <javascript:alert(4)>';
const MARKDOWN = '\n# Injected heading\n- injected item\n| a | b |\n|---|---|\n`tick` ``` **bold**';
const TERMINAL = '\u001b[2J\u001b]0;pwned\u0007\b\r\u202eevil\u202c\u2066x\u2069';
const HOSTILE = `${MARKUP} ${MARKDOWN} ${TERMINAL}`;
/** A lone very long line (the generic webhook keeps 1,024 characters of a title and 8,192 of a description). */
const LONG = `${'x'.repeat(2_000)}<b>${'y'.repeat(10_000)}`;

/** Bytes a terminal acts on: C0 but the newline, DEL, C1, the bidi controls. */
const CONTROL_BYTES = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** The markdown without its code spans (literal text in CommonMark). */
const outsideCodeSpans = (markdown: string): string => markdown.replace(/(?<![\\`])(`+)(?!`)[\s\S]*?(?<!`)\1(?!`)/g, '(code)');

describe('laptop twin, hostile text through whole incidents', () => {
  let twin: Twin;
  let api: ApiClient;
  let worldId: string;
  let service: string;
  let startTime: number;

  beforeAll(async () => {
    twin = await startTwin({ inMemory: true, waitOverrideMs: 0, autoApproveLowRisk: false, approvalTimeoutSeconds: 600 });
    api = new ApiClient(twin.url, twin.secret);
    // A real scenario world, so the incident is diagnosed, planned and sent for approval like any other.
    const seeded = await seedScenario(twin, 'db-pool-exhaustion', { recoveryLagSeconds: 0 });
    worldId = seeded.worldId;
    service = String(seeded.alert.payload.ImpactedEntity);
    startTime = (seeded.alert.payload.ProblemDetailsJSONv2 as { startTime: number }).startTime;
  });
  afterAll(async () => {
    await twin?.stop();
  });

  const cli = (...args: string[]) => run(process.execPath, ['bin/autopilot.ts', ...args, '--url', twin.url, '--secret', twin.secret], { cwd: root, env, maxBuffer: 16 * 1024 * 1024 });

  const reportOf = async (id: string): Promise<string> => {
    const location = String((await api.getIncident(id)).incident.reportLocation);
    return readFile(location, 'utf8');
  };

  it('diagnoses, asks approval for and reports an incident whose alert and approver carry hostile text, neutralised everywhere', async () => {
    // Prepare: the alert of the scenario's service, with hostile title, description and tags
    const { body: accepted } = await api.sendAlert('generic', {
      id: `hostile-${worldId}`,
      title: `Pool exhausted ${HOSTILE}`,
      service,
      environment: worldId,
      severity: 'SEV1',
      startedAt: startTime,
      description: `Description ${HOSTILE}`,
      tags: { team: HOSTILE },
      url: 'javascript:alert(5)',
    });
    const id = accepted.incidentId;
    await expect.poll(async () => (await api.getIncident(id)).incident.approval?.status, { timeout: 45_000 }).toBe('PENDING');
    const approval = (await api.getIncident(id)).incident.approval as unknown as { requestId: string; expiresAt: string };
    const link = `${twin.url}/approvals/${signApprovalLink(deriveLinkKey(twin.secret), { incidentId: id, decision: 'approve', expiresAt: Math.floor(Date.parse(approval.expiresAt) / 1000), requestId: approval.requestId })}`;

    // Act 1: the approver opens the page
    const pageResponse = await fetch(link);
    const page = await pageResponse.text();
    // Assess 1: the title is on the page as text, and nothing of it is markup
    expect(pageResponse.status).toBe(200);
    expect(pageResponse.headers.get('content-security-policy')).toMatch(/^default-src 'none'; style-src 'sha256-[^']+'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'$/);
    expect(page).toContain('Pool exhausted &lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(2)&gt;');
    expect(page).toContain('\\x1b[2J\\x1b]0;pwned\\x07\\x08\\r\\u202eevil\\u202c\\u2066x\\u2069');
    expect(page).not.toMatch(CONTROL_BYTES);
    const tags = new Set([...page.matchAll(/<\/?([a-zA-Z!][\w-]*)/g)].map((t) => t[1].toLowerCase()));
    expect([...tags].filter((t) => !['!doctype', 'html', 'head', 'meta', 'title', 'style', 'body', 'main', 'p', 'span', 'h1', 'h2', 'ul', 'li', 'br', 'form', 'label', 'input', 'textarea', 'button'].includes(t))).toEqual([]);

    // Act 2: the approver types hostile text too, and approves; the workflow runs to its report
    const decided = await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ approver: `Mallory ${MARKUP}`, comment: `ok ${HOSTILE}` }) });
    expect(decided.status).toBe(200);
    const answer = await decided.text();
    expect(answer).toContain('Thank you, Mallory &lt;script&gt;');
    expect(answer).not.toContain('<script');
    expect((await twin.waitForExecution(accepted.executionArn ?? id, 60_000)).status).toBe('SUCCEEDED');

    // Assess 2: the report keeps its structure and shows every hostile string as literal text
    const markdown = await reportOf(id);
    const text = outsideCodeSpans(markdown);
    expect(text).not.toMatch(/<(?:[A-Za-z/!?]|[^\s<>]*@)/); // no `<` that opens a tag, comment or autolink
    expect(text).not.toMatch(/(?<!\\)(?:\\\\)*\]\(/);
    expect(markdown).not.toMatch(CONTROL_BYTES);
    const headings = markdown.split('\n').filter((l) => l.startsWith('#'));
    expect(headings).toEqual([
      expect.stringMatching(/^# Incident report — /),
      ...['Summary', 'Impact', 'Timeline', 'Root cause', 'Hypotheses considered', 'Actions taken', 'Approval', 'Verification', 'Follow-ups'].map((h) => `## ${h}`),
    ]);
    expect(markdown.split('\n').some((l) => /^- injected item/.test(l) || /^\| a \| b \|/.test(l))).toBe(false);
    expect(markdown).toContain('# Incident report — Pool exhausted &lt;script>alert(1)&lt;/script> &lt;img src=x onerror=alert(2)> \\[click\\](javascript:alert(3)) &lt;javascript:alert(4)>  # Injected heading - injected item | a | b |');
    expect(markdown).toContain('Status **APPROVED** by Mallory &lt;script>alert(1)&lt;/script>');
    expect(markdown).toContain('\\`tick\\` \\`\\`\\` \\*\\*bold\\*\\* \\x1b\\[2J\\x1b\\]0;pwned\\x07\\x08 \\u202eevil\\u202c\\u2066x\\u2069');

    // Act 3: the CLI shows and lists the incident
    const shown = await cli('show', id);
    const listed = await cli('incidents');
    const json = JSON.parse((await cli('show', id, '--json')).stdout) as { incident: { title: string } };
    // Assess 3: no control byte reaches the terminal; the escapes are visible; --json keeps the original value
    for (const out of [shown.stdout, listed.stdout]) {
      expect(out).not.toMatch(CONTROL_BYTES);
      expect(out).toContain('\\x1b[2J\\x1b]0;pwned\\x07\\x08\\r\\u202eevil\\u202c\\u2066x\\u2069');
    }
    expect(shown.stdout).toContain('approval   APPROVED by Mallory <script>alert(1)</script>');
    expect(json.incident.title).toBe(`Pool exhausted ${HOSTILE}`.trim());
  });

  it('runs an incident whose service name carries escapes and whose title is one very long line, and prints it safely', async () => {
    // Prepare
    const hostileService = `${service}${TERMINAL}|x_y`;
    // Act
    const { body: accepted } = await api.sendAlert('generic', { id: `long-${worldId}`, title: LONG, service: hostileService, environment: worldId, description: LONG });
    const execution = await twin.waitForExecution(accepted.executionArn ?? accepted.incidentId, 60_000);
    const shown = await cli('show', accepted.incidentId);
    const markdown = await reportOf(accepted.incidentId);
    // Assess
    expect(execution.status).toBe('SUCCEEDED');
    expect(shown.stdout).not.toMatch(CONTROL_BYTES);
    expect(shown.stdout).toContain(`${service}\\x1b[2J\\x1b]0;pwned\\x07\\x08\\r\\u202eevil\\u202c\\u2066x\\u2069|x_y`);
    expect(shown.stdout).toContain(`${'x'.repeat(1_000)}`);
    expect(markdown).not.toMatch(CONTROL_BYTES);
    // the service sits in the header table's second cell: its pipe escaped, so the row keeps its seven cells
    const row = markdown.split('\n')[4];
    expect(row).toContain(`| ${service}\\x1b\\[2J\\x1b\\]0;pwned\\x07\\x08 \\u202eevil\\u202c\\u2066x\\u2069\\|x_y |`); // \r is a line break: a space
    expect(row.match(/(?<!\\)\|/g)).toHaveLength(8);
    expect(markdown).toContain(`# Incident report — ${'x'.repeat(1_000)}`);
    expect(outsideCodeSpans(markdown)).not.toContain('<b>');
  });
});
