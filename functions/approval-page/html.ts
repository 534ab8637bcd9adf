/**
 * The HTML of the approval page. Safe by construction:
 * - every interpolated value goes through `escapeHtml` (text and attribute contexts alike: `& < > " '`; control and
 *   bidi characters shown as `\x1b` / `\u202e`, so no text reorders what the approver reads); no value lands in a
 *   URL, an unquoted attribute, a script or a style;
 * - no script at all, no external asset; the one stylesheet is inline and allowed by its SHA-256 in the CSP
 *   (`default-src 'none'`), so an injected <style>, <script>, <img> or <form action> would not run or load;
 * - `form-action 'self'`, `frame-ancestors 'none'`, `base-uri 'none'`;
 * - `Cache-Control: no-store` (the page shows an incident and holds a decision form), `Referrer-Policy:
 *   no-referrer` (the token in the URL never leaks to another site), `X-Content-Type-Options: nosniff`.
 */
import { createHash } from 'node:crypto';
import type { ApiResult } from '../core/http.ts';
import type { ApprovalDecision } from '../core/store/store.ts';
import { escapeHtml } from '../core/text.ts';

export { escapeHtml };

const STYLE = `
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f5f6f8;color:#1b1f24}
main{max-width:46rem;margin:2rem auto;padding:1.5rem 2rem;background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{font-size:1.35rem;margin:.2rem 0 1rem}h2{font-size:1.05rem;margin:1.4rem 0 .4rem}
.meta{color:#57606a;font-size:.9rem}.tag{display:inline-block;padding:0 .45rem;border-radius:4px;background:#eaeef2;font-size:.85rem;margin-right:.3rem}
.risk-high{background:#ffd8d3}.risk-medium{background:#fff1c2}.risk-low{background:#d7f5dd}
ul{padding-left:1.2rem}li{margin:.3rem 0}
label{display:block;font-weight:600;margin-top:1rem}input,textarea{width:100%;box-sizing:border-box;font:inherit;padding:.45rem;border:1px solid #c7ccd1;border-radius:4px}
textarea{min-height:5rem}button{margin-top:1.2rem;font:inherit;font-weight:600;padding:.6rem 1.4rem;border:0;border-radius:6px;color:#fff;cursor:pointer}
.approve{background:#1a7f37}.reject{background:#cf222e}.note{font-size:.9rem;color:#57606a}
.outcome{font-size:1.1rem}`;

const STYLE_HASH = createHash('sha256').update(STYLE, 'utf8').digest('base64');

/** The Content-Security-Policy of every page this function serves. */
export const CONTENT_SECURITY_POLICY = `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`;

export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'x-robots-tag': 'noindex, nofollow',
};

const page = (title: string, body: string): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>${escapeHtml(title)} · Incident Autopilot</title>
<style>${STYLE}</style>
</head>
<body><main>
${body}
</main></body>
</html>
`;

export const htmlResponse = (statusCode: number, html: string): ApiResult => ({ statusCode, headers: { ...PAGE_HEADERS }, body: html });

/** What the confirmation page shows; every field is untrusted text (agent output, alert titles). */
export interface ConfirmationView {
  readonly incidentId: string;
  readonly decision: ApprovalDecision;
  readonly title: string;
  readonly headline: string;
  readonly severity: string;
  readonly service: string;
  readonly impact?: { readonly usersImpacted: number; readonly revenuePerMinute: number; readonly blastRadius: readonly string[] };
  readonly rootCause?: { readonly summary: string; readonly confidence: number; readonly category?: string; readonly changeId?: string };
  readonly plan: {
    readonly risk: string;
    readonly reversible: boolean;
    readonly actions: readonly { readonly kind: string; readonly service: string; readonly target?: string; readonly description: string; readonly risk: string; readonly reversible: boolean }[];
    readonly rationale?: string;
  };
  readonly expiresAt: string;
}

const percent = (x: number): string => `${Math.round(x * 100)}%`;
const riskTag = (risk: string): string => `<span class="tag risk-${escapeHtml(risk)}">${escapeHtml(risk)} risk</span>`;

/** The confirmation page a link opens: the facts, then a form whose POST is the only thing that decides. */
export const renderConfirmation = (v: ConfirmationView): string => {
  const approve = v.decision === 'approve';
  const impact = v.impact
    ? `<h2>Impact</h2><p>${escapeHtml(Math.round(v.impact.usersImpacted).toLocaleString('en-US'))} users affected, about ${escapeHtml(
        Math.round(v.impact.revenuePerMinute).toLocaleString('en-US'),
      )} revenue per minute at risk${v.impact.blastRadius.length > 0 ? `; blast radius: ${v.impact.blastRadius.map(escapeHtml).join(', ')}` : ''}.</p>`
    : '';
  const rootCause = v.rootCause
    ? `<h2>Root cause</h2><p>${escapeHtml(v.rootCause.summary)} <span class="tag">confidence ${escapeHtml(percent(v.rootCause.confidence))}</span>${
        v.rootCause.category ? `<span class="tag">${escapeHtml(v.rootCause.category)}</span>` : ''
      }${v.rootCause.changeId ? `<span class="tag">change ${escapeHtml(v.rootCause.changeId)}</span>` : ''}</p>`
    : '<h2>Root cause</h2><p>Undetermined: the analysis abstained.</p>';
  const actions = v.plan.actions
    .map(
      (a) =>
        `<li>${escapeHtml(a.description)}<br><span class="meta">${escapeHtml(a.kind)} · ${escapeHtml(a.service)}${a.target ? ` · ${escapeHtml(a.target)}` : ''}</span> ${riskTag(a.risk)}<span class="tag">${a.reversible ? 'reversible' : 'not reversible'}</span></li>`,
    )
    .join('\n');
  const verb = approve ? 'Approve' : 'Reject';
  return page(
    `${verb} mitigation for ${v.incidentId}`,
    `<p class="meta">Incident ${escapeHtml(v.incidentId)} · <span class="tag">${escapeHtml(v.severity)}</span> ${escapeHtml(v.service)}</p>
<h1>${escapeHtml(v.headline)}</h1>
${v.headline === v.title ? '' : `<p class="meta">${escapeHtml(v.title)}</p>`}
${impact}
${rootCause}
<h2>Plan ${riskTag(v.plan.risk)}<span class="tag">${v.plan.reversible ? 'reversible' : 'not reversible'}</span></h2>
<ul>
${actions}
</ul>
${v.plan.rationale ? `<p class="note">${escapeHtml(v.plan.rationale)}</p>` : ''}
<form method="post" accept-charset="utf-8">
<label for="approver">Your name</label>
<input id="approver" name="approver" required maxlength="200" autocomplete="name">
<label for="comment">Comment${approve ? ' (optional)' : ''}</label>
<textarea id="comment" name="comment" maxlength="4000"></textarea>
<button type="submit" class="${approve ? 'approve' : 'reject'}">${verb} the mitigation</button>
</form>
<p class="note">Opening this page decided nothing: only the button does. This link ${approve ? 'approves' : 'rejects'}; the ${
      approve ? 'reject' : 'approve'
    } link came in the same message. It expires at ${escapeHtml(v.expiresAt)}.</p>`,
  );
};

/** A page with one message: the outcome of a decision, or why this link decides nothing. */
export const renderMessage = (title: string, message: string, details: readonly string[] = []): string =>
  page(title, `<h1>${escapeHtml(title)}</h1>\n<p class="outcome">${escapeHtml(message)}</p>\n${details.map((d) => `<p class="note">${escapeHtml(d)}</p>`).join('\n')}`);
