/**
 * One incident (GET /console/incidents/{id}), polled while the workflow runs: status, severity and impact up top; the
 * approval (Approve / Reject with a comment while one is pending); the resolution people recorded, or the form to
 * record it on an escalated or failed incident; the timeline with timings and who decided what; the metric charts;
 * the hypotheses ranked with each prediction supported or refuted; the plan with risk and reversibility; every agent's
 * output and evidence, each citation a link to the evidence item it cites; the RCA report (sanitised Markdown); export.
 */
import { type ComponentChildren, createContext } from 'preact';
import { useContext, useEffect, useMemo, useState } from 'preact/hooks';
import { SignalsSection } from '../charts.tsx';
import { usePoll } from '../poll.ts';
import { evidenceHref } from '../route.ts';
import { ColumnHeads, ErrorNotice, Markdown, ReversibleBadge, RiskBadge, SeverityBadge, StatusBadge, TERMINAL, arr, download, duration, num, obj, str, time, useApp } from '../ui.tsx';

interface EvidenceItem {
  readonly id: string;
  readonly kind?: string;
  readonly source?: string;
  readonly summary?: string;
  readonly data?: unknown;
}
interface AgentRecord {
  readonly agent: string;
  readonly output: unknown;
  readonly evidence?: EvidenceItem[];
  readonly latencyMs?: number;
  readonly reasoner?: string;
  readonly toolCalls?: { tool: string; ok: boolean; latencyMs?: number; error?: string }[];
  readonly completedAt?: string;
}
interface TimelineEvent {
  readonly type: string;
  readonly actor?: string;
  readonly message?: string;
  readonly data?: Record<string, unknown>;
  readonly at: string;
}
export interface IncidentView {
  readonly incident: Record<string, unknown> & { incidentId: string; status: string };
  readonly alerts: unknown[];
  readonly agents: Record<string, AgentRecord>;
  readonly timeline: TimelineEvent[];
  readonly approval: Record<string, unknown> | null;
  readonly report: { markdown?: string; location?: string; outcome?: string } | null;
  readonly resolution?: Record<string, unknown> | null;
}

/** The workflow's agents in the order they run; an agent not listed here is shown after them. */
const AGENT_ORDER = ['impact', 'similar', 'logs', 'triage', 'rootcause', 'plan', 'execution', 'verification', 'escalation', 'report', 'failure'];
const AGENT_TITLES: Readonly<Record<string, string>> = {
  impact: 'Impact',
  similar: 'Similar incidents',
  logs: 'Logs',
  triage: 'Triage',
  rootcause: 'Root cause',
  plan: 'Mitigation plan',
  execution: 'Execution',
  verification: 'Verification',
  escalation: 'Escalation',
  report: 'Report',
};

/** The DOM id of an evidence item of an agent (ids may hold any character but whitespace; these never do). */
const anchorOf = (agent: string, evidenceId: string): string => `ev:${agent}:${evidenceId}`;

/** Which agent's record holds each evidence id: a citation links to its own agent's item, else the first that has it. */
type EvidenceIndex = ReadonlyMap<string, readonly string[]>;

const Cites = createContext<{ readonly incidentId: string; readonly index: EvidenceIndex }>({ incidentId: '', index: new Map() });

