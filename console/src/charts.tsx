/**
 * The metric charts of an incident (GET /console/incidents/{id}/signals): one uPlot chart per service and metric, the
 * baseline drawn as a band (low–high), and vertical markers for the onset, the changes, the detection, the approval,
 * the actions and the recovery. Markers are drawn on the canvas (no markup from their labels) and listed as text under
 * each service's charts (a chart says nothing to a screen reader). The uPlot legend writes labels with textContent.
 */
import uPlot from 'uplot';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { usePoll } from './poll.ts';
import { ErrorNotice, str, time, useApp } from './ui.tsx';

export interface Signals {
  readonly window: { readonly from: string; readonly to: string };
  readonly onset: string | null;
  readonly series: readonly SignalSeries[];
  readonly markers: readonly Marker[];
}
export interface SignalSeries {
  readonly service: string;
  readonly metric: string;
  readonly unit?: string;
  readonly points: readonly { readonly t: string; readonly v: number }[];
  readonly baseline?: { readonly low: number; readonly high: number; readonly mean: number };
}
export interface Marker {
  readonly t: string;
  readonly kind: 'onset' | 'change' | 'action' | 'detection' | 'approval' | 'recovered';
  readonly label: string;
  readonly service?: string;
}

/** Marker colours (also the legend under the charts); each is ≥ 3:1 against the white plot. */
export const MARKER_COLORS: Readonly<Record<string, string>> = {
  onset: '#c62828',
  change: '#6a1b9a',
  detection: '#e65100',
  approval: '#1565c0',
  action: '#2e7d32',
  recovered: '#00695c',
};

export const SignalsSection = ({ incidentId, live }: { incidentId: string; live: boolean }) => {
  const { api } = useApp();
  const signals = usePoll((signal) => api.get<Signals>(`/console/incidents/${encodeURIComponent(incidentId)}/signals`, {}, signal), 15_000, [incidentId], live);
  const data = signals.data;
  // Per service, computed once per answer: the charts are redrawn when the signals change, not at every render of the page.
  const groups = useMemo(
    () =>
      [...new Set((data?.series ?? []).map((s) => s.service))].map((service) => ({
        service,
        series: data!.series.filter((s) => s.service === service),
        markers: data!.markers.filter((m) => !m.service || m.service === service),
      })),
    [data],
  );
  if (signals.error) return <ErrorNotice error={signals.error} />;
  if (!data) return <p class="muted">Loading metrics…</p>;
  if (groups.length === 0) return <p class="empty">No metrics were recorded for the services involved.</p>;
  return (
    <div class="signals">
      <p class="muted small">
        {time(data.window.from)} – {time(data.window.to)}
        {data.onset ? ` · onset ${time(data.onset)}` : ''} ·{' '}
        {Object.entries(MARKER_COLORS).map(([kind, color]) => (
          <span class="marker-key">
            <span class="swatch" style={{ background: color }} aria-hidden="true" />
            {kind}{' '}
          </span>
        ))}
        <span class="marker-key">
          <span class="swatch band" aria-hidden="true" />
          baseline
        </span>
      </p>
      {groups.map(({ service, series, markers }, i) => {
        return (
          <details class="service-signals" open={i < 2}>
            <summary>
              {service} <span class="muted">({series.length} metric{series.length === 1 ? '' : 's'})</span>
            </summary>
            <div class="chart-grid">
              {series.map((s) => (
                <Chart series={s} markers={markers} window={data.window} />
              ))}
            </div>
            {markers.length > 0 ? (
              <ul class="markers" aria-label={`Events on ${service}`}>
                {markers.map((m) => (
                  <li>
                    <span class="swatch" style={{ background: MARKER_COLORS[m.kind] ?? '#444' }} aria-hidden="true" />
                    <time dateTime={m.t}>{time(m.t)}</time> {m.kind}: {m.label}
                  </li>
                ))}
              </ul>
            ) : null}
          </details>
        );
      })}
    </div>
  );
};

const seconds = (iso: string): number => Date.parse(iso) / 1000;

/** Draws each marker as a dashed vertical line with its kind at the top. */
const markerPlugin = (markers: readonly Marker[]): uPlot.Plugin => ({
  hooks: {
    draw: [
      (u) => {
        const { ctx } = u;
        const { top, height, left, width } = u.bbox;
        ctx.save();
        // Labels of markers close together go on successive rows instead of over each other.
        let lastX = -Infinity;
        let row = 0;
        for (const m of [...markers].sort((a, b) => Date.parse(a.t) - Date.parse(b.t))) {
          const x = u.valToPos(seconds(m.t), 'x', true);
          if (!Number.isFinite(x) || x < left || x > left + width) continue;
          row = x - lastX < 60 * devicePixelRatio ? (row + 1) % 4 : 0;
          lastX = x;
          ctx.strokeStyle = MARKER_COLORS[m.kind] ?? '#444';
          ctx.fillStyle = ctx.strokeStyle;
          ctx.lineWidth = 2 * devicePixelRatio;
          ctx.setLineDash(m.kind === 'onset' ? [] : [6 * devicePixelRatio, 4 * devicePixelRatio]);
          ctx.beginPath();
          ctx.moveTo(x, top);
          ctx.lineTo(x, top + height);
          ctx.stroke();
          ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
          ctx.fillText(m.kind, x + 3 * devicePixelRatio, top + (12 + row * 13) * devicePixelRatio);
        }
        ctx.restore();
      },
    ],
  },
});

const Chart = ({ series, markers, window: w }: { series: SignalSeries; markers: readonly Marker[]; window: Signals['window'] }) => {
  const host = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const observer = new ResizeObserver(() => setWidth(Math.floor(el.clientWidth)));
    observer.observe(el);
    setWidth(Math.floor(el.clientWidth));
    return () => observer.disconnect();
  }, []);

  useEffect(() => {
    const el = host.current;
    if (!el || width === 0) return;
    const xs = series.points.map((p) => seconds(p.t));
    const ys = series.points.map((p) => (Number.isFinite(p.v) ? p.v : null));
    const b = series.baseline;
    const data: uPlot.AlignedData = b ? [xs, ys, xs.map(() => b.low), xs.map(() => b.high)] : [xs, ys];
    const label = `${series.metric}${series.unit ? ` (${series.unit})` : ''}`;
    const opts: uPlot.Options = {
      title: label,
      width,
      height: 180,
      scales: { x: { time: true, min: seconds(w.from), max: seconds(w.to) } },
      series: [
        {},
        { label: series.metric, stroke: '#0b5394', width: 2 },
        ...(b
          ? [
              { label: 'baseline low', stroke: 'rgba(46,125,50,0.5)', width: 1 },
              { label: 'baseline high', stroke: 'rgba(46,125,50,0.5)', width: 1 },
            ]
          : []),
      ],
      bands: b ? [{ series: [3, 2], fill: 'rgba(46,125,50,0.14)' }] : [],
      axes: [{ stroke: '#333' }, { stroke: '#333', size: 56 }],
      legend: { show: true },
      plugins: [markerPlugin(markers)],
    };
    const chart = new uPlot(opts, data, el);
    return () => chart.destroy();
  }, [series, markers, w.from, w.to, width]);

  return <div class="chart" ref={host} role="img" aria-label={`${series.service} ${series.metric}: ${series.points.length} points${series.baseline ? `, baseline ${str(series.baseline.low)}–${str(series.baseline.high)}` : ''}`} />;
};
