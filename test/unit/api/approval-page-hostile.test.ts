/**
 * The approval page's HTML with hostile text in every field it shows (alert title and service, agent outputs,
 * the approver's name and comment on the answer pages): no markup, no attribute break-out, no control or bidi
 * character that would reorder what the approver reads before deciding.
 */
import { describe, expect, it } from 'vitest';
import { type ConfirmationView, renderConfirmation, renderMessage } from '../../../functions/approval-page/html.ts';

const HOSTILE = `"><script>alert(1)</script><img src=x onerror=alert(2)>' onmouseover='x \u001b[2J\u0007 \u202ereject\u202c \u2066x\u2069`;

const view = (s: string): ConfirmationView => ({
  incidentId: `inc-1${s}`,
  decision: 'approve',
  title: `title ${s}`,
  headline: `headline ${s}`,
  severity: `SEV1${s}`,
  service: `checkout-service${s}`,
  impact: { usersImpacted: 4200, revenuePerMinute: 310, blastRadius: [`inventory-service${s}`] },
  rootCause: { summary: `summary ${s}`, confidence: 0.9, category: `config-change${s}`, changeId: `CR2077${s}` },
  plan: { risk: `high${s}`, reversible: true, rationale: `rationale ${s}`, actions: [{ kind: `revert-config${s}`, service: `inventory${s}`, target: `pool${s}`, description: `Revert ${s}`, risk: `medium${s}`, reversible: true }] },
  expiresAt: `2024-05-01 13:14:00 UTC${s}`,
});

const tagsOf = (html: string) => [...html.matchAll(/<\/?([a-zA-Z!][\w-]*)([^>]*)>/g)];

describe('approval page HTML with hostile text in every field', () => {
  it('has exactly the tags and attributes of the page with ordinary text', () => {
    // Act
    const hostile = renderConfirmation(view(HOSTILE));
    const ordinary = renderConfirmation(view('x'));
    // Assess: same tag sequence, and every attribute name the same (nothing broke out of a quoted attribute)
    const shape = (html: string) => tagsOf(html).map((t) => `${t[1]} ${[...t[2].matchAll(/\s([\w-]+)(?:="[^"]*")?/g)].map((a) => a[1]).join(',')}`);
    expect(shape(hostile)).toEqual(shape(ordinary));
  });

  it('shows control and bidi characters as escapes instead of sending them', () => {
    // Act
    const html = renderConfirmation(view(HOSTILE)) + renderMessage(`Already approved ${HOSTILE}`, `${HOSTILE} approved this mitigation`, [`Their comment: ${HOSTILE}`]);
    // Assess
    expect(html).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    expect(html).toContain('\\x1b[2J\\x07 \\u202ereject\\u202c \\u2066x\\u2069');
    expect(html).toContain('&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;&#39; onmouseover=&#39;x');
  });

  it('keeps the answer pages (the approver name and comment a decision shows back) free of markup', () => {
    // Act
    const html = renderMessage('Mitigation approved', `Thank you, ${HOSTILE}.`, [`Your comment: ${HOSTILE}`]);
    // Assess
    expect(new Set(tagsOf(html).map((t) => t[1].toLowerCase()))).toEqual(new Set(['!doctype', 'html', 'head', 'meta', 'title', 'style', 'body', 'main', 'h1', 'p']));
  });
});