export const IncidentPage = ({ id, anchor }: { id: string; anchor?: string }) => {
  const { api } = useApp();
  const [live, setLive] = useState(true);
  const view = usePoll((signal) => api.get<IncidentView>(`/console/incidents/${encodeURIComponent(id)}`, {}, signal), 3000, [id], live);
  const data = view.data;
  const terminal = data ? TERMINAL.has(data.incident.status) : false;
  // A finished incident changes only when people act on it (a resolution): no polling, reloaded after each action.
  useEffect(() => setLive(!terminal), [terminal]);

  const index = useMemo(() => {
    const map = new Map<string, string[]>();
    for (const [agent, record] of Object.entries(data?.agents ?? {})) for (const e of record.evidence ?? []) (map.get(e.id) ?? map.set(e.id, []).get(e.id)!).push(agent);
    return map;
  }, [data]);
  const cites = useMemo(() => ({ incidentId: id, index }), [id, index]);

  // A citation's route: open the evidence item's <details>, scroll to it and move the focus there.
  useEffect(() => {
    if (!anchor || !data) return;
    const el = document.getElementById(anchor);
    if (!el) return;
    for (let p: HTMLElement | null = el; p; p = p.parentElement) if (p instanceof HTMLDetailsElement) p.open = true;
    el.scrollIntoView({ block: 'center' });
    el.focus({ preventScroll: true });
  }, [anchor, data !== undefined]);

  if (view.error && !data) return <ErrorNotice error={view.error} />;
  if (!data) return <p class="muted">Loading incident {id}…</p>;
  const { incident } = data;
  const agents = orderedAgents(data.agents);
  const resolution = data.resolution ?? (incident.resolution as Record<string, unknown> | undefined) ?? null;

  return (
    <Cites.Provider value={cites}>
    <article class="incident" aria-labelledby="incident-title">
      <p>
        <a href="#/incidents">← All incidents</a>
      </p>
      <ErrorNotice error={view.error} />
      <Header view={data} />
      <div class="toolbar">
        <button type="button" onClick={() => download(`${incident.incidentId}.json`, `${JSON.stringify(data, null, 2)}\n`, 'application/json')}>
          Download JSON
        </button>
        {data.report?.markdown ? (
          <button type="button" onClick={() => download(`${incident.incidentId}.md`, data.report!.markdown!, 'text/markdown')}>
            Download report (.md)
          </button>
        ) : null}
      </div>
      {data.approval?.status === 'PENDING' ? <ApprovalPanel view={data} onDecided={view.reload} /> : null}
      {resolution ? <ResolutionRecord resolution={resolution} /> : incident.status === 'ESCALATED' || incident.status === 'FAILED' ? <ResolvePanel view={data} onResolved={view.reload} /> : null}
      <Section id="timeline" title="Timeline">
        <Timeline view={data} />
      </Section>
      <Section id="metrics" title="Metrics">
        <SignalsSection incidentId={incident.incidentId} live={!terminal} />
      </Section>
      {data.agents.rootcause ? (
        <Section id="hypotheses" title="Hypotheses">
          <Hypotheses record={data.agents.rootcause} />
        </Section>
      ) : null}
      {data.agents.plan ? (
        <Section id="plan" title="Plan">
          <Plan record={data.agents.plan} />
        </Section>
      ) : null}
      <Section id="agents" title="Agents">
        {agents.length === 0 ? <p class="empty">No agent has finished yet.</p> : agents.map((record) => <AgentOutput record={record} />)}
      </Section>
      <Section id="report" title="RCA report">
        {data.report?.markdown ? <Markdown class="report" source={data.report.markdown} /> : <p class="empty">{terminal ? 'No report was written.' : 'The report is written when the workflow ends.'}</p>}
      </Section>
    </article>
    </Cites.Provider>
  );
};

const orderedAgents = (agents: Record<string, AgentRecord>): AgentRecord[] => {
  const rank = (name: string) => (AGENT_ORDER.includes(name) ? AGENT_ORDER.indexOf(name) : AGENT_ORDER.length);
  return Object.entries(agents)
    .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
    .map(([name, record]) => ({ ...record, agent: name }));
};

const Section = ({ id, title, children }: { id: string; title: string; children: ComponentChildren }) => (
  <section class="panel" aria-labelledby={`${id}-title`}>
    <h2 id={`${id}-title`}>{title}</h2>
    {children}
  </section>
);

const Header = ({ view }: { view: IncidentView }) => {
  const { incident } = view;
  const impact = obj(view.agents.impact?.output);
  const users = num(impact.usersImpacted);
  const revenue = num(impact.revenuePerMinute);
  return (
    <header class="incident-header">
      <h1 id="incident-title">{str(incident.title) || incident.incidentId}</h1>
      <div class="badges">
        <StatusBadge status={incident.status} /> <SeverityBadge severity={incident.severity} />
        <span class="muted">{incident.incidentId}</span>
      </div>
      <dl class="facts">
        <Fact label="Service">{str(incident.service)}</Fact>
        <Fact label="Environment">{str(incident.environment)}</Fact>
        <Fact label="Source">{str(incident.source)}</Fact>
        <Fact label="Opened">{time(incident.createdAt)}</Fact>
        {incident.resolvedAt ? <Fact label="Ended">{time(incident.resolvedAt)}</Fact> : null}
        {impact.onset ? <Fact label="Onset">{time(impact.onset)}</Fact> : null}
        {users !== undefined ? <Fact label="Users impacted">{users.toLocaleString()}</Fact> : null}
        {revenue !== undefined ? <Fact label="Revenue at risk">{`${revenue.toLocaleString(undefined, { maximumFractionDigits: 0 })} / min`}</Fact> : null}
        {arr(impact.blastRadius).length > 0 ? <Fact label="Blast radius">{arr(impact.blastRadius).map(str).join(', ')}</Fact> : null}
        {num(incident.alertCount) !== undefined ? <Fact label="Alerts">{str(incident.alertCount)}</Fact> : null}
      </dl>
    </header>
  );
};

