/**
 * The incidents page: counts by status and the production accuracy (GET /console/summary), the list newest first
 * (GET /console/incidents) filtered by status, severity and service on the server, searched by text in the page, and
 * paged by cursor. Polled while the tab is visible: a new incident appears, and a status changes, without reloading.
 * A status count is a button that filters by that status.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { usePoll } from '../poll.ts';
import { incidentHref } from '../route.ts';
import { ColumnHeads, ErrorNotice, SEVERITIES, STATUSES, SeverityBadge, StatusBadge, age, arr, num, obj, percent, str, useApp } from '../ui.tsx';

export type IncidentSummary = Record<string, unknown> & { incidentId: string };
interface Page {
  readonly items: IncidentSummary[];
  readonly cursor: string | null;
}
interface Summary {
  readonly counts: Record<string, number>;
  readonly total: number;
  readonly accuracy?: { graded: number; matched: number; rate: number | null };
}

const POLL_MS = 4000;
const PAGE_SIZE = 25;

interface Filters {
  status: string;
  severity: string;
  service: string;
}

export const IncidentsPage = () => {
  const { api } = useApp();
  const [filters, setFilters] = useState<Filters>({ status: '', severity: '', service: '' });
  const [serviceInput, setServiceInput] = useState('');
  const [search, setSearch] = useState('');
  /** Pages after the first, loaded with "Load more" (the first page is the polled one). */
  const [older, setOlder] = useState<{ items: IncidentSummary[]; cursor: string | null } | null>(null);
  const [olderError, setOlderError] = useState<unknown>(undefined);
  const [loadingMore, setLoadingMore] = useState(false);

  const summary = usePoll((signal) => api.get<Summary>('/console/summary', {}, signal), POLL_MS, []);
  const first = usePoll((signal) => api.get<Page>('/console/incidents', { ...filters, limit: PAGE_SIZE }, signal), POLL_MS, [filters.status, filters.severity, filters.service]);

  /** The "Load more" request in flight: a filter change (or leaving the page) cancels it, so its answer never joins the new list. */
  const more = useRef<AbortController | undefined>(undefined);

  // A filter change starts the list over.
  useEffect(() => {
    setOlder(null);
    setOlderError(undefined);
    setLoadingMore(false);
    return () => more.current?.abort();
  }, [filters.status, filters.severity, filters.service]);

  const items = useMemo(() => {
    const seen = new Set<string>();
    const all: IncidentSummary[] = [];
    for (const item of [...(first.data?.items ?? []), ...(older?.items ?? [])]) {
      if (seen.has(item.incidentId)) continue;
      seen.add(item.incidentId);
      all.push(item);
    }
    const needle = search.trim().toLowerCase();
    if (!needle) return all;
    return all.filter((i) => [i.incidentId, i.title, i.service, i.environment, i.source, i.status, i.severity].some((v) => str(v).toLowerCase().includes(needle)));
  }, [first.data, older, search]);

  const nextCursor = older ? older.cursor : (first.data?.cursor ?? null);

  const loadMore = async () => {
    if (!nextCursor) return;
    const controller = new AbortController();
    more.current = controller;
    setLoadingMore(true);
    setOlderError(undefined);
    try {
      const page = await api.get<Page>('/console/incidents', { ...filters, limit: PAGE_SIZE, cursor: nextCursor }, controller.signal);
      if (!controller.signal.aborted) setOlder((o) => ({ items: [...(o?.items ?? []), ...page.items], cursor: page.cursor }));
    } catch (error) {
      if (!controller.signal.aborted) setOlderError(error);
    } finally {
      if (!controller.signal.aborted) setLoadingMore(false);
    }
  };

  const set = (patch: Partial<Filters>) => setFilters((f) => ({ ...f, ...patch }));

  return (
    <section aria-labelledby="incidents-title">
      <h1 id="incidents-title">Incidents</h1>
      <SummaryBar summary={summary.data} error={summary.error} active={filters.status} onStatus={(status) => set({ status: filters.status === status ? '' : status })} />
      <form
        class="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          set({ service: serviceInput.trim() });
        }}
      >
        <div class="field">
          <label for="filter-status">Status</label>
          <select id="filter-status" value={filters.status} onChange={(e) => set({ status: e.currentTarget.value })}>
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option value={s}>{s.replace(/_/g, ' ').toLowerCase()}</option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="filter-severity">Severity</label>
          <select id="filter-severity" value={filters.severity} onChange={(e) => set({ severity: e.currentTarget.value })}>
            <option value="">any</option>
            {SEVERITIES.map((s) => (
              <option value={s}>{s}</option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="filter-service">Service</label>
          <input id="filter-service" type="text" value={serviceInput} placeholder="e.g. checkout-service" onInput={(e) => setServiceInput(e.currentTarget.value)} onBlur={() => set({ service: serviceInput.trim() })} />
        </div>
        <div class="field">
          <label for="filter-search">Search</label>
          <input id="filter-search" type="search" value={search} placeholder="in the incidents shown" onInput={(e) => setSearch(e.currentTarget.value)} />
        </div>
        <button type="submit">Apply</button>
      </form>
      <ErrorNotice error={first.error} />
      <p class="muted" aria-live="polite">
        {first.loading && !first.data ? 'Loading…' : `${items.length} incident${items.length === 1 ? '' : 's'} shown${search ? ` matching “${search}”` : ''}; updates every ${POLL_MS / 1000} s.`}
      </p>
      <IncidentTable items={items} filtered={Boolean(filters.status || filters.severity || filters.service || search.trim())} />
      <ErrorNotice error={olderError} />
      {nextCursor ? (
        <button type="button" onClick={loadMore} disabled={loadingMore}>
          {loadingMore ? 'Loading…' : 'Load more'}
        </button>
      ) : null}
    </section>
  );
};

const SummaryBar = ({ summary, error, active, onStatus }: { summary: Summary | undefined; error: unknown; active: string; onStatus: (status: string) => void }) => {
  // Counts are a convenience: a failure (an API without the summary route says which route) leaves the list usable.
  if (error) return <ErrorNotice error={error} />;
  if (!summary) return <p class="muted">Loading counts…</p>;
  const accuracy = obj(summary.accuracy);
  return (
    <div class="summary">
      <ul class="counts" aria-label="Incidents by status">
        <li>
          <span class="count">{str(summary.total)}</span> total
        </li>
        {STATUSES.map((s) => (
          <li>
            <button type="button" class={`count-button${active === s ? ' active' : ''}`} aria-pressed={active === s} onClick={() => onStatus(s)}>
              <span class="count">{str(num(summary.counts?.[s]) ?? 0)}</span> <StatusBadge status={s} />
            </button>
          </li>
        ))}
      </ul>
      <p class="accuracy">
        Production accuracy: <strong>{percent(accuracy.rate as number | null | undefined)}</strong>{' '}
        <span class="muted">
          (the top hypothesis matched what people recorded in {str(num(accuracy.matched) ?? 0)} of {str(num(accuracy.graded) ?? 0)} resolved incident{num(accuracy.graded) === 1 ? '' : 's'})
        </span>
      </p>
    </div>
  );
};

export const IncidentTable = ({ items, caption, filtered = false }: { items: IncidentSummary[]; caption?: string; filtered?: boolean }) =>
  items.length === 0 ? (
    <p class="empty">{filtered ? 'No incidents match.' : 'No incidents yet.'}</p>
  ) : (
    <div class="table-wrap">
      <table class="incidents">
        {caption ? <caption>{caption}</caption> : null}
        <ColumnHeads columns={['Status', 'Severity', 'Incident', 'Service', 'Opened']} />
        <tbody>
          {items.map((i) => (
            <tr key={i.incidentId} data-incident={i.incidentId}>
              <td>
                <StatusBadge status={i.status} />
              </td>
              <td>
                <SeverityBadge severity={i.severity} />
              </td>
              <td class="title-cell">
                <a href={incidentHref(i.incidentId)}>{str(i.title) || i.incidentId}</a>
                <div class="muted small">
                  {i.incidentId}
                  {arr(i.alerts).length > 1 || num(i.alertCount)! > 1 ? ` · ${str(i.alertCount)} alerts` : ''}
                  {i.source ? ` · ${str(i.source)}` : ''}
                </div>
              </td>
              <td>{str(i.service)}</td>
              <td>
                <time dateTime={str(i.createdAt)} title={str(i.createdAt)}>
                  {age(i.createdAt)}
                </time>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
