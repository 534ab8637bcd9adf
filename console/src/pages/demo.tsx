/**
 * The demo page (twin and demo deployments): inject one of the five fault presets into the live simulated world
 * (POST /admin/faults), end an active fault (DELETE /admin/faults/{id}), and watch the newest incidents, so the loop is
 * visible on one page: inject → the detector opens an incident → follow it.
 */
import { useState } from 'preact/hooks';
import { usePoll } from '../poll.ts';
import { ErrorNotice, age, str, time, useApp } from '../ui.tsx';
import { IncidentTable, type IncidentSummary } from './incidents.tsx';

interface Faults {
  readonly world: string;
  readonly services: string[];
  readonly presets: { name: string; title: string; description: string }[];
  readonly faults: { id: string; kind: string; service: string; startsAt: string; endsAt?: string; active: boolean; preset?: string }[];
}

export const DemoPage = () => {
  const { api } = useApp();
  const faults = usePoll((signal) => api.get<Faults>('/admin/faults', {}, signal), 5000, []);
  const newest = usePoll((signal) => api.get<{ items: IncidentSummary[] }>('/console/incidents', { limit: 5 }, signal), 4000, []);
  const [service, setService] = useState('');
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const [note, setNote] = useState<string | null>(null);

  const data = faults.data;

  /** One change to the world at a time: `key` marks the busy button; `change` makes it and says what happened. */
  const act = async (key: string, change: () => Promise<string>) => {
    setBusy(key);
    setError(undefined);
    setNote(null);
    try {
      setNote(await change());
      faults.reload();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  };

  // '' is each preset's own choice of service (the database for a slow database, a provider for a dependency down).
  const inject = (preset: string) =>
    act(preset, async () => {
      const made = await api.post<{ id: string; service: string; startsAt: string }>('/admin/faults', { preset, ...(service ? { service } : {}) });
      return `Injected ${preset} into ${made.service} at ${time(made.startsAt)}. The detector opens an incident once the anomaly has lasted three one-minute points (two to four minutes).`;
    });

  const end = (fault: Faults['faults'][number]) =>
    act(fault.id, async () => {
      await api.delete(`/admin/faults/${encodeURIComponent(fault.id)}`);
      return `Ended ${fault.preset ?? fault.kind} on ${fault.service}: the world recovers from now on.`;
    });

  const active = data?.faults.filter((f) => f.active) ?? [];

  return (
    <section aria-labelledby="demo-title">
      <h1 id="demo-title">Demo: break the live world</h1>
      <p>
        Pick a service and a fault. The fault starts now in the simulated world <code>{data?.world ?? 'live'}</code>; the detector reads its metrics every minute and opens an incident
        on its own — no alert sent by hand.
      </p>
      <ErrorNotice error={faults.error} />
      {data ? (
        <>
          <div class="field inline">
            <label for="demo-service">Service</label>
            <select id="demo-service" value={service} onChange={(e) => setService(e.currentTarget.value)}>
              <option value="">each fault's usual service</option>
              {data.services.map((s) => (
                <option value={s}>{s}</option>
              ))}
            </select>
          </div>
          <ul class="presets">
            {data.presets.map((p) => (
              <li class="preset">
                <h2>{p.title}</h2>
                <p>{p.description}</p>
                <button type="button" class="primary" disabled={busy !== null} onClick={() => void inject(p.name)} aria-label={`Inject ${p.title} into ${service || 'its usual service'}`}>
                  {busy === p.name ? 'Injecting…' : 'Inject'}
                </button>
              </li>
            ))}
          </ul>
        </>
      ) : faults.error ? null : (
        <p class="muted">Loading the fault presets…</p>
      )}
      {note ? (
        <p class="notice ok" role="status">
          {note}
        </p>
      ) : null}
      <ErrorNotice error={error} />
      <section class="panel" aria-labelledby="active-title">
        <h2 id="active-title">Active faults</h2>
        {!data ? (
          <p class="muted">{faults.error ? 'Unknown: the faults could not be read (above).' : 'Loading…'}</p>
        ) : active.length === 0 ? (
          <p class="empty">None: the world is healthy.</p>
        ) : (
          <ul class="faults">
            {active.map((f) => (
              <li>
                <strong>{str(f.preset ?? f.kind)}</strong> on {f.service} since <time dateTime={f.startsAt}>{age(f.startsAt)}</time>{' '}
                <button type="button" disabled={busy !== null} onClick={() => void end(f)} aria-label={`End ${str(f.preset ?? f.kind)} on ${f.service}`}>
                  {busy === f.id ? 'Ending…' : 'End'}
                </button>
              </li>
            ))}
          </ul>
        )}
      </section>
      <section class="panel" aria-labelledby="newest-title">
        <h2 id="newest-title">Newest incidents</h2>
        <ErrorNotice error={newest.error} />
        <IncidentTable items={newest.data?.items ?? []} caption="The five newest incidents, updated every few seconds" />
        <p>
          <a href="#/incidents">All incidents →</a>
        </p>
      </section>
    </section>
  );
};