const Fact = ({ label, children }: { label: string; children: ComponentChildren }) => (
  <div>
    <dt>{label}</dt>
    <dd>{children}</dd>
  </div>
);

/** Links to the cited evidence items (their own agent's first, else any agent's); an id nobody recorded stays text. */
export const Citations = ({ ids, agent }: { ids: unknown; agent: string }) => {
  const { incidentId, index } = useContext(Cites);
  const list = arr(ids).map(str).filter(Boolean);
  if (list.length === 0) return null;
  return (
    <span class="citations">
      {'evidence: '}
      {list.map((id, i) => {
        const holders = index.get(id) ?? [];
        const holder = holders.includes(agent) ? agent : holders[0];
        return (
          <>
            {i > 0 ? ', ' : ''}
            {holder ? (
              <a class="cite" href={evidenceHref(incidentId, anchorOf(holder, id))}>
                {id}
              </a>
            ) : (
              <span class="cite missing" title="not among the recorded evidence">
                {id}
              </span>
            )}
          </>
        );
      })}
    </span>
  );
};

const ApprovalPanel = ({ view, onDecided }: { view: IncidentView; onDecided: () => void }) => {
  const { api, auth } = useApp();
  const [comment, setComment] = useState('');
  const [approver, setApprover] = useState('');
  const [busy, setBusy] = useState<'approve' | 'reject' | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const [done, setDone] = useState<string | null>(null);
  const approval = view.approval ?? {};
  const actions = arr<Record<string, unknown>>(obj(view.agents.plan?.output).immediate);

  const decide = async (decision: 'approve' | 'reject') => {
    setBusy(decision);
    setError(undefined);
    try {
      await api.post(`/console/incidents/${encodeURIComponent(view.incident.incidentId)}/approval`, {
        decision,
        ...(comment.trim() ? { comment: comment.trim() } : {}),
        ...(!auth && approver.trim() ? { approver: approver.trim() } : {}),
        ...(typeof approval.requestId === 'string' ? { requestId: approval.requestId } : {}),
      });
      setDone(decision === 'approve' ? 'Approved: the workflow carries on with the mitigation.' : 'Rejected: the incident is handed to people.');
      onDecided();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  };

  return (
    <section class="panel approval" aria-labelledby="approval-title">
      <h2 id="approval-title">Approval pending</h2>
      <p>
        The workflow waits for a decision on {actions.length === 1 ? 'this action' : `these ${actions.length} actions`}
        {approval.expiresAt ? ` until ${time(approval.expiresAt)} (then it escalates)` : ''}.
      </p>
      <ul class="actions-list">
        {actions.map((a) => (
          <li>
            <RiskBadge risk={a.risk} /> <ReversibleBadge reversible={a.reversible} /> {str(a.description)}
          </li>
        ))}
      </ul>
      {done ? (
        <p class="notice ok" role="status">
          {done}
        </p>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void decide('approve');
          }}
        >
          {!auth ? (
            <label>
              Your name <span class="muted">(optional; recorded as the approver)</span>
              <input type="text" value={approver} maxLength={200} onInput={(e) => setApprover(e.currentTarget.value)} autoComplete="name" />
            </label>
          ) : null}
          <label>
            Comment <span class="muted">(optional)</span>
            <textarea value={comment} maxLength={4000} rows={2} onInput={(e) => setComment(e.currentTarget.value)} />
          </label>
          <div class="buttons">
            <button type="submit" class="primary" disabled={busy !== null}>
              {busy === 'approve' ? 'Approving…' : 'Approve'}
            </button>
            <button type="button" class="danger" disabled={busy !== null} onClick={() => void decide('reject')}>
              {busy === 'reject' ? 'Rejecting…' : 'Reject'}
            </button>
          </div>
        </form>
      )}
      <ErrorNotice error={error} />
    </section>
  );
};

/** The categories the root-cause agent names (a datalist: people may write another). */
const CATEGORY_SUGGESTIONS = ['deployment', 'config', 'connection-pool', 'capacity', 'dependency', 'memory-leak', 'database', 'network', 'traffic-surge', 'certificate', 'other'];

