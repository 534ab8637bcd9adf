/**
 * The RCA markdown with hostile text in every string it shows (alert title and service, agent outputs built from
 * tool output, timeline messages, approver names and comments). Dashboards, wikis and tickets render the report:
 * none of that text may become markup, and the report must keep the structure it has with ordinary text.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decideOutcome, renderReport, type ReportInputs, writeReport } from '../../../functions/core/agents/report.ts';
import type { Evidence } from '../../../functions/core/model.ts';
import type { Reasoner } from '../../../functions/core/reasoning/reasoner.ts';
import type { IncidentDetail, IncidentMeta } from '../../../functions/core/store/store.ts';
import { fakeDeps, seedIncident } from './fakes.ts';

/** Every trick at once: raw HTML, a javascript: link and image, an autolink, a heading, a list and a table row via line breaks, pipes, backticks, emphasis, entities, terminal controls, bidi overrides. */
const HOSTILE = [
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(2)>',
  '[click](javascript:alert(3))',
  '![img](javascript:alert(4))',
  '<javascript:alert(5)>',
  '\n# Injected heading\n- injected item\n\n| a | b |\n|---|---|\n',
  'pipe | cell',
  '`code` ``` fence',
  '**bold** _em_ ~~strike~~',
  '&lt;b&gt;',
  '\u001b[2J\u0007\b\r',
  '\u202eevil\u202c\u2066',
].join(' ');

const inputsWith = (s: string): { inputs: ReportInputs; detail: IncidentDetail; evidence: Map<string, Evidence> } => {
  const incident: IncidentMeta = {
    incidentId: 'inc-1',
    status: 'VERIFYING',
    severity: 'SEV2',
    title: `Checkout down ${s}`,
    service: `checkout-service${s}`,
    environment: `prod${s}`,
    source: 'generic',
    dedupKey: 'k',
    createdAt: '2026-03-14T12:10:00.000Z',
    updatedAt: '2026-03-14T12:10:00.000Z',
    startedAt: '2026-03-14T12:10:00.000Z',
    alertCount: 1,
    approval: { status: 'REJECTED', approver: `alice${s}`, comment: `not now${s}`, decidedAt: '2026-03-14T12:19:00.000Z', requestedAt: '2026-03-14T12:15:00.000Z', expiresAt: '2026-03-14T13:15:00.000Z', channel: 'link' },
  };
  const evidenceId = `change:CR2077${s}`;
  const inputs: ReportInputs = {
    incident,
    impact: {
      anomalies: [{ service: `inventory-service${s}`, metric: `latency_p99_ms${s}`, baseline: 120, current: 18_340, score: 9, direction: 'up', onset: '2026-03-14T12:10:00.000Z', evidenceIds: [] }],
      blastRadius: [`checkout-service${s}`, 'inventory-service'],
      usersImpacted: 47_000,
      revenuePerMinute: 18_400,
      severity: 'SEV1',
      confidence: 0.9,
      reasoning: s,
      evidenceIds: [],
    },
    triage: { classification: s, headline: `Checkout timing out ${s}`, narrative: `Flash-sale traffic ${s}`, teamsToEngage: [], nextSteps: [s], confidence: 0.9, evidenceIds: [] },
    rootcause: {
      rootCauses: [
        {
          summary: `CR2077 reduced the pool ${s}`,
          service: `inventory-service${s}`,
          category: 'config-change',
          changeId: `CR2077${s}`,
          predictions: [
            { statement: `onset after the change ${s}`, result: 'supported', evidenceIds: [evidenceId] },
            { statement: `traffic rose ${s}`, result: 'refuted', evidenceIds: [] },
          ],
          confidence: 0.9,
          evidenceIds: [evidenceId],
        },
      ],
      abstained: false,
      missingEvidence: [s],
      reasoning: `Ruled out CR2081 ${s}`,
      evidenceIds: [],
    },
    plan: {
      immediate: [{ kind: 'revert-config', service: `inventory-service${s}`, target: `maximum-pool-size${s}`, params: {}, description: `Revert the pool ${s}`, risk: 'medium', reversible: true, evidenceIds: [] }],
      longTerm: [`Alert on pool saturation ${s}`],
      risk: 'medium',
      reversible: true,
      autoApprove: false,
      rationale: `revert ${s}`,
      evidenceIds: [],
    },
    verification: { attempt: 1, recovered: false, checks: [{ service: `inventory-service${s}`, metric: `latency_p99_ms${s}`, baseline: 120, before: 18_340, after: 9000, recovered: false, evidenceIds: [] }], checkedAt: '2026-03-14T12:28:00.000Z' },
    unreadable: [{ agent: 'execution', issue: `actions.0.detail: ${s}` }],
  };
  const detail: IncidentDetail = {
    incident,
    alerts: [],
    agents: { impact: { agent: 'impact', output: {}, evidence: [], latencyMs: 5, reasoner: `offline${s}`, toolCalls: [], completedAt: '2026-03-14T12:11:00.000Z' } },
    timeline: [{ at: '2026-03-14T12:12:00.000Z', type: `alert-received${s}`, message: `alert ${s}`, actor: `datadog${s}` }],
  };
  return { inputs, detail, evidence: new Map([[evidenceId, { id: evidenceId, kind: 'change', source: 'changes', summary: `CR2077 Tune HikariCP ${s}` }]]) };
};

const render = (s: string): string => {
  const { inputs, detail, evidence } = inputsWith(s);
  return renderReport(inputs, decideOutcome(inputs), { detail, evidence, closedAt: '2026-03-14T12:30:00.000Z', durationSeconds: 1200 });
};