const ResolvePanel = ({ view, onResolved }: { view: IncidentView; onResolved: () => void }) => {
  const { api, auth } = useApp();
  const top = obj(arr(obj(view.agents.rootcause?.output).rootCauses)[0]);
  const services = [...new Set([str(view.incident.service), ...arr(obj(view.agents.impact?.output).blastRadius).map(str)].filter(Boolean))];
  const [form, setForm] = useState({ service: str(top.service) || str(view.incident.service), category: str(top.category), change: str(top.changeId), summary: '', fix: '', comment: '', by: '' });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const set = (key: keyof typeof form) => (e: Event) => setForm((f) => ({ ...f, [key]: (e.currentTarget as HTMLInputElement).value }));

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await api.post(`/console/incidents/${encodeURIComponent(view.incident.incidentId)}/resolution`, {
        cause: { service: form.service.trim(), category: form.category.trim(), ...(form.change.trim() ? { change: form.change.trim() } : {}), summary: form.summary.trim() },
        fix: form.fix.trim(),
        ...(form.comment.trim() ? { comment: form.comment.trim() } : {}),
        ...(!auth && form.by.trim() ? { by: form.by.trim() } : {}),
      });
      onResolved();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="panel resolve" aria-labelledby="resolve-title">
      <h2 id="resolve-title">Resolve</h2>
      <p>This incident was handed to people. Record what the cause and the fix really were: it closes the incident, teaches the similar-incident agent, and grades the diagnosis.</p>
      <form onSubmit={submit} class="grid-form">
        <label>
          Cause: service
          <input type="text" required value={form.service} list="resolve-services" onInput={set('service')} />
          <datalist id="resolve-services">
            {services.map((s) => (
              <option value={s} />
            ))}
          </datalist>
        </label>
        <label>
          Cause: category
          <input type="text" required value={form.category} list="resolve-categories" onInput={set('category')} />
          <datalist id="resolve-categories">
            {CATEGORY_SUGGESTIONS.map((s) => (
              <option value={s} />
            ))}
          </datalist>
        </label>
        <label>
          Cause: change <span class="muted">(optional, e.g. CR2077)</span>
          <input type="text" value={form.change} onInput={set('change')} />
        </label>
        <label class="wide">
          Cause: what happened
          <textarea required rows={2} value={form.summary} onInput={set('summary')} />
        </label>
        <label class="wide">
          Fix
          <textarea required rows={2} value={form.fix} onInput={set('fix')} />
        </label>
        <label class="wide">
          Comment <span class="muted">(optional)</span>
          <textarea rows={2} value={form.comment} onInput={set('comment')} />
        </label>
        {!auth ? (
          <label>
            Your name <span class="muted">(optional)</span>
            <input type="text" value={form.by} onInput={set('by')} autoComplete="name" />
          </label>
        ) : null}
        <div class="buttons wide">
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Recording…' : 'Record the resolution'}
          </button>
        </div>
      </form>
      <ErrorNotice error={error} />
    </section>
  );
};

const ResolutionRecord = ({ resolution }: { resolution: Record<string, unknown> }) => {
  const cause = obj(resolution.cause);
  return (
    <section class="panel resolution" aria-labelledby="resolution-title">
      <h2 id="resolution-title">Resolution</h2>
      <dl class="facts">
        <Fact label="Cause">{`${str(cause.service)} · ${str(cause.category)}${cause.change ? ` · ${str(cause.change)}` : ''}`}</Fact>
        <Fact label="What happened">{str(cause.summary)}</Fact>
        <Fact label="Fix">{str(resolution.fix)}</Fact>
        {resolution.by ? <Fact label="By">{str(resolution.by)}</Fact> : null}
        {resolution.at ?? resolution.resolvedAt ? <Fact label="At">{time(resolution.at ?? resolution.resolvedAt)}</Fact> : null}
        {resolution.comment ? <Fact label="Comment">{str(resolution.comment)}</Fact> : null}
        {typeof resolution.matched === 'boolean' ? <Fact label="Diagnosis">{resolution.matched ? 'the top hypothesis matched' : 'the top hypothesis did not match'}</Fact> : null}
      </dl>
    </section>
  );
};

interface Row {
  readonly at: string;
  readonly who: string;
  readonly what: string;
  readonly kind: string;
  readonly took?: number;
}

const Timeline = ({ view }: { view: IncidentView }) => {
  const rows: Row[] = [
    ...view.timeline.map((e) => ({ at: e.at, who: str(e.actor) || 'autopilot', what: str(e.message) || e.type, kind: e.type })),
    ...Object.entries(view.agents)
      .filter(([, r]) => typeof r.completedAt === 'string')
      .map(([name, r]) => ({
        at: r.completedAt!,
        who: name,
        what: `${AGENT_TITLES[name] ?? name} finished${r.reasoner ? ` (reasoner: ${r.reasoner})` : ''}${r.toolCalls?.length ? `, ${r.toolCalls.length} tool call${r.toolCalls.length === 1 ? '' : 's'}` : ''}`,
        kind: 'agent',
        took: r.latencyMs,
      })),
  ].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const start = Date.parse(str(view.incident.createdAt)) || (rows[0] ? Date.parse(rows[0].at) : 0);
  return (
    <div class="table-wrap">
      <table class="timeline">
        <ColumnHeads columns={['When', '+', 'Who', 'What', 'Took']} />
        <tbody>
          {rows.map((r) => (
            <tr class={`kind-${r.kind.replace(/[^a-z-]/g, '')}`}>
              <td>
                <time dateTime={r.at}>{time(r.at)}</time>
              </td>
              <td class="num">{duration(Date.parse(r.at) - start)}</td>
              <td>{r.who}</td>
              <td>{r.what}</td>
              <td class="num">{duration(r.took)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
};

const Hypotheses = ({ record }: { record: AgentRecord }) => {
  const output = obj(record.output);
  const causes = arr<Record<string, unknown>>(output.rootCauses);
  if (causes.length === 0) return <p class="empty">{output.abstained ? `The agent abstained: ${str(output.reasoning)}` : 'No hypothesis.'}</p>;
  return (
    <ol class="hypotheses">
      {causes.map((c, i) => (
        <li class={i === 0 ? 'top' : ''}>
          <div class="hypothesis-head">
            <strong>{str(c.summary)}</strong>
            <span class="confidence">{num(c.confidence) !== undefined ? `${Math.round(num(c.confidence)! * 100)} %` : ''}</span>
          </div>
          <div class="muted small">
            {[c.service, c.category, c.changeId].filter(Boolean).map(str).join(' · ')}
          </div>
          <ul class="predictions">
            {arr<Record<string, unknown>>(c.predictions).map((p) => (
              <li class={`prediction ${str(p.result)}`}>
                <span class={`badge result-${str(p.result).replace(/[^a-z-]/g, '')}`}>{str(p.result)}</span> {str(p.statement)} <Citations ids={p.evidenceIds} agent="rootcause" />
              </li>
            ))}
          </ul>
        </li>
      ))}
    </ol>
  );
};

const Plan = ({ record }: { record: AgentRecord }) => {
  const output = obj(record.output);
  const actions = arr<Record<string, unknown>>(output.immediate);
  return (
    <div>
      <p>
        <RiskBadge risk={output.risk} /> <ReversibleBadge reversible={output.reversible} />{' '}
        {output.autoApprove ? <span class="muted">auto-approved by the policy</span> : <span class="muted">needs a human approval</span>}
      </p>
      {output.rationale ? <p>{str(output.rationale)}</p> : null}
      <h3>Immediate actions</h3>
      {actions.length === 0 ? (
        <p class="empty">None.</p>
      ) : (
        <ol>
          {actions.map((a) => (
            <li>
              <RiskBadge risk={a.risk} /> <ReversibleBadge reversible={a.reversible} /> <strong>{str(a.kind)}</strong> {str(a.description)}{' '}
              {obj(a.params).inverse ? <span class="muted">(undo: {str(obj(a.params).inverse)})</span> : null} <Citations ids={a.evidenceIds} agent="plan" />
            </li>
          ))}
        </ol>
      )}
      {arr(output.longTerm).length > 0 ? (
        <>
          <h3>Long term</h3>
          <ul>
            {arr(output.longTerm).map((t) => (
              <li>{str(t)}</li>
            ))}
          </ul>
        </>
      ) : null}
    </div>
  );
};

const AgentOutput = ({ record }: { record: AgentRecord }) => {
  const { agent } = record;
  const headline = headlineOf(agent, record.output);
  const output = agent === 'report' ? { ...obj(record.output), markdown: '(shown under RCA report)' } : record.output;
  return (
    <details class="agent" id={`agent-${agent}`}>
      <summary>
        <h3 id={`agent-${agent}-title`}>
          {AGENT_TITLES[agent] ?? agent}{' '}
          <span class="muted small">
            {[record.completedAt ? time(record.completedAt) : '', duration(record.latencyMs), record.reasoner ? `reasoner: ${record.reasoner}` : '', `${(record.evidence ?? []).length} evidence`].filter(Boolean).join(' · ')}
          </span>
        </h3>
        {headline ? <div class="agent-headline">{headline}</div> : null}
      </summary>
      <Value value={output} agent={agent} depth={0} />
      {record.toolCalls?.length ? (
        <p class="small muted">
          Tools: {record.toolCalls.map((t) => `${t.tool} ${t.ok ? 'ok' : `failed${t.error ? ` (${t.error})` : ''}`}${t.latencyMs !== undefined ? ` ${t.latencyMs} ms` : ''}`).join(' · ')}
        </p>
      ) : null}
      <details class="evidence">
        <summary>Evidence ({(record.evidence ?? []).length})</summary>
        <ol>
          {(record.evidence ?? []).map((e) => (
            <li id={anchorOf(agent, e.id)} tabIndex={-1} class="evidence-item">
              <code>{e.id}</code> <span class="muted small">{[e.kind, e.source].filter(Boolean).join(' · ')}</span>
              <div>{str(e.summary)}</div>
              {e.data !== undefined ? (
                <details>
                  <summary>data</summary>
                  <pre>{JSON.stringify(e.data, null, 2)}</pre>
                </details>
              ) : null}
            </li>
          ))}
        </ol>
      </details>
    </details>
  );
};

/** One line that says what an agent found, shown while its section is folded. */
const headlineOf = (agent: string, output: unknown): string => {
  const o = obj(output);
  const first = (v: unknown) => obj(arr(v)[0]);
  switch (agent) {
    case 'impact':
      return [o.severity, num(o.usersImpacted) !== undefined ? `${num(o.usersImpacted)!.toLocaleString()} users` : '', `${arr(o.anomalies).length} anomalies`, `blast radius ${arr(o.blastRadius).length} services`].filter(Boolean).map(str).join(' · ');
    case 'similar':
      return o.topMatch ? `closest: ${str(o.topMatch)} — ${str(first(o.incidents).title)}` : 'no similar incident';
    case 'logs':
      return `${arr(o.templates).length} templates from ${str(o.totalLines)} lines${o.firstErrorAt ? `, first error ${time(o.firstErrorAt)}` : ''}`;
    case 'triage':
      return str(o.headline);
    case 'rootcause':
      return first(o.rootCauses).summary ? `top: ${str(first(o.rootCauses).summary)}` : o.abstained ? 'abstained' : '';
    case 'plan':
      return `${arr(o.immediate).length} immediate action(s), ${str(o.risk)} risk, ${o.reversible === false ? 'irreversible' : 'reversible'}`;
    case 'execution':
      return arr<Record<string, unknown>>(o.actions).map((a) => `${str(a.kind)} ${str(a.status)}`).join(', ');
    case 'verification':
      return o.recovered === true ? `recovered (check ${str(o.attempt)})` : o.recovered === false ? `not recovered (check ${str(o.attempt)})` : '';
    case 'report':
      return o.outcome ? `outcome: ${str(o.outcome)}` : '';
    default:
      return str(o.reasoning ?? o.summary ?? '').slice(0, 200);
  }
};

const label = (key: string): string => key.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/^./, (c) => c.toUpperCase());

/** Any output as nested definition lists and lists (text only); `evidenceIds` become citation links. */
const Value = ({ value, agent, depth }: { value: unknown; agent: string; depth: number }): preact.JSX.Element | null => {
  if (value === null || value === undefined) return <span class="muted">—</span>;
  if (Array.isArray(value)) {
    if (value.length === 0) return <span class="muted">none</span>;
    if (value.every((v) => typeof v !== 'object' || v === null)) return <span>{value.map(str).join(', ')}</span>;
    return (
      <ol class="value-list">
        {value.map((v) => (
          <li>
            <Value value={v} agent={agent} depth={depth + 1} />
          </li>
        ))}
      </ol>
    );
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([k]) => k !== 'evidenceIds');
    const ids = (value as Record<string, unknown>).evidenceIds;
    if (depth > 4) return <pre>{JSON.stringify(value, null, 2)}</pre>;
    return (
      <div class="value-object">
        <dl>
          {entries.map(([k, v]) => (
            <div>
              <dt>{label(k)}</dt>
              <dd>
                <Value value={v} agent={agent} depth={depth + 1} />
              </dd>
            </div>
          ))}
        </dl>
        <Citations ids={ids} agent={agent} />
      </div>
    );
  }
  return <span>{str(value)}</span>;
};