/** What kind of Markdown block each line starts (what a renderer decides from the line's beginning). */
const blockKinds = (markdown: string): string[] =>
  markdown.split('\n').map((l) => (/^#{1,6}( |$)/.test(l) ? `h${/^#+/.exec(l)![0].length}` : l === '' ? 'blank' : /^\|/.test(l) ? 'table' : /^[-+*] /.test(l) ? 'bullet' : /^\d+[.)] /.test(l) ? 'ordered' : /^ {4}|^\t/.test(l) ? 'code' : /^(?:>|=+$|-+$)/.test(l) ? 'other-block' : 'paragraph'));

/** The markdown without its code spans (whose content is literal text in CommonMark): a run of n backticks not escaped, to the next run of exactly n. */
const outsideCodeSpans = (markdown: string): string => markdown.replace(/(?<![\\`])(`+)(?!`)[\s\S]*?(?<!`)\1(?!`)/g, '(code)');

/** A table row's cell separators: pipes not escaped by a backslash (an escaped backslash before one does not count). */
const separators = (row: string): number => [...row.matchAll(/(?<!\\)(?:\\\\)*\|/g)].length;

describe('renderReport with hostile text in every field', () => {
  it('keeps the structure it has with ordinary text: same lines, same blocks, same table cells', () => {
    // Prepare
    const ordinary = render('x');
    // Act
    const hostile = render(HOSTILE);
    // Assess
    expect(blockKinds(hostile)).toEqual(blockKinds(ordinary));
    const rows = (md: string) => md.split('\n').filter((l) => l.startsWith('|')).map(separators);
    expect(rows(hostile)).toEqual(rows(ordinary));
  });

  it('lets no raw HTML, link, image, autolink or control character through', () => {
    // Act
    const markdown = render(HOSTILE);
    // Assess
    const text = outsideCodeSpans(markdown);
    expect(text).not.toMatch(/<(?:[A-Za-z/!?]|[^\s<>]*@)/); // no `<` that opens a tag, comment or autolink
    expect(text).not.toMatch(/(?<!\\)(?:\\\\)*\]\(/); // no unescaped "](": no link or image can form
    // the only unescaped brackets are the report's own (checkboxes, cited evidence lists): as many as with ordinary text
    const brackets = (md: string) => outsideCodeSpans(md).match(/(?<!\\)(?:\\\\)*\[/g)?.length ?? 0;
    expect(brackets(markdown)).toBe(brackets(render('x')));
    expect(text).not.toMatch(/(?<!\\)`/); // the only backticks left are escaped ones
    expect(markdown).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
  });

  it('still shows the hostile text literally, in escaped form, where it was', () => {
    // Act
    const markdown = render(HOSTILE);
    // Assess
    expect(markdown).toContain('# Incident report — Checkout down &lt;script>alert(1)&lt;/script> &lt;img src=x onerror=alert(2)> \\[click\\](javascript:alert(3))');
    expect(markdown).toContain('>  # Injected heading - injected item  \\| a \\| b \\| \\|---\\|---\\|'); // in a table cell: one line, pipes escaped
    expect(markdown).toContain('\\x1b\\[2J\\x07\\x08  \\u202eevil\\u202c\\u2066');
    expect(markdown).toContain('Status **REJECTED** by alice&lt;script>');
    expect(markdown).toContain('&amp;lt;b&amp;gt;');
    expect(markdown).toContain('\\`code\\` \\`\\`\\` fence');
    expect(markdown).toContain('\\*\\*bold\\*\\* \\_em\\_ \\~\\~strike\\~\\~');
  });

  it('puts a hostile evidence id in a code span whose fence no backtick run inside can close', () => {
    // Act
    const markdown = render(HOSTILE);
    // Assess: the evidence line opens with a run of four backticks (the id holds a run of three) and closes with it;
    // inside, the line breaks and controls are visible
    const line = markdown.split('\n').find((l) => l.startsWith('- ````'))!;
    expect(line).toMatch(/^- ````change:CR2077<script>.*\\n# Injected heading\\n.*``` fence.*\\x1b\[2J.*\\u2066```` — CR2077 Tune HikariCP &lt;script>/);
  });

  it('leaves ordinary names, numbers and percentages as they read', () => {
    // Act
    const markdown = render('');
    // Assess
    expect(markdown).toContain('| inventory-service | latency_p99_ms | 120 | 18340 | 9000 | no |');
    expect(markdown).toContain('blast radius: checkout-service, inventory-service.');
    expect(markdown).toContain('- `change:CR2077` — CR2077 Tune HikariCP');
  });
});

describe('writeReport when a model rewrites the report', () => {
  it('stores and writes what the model wrote without its raw HTML, javascript: links or control characters', async () => {
    // Prepare: a model that was talked into echoing the alert's markup
    const rewriting: Reasoner = {
      reason: async (request) => ({
        output: request.schema.parse({ ...(request.offline as object), markdown: '# RCA\n\n<img src=x onerror=alert(1)> [details](javascript:alert(2)) [runbook](https://wiki.example.com/rb)\u001b[2J' }),
        reasoner: 'llm:test',
      }),
    };
    const deps = fakeDeps({ reasoner: rewriting });
    const incidentId = await seedIncident(deps, { title: 'Pool exhausted <img src=x onerror=alert(1)>' });
    const dir = await mkdtemp(join(tmpdir(), 'rca-llm-'));
    try {
      // Act
      await writeReport(deps, { reportDir: dir })({ incidentId });
      // Assess
      const expected = '# RCA\n\n&lt;img src=x onerror=alert(1)> [details\\](javascript:alert(2)) [runbook](https://wiki.example.com/rb)\\x1b[2J';
      expect((await deps.store.getDetail(incidentId))?.agents.report?.output).toMatchObject({ markdown: expected });
      expect(await readFile(join(dir, `${incidentId}.md`), 'utf8')).toBe(expected);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
