/**
 * Small shared pieces: the app's context (API client, sign-in), formatting, status badges and the error notice. Every
 * string from the API is untrusted (alert titles, log lines, agent outputs): it is rendered as text nodes only — JSX
 * children, never markup — and the one place that renders HTML is `Markdown`, which gets DOMPurify's output.
 */
import DOMPurify from 'dompurify';
import { marked } from 'marked';
import { createContext, type ComponentChildren } from 'preact';
import { useContext, useMemo } from 'preact/hooks';
import { type Api, describeError } from './api.ts';
import type { Auth } from './auth.ts';

export interface AppContext {
  readonly api: Api;
  readonly auth: Auth | null;
}
export const App = createContext<AppContext | null>(null);
export const useApp = (): AppContext => {
  const app = useContext(App);
  if (!app) throw new Error('useApp outside <App.Provider>');
  return app;
};

/** Every incident status (functions/core/model.ts IncidentStatus), in the order of the workflow. */
export const STATUSES = ['OPEN', 'INVESTIGATING', 'AWAITING_APPROVAL', 'MITIGATING', 'VERIFYING', 'RESOLVED', 'ESCALATED', 'FAILED'] as const;
export const SEVERITIES = ['SEV1', 'SEV2', 'SEV3', 'SEV4'] as const;
export const TERMINAL = new Set(['RESOLVED', 'ESCALATED', 'FAILED']);

export const str = (value: unknown): string => (value === undefined || value === null ? '' : typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value));
export const num = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);
export const arr = <T = unknown,>(value: unknown): T[] => (Array.isArray(value) ? (value as T[]) : []);
export const obj = (value: unknown): Record<string, unknown> => (value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {});

export const time = (iso: unknown): string => {
  const ms = typeof iso === 'string' ? Date.parse(iso) : NaN;
  if (Number.isNaN(ms)) return str(iso);
  return new Date(ms).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
};

/** "3 min ago" style age (coarse: the list refreshes every few seconds). */
export const age = (iso: unknown, now = Date.now()): string => {
  const ms = typeof iso === 'string' ? now - Date.parse(iso) : NaN;
  if (Number.isNaN(ms)) return '';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
};

/** A duration in ms as "850 ms", "12.3 s", "4 min 05 s". */
export const duration = (ms: number | undefined): string => {
  if (ms === undefined) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
};

export const percent = (rate: number | null | undefined): string => (rate === null || rate === undefined ? '—' : `${Math.round(rate * 100)} %`);

export const StatusBadge = ({ status }: { status: unknown }) => <span class={`badge status-${str(status).toLowerCase().replace(/[^a-z_]/g, '')}`}>{str(status).replace(/_/g, ' ')}</span>;
export const SeverityBadge = ({ severity }: { severity: unknown }) => <span class={`badge sev sev-${str(severity).toLowerCase().replace(/[^a-z0-9]/g, '')}`}>{str(severity)}</span>;
export const RiskBadge = ({ risk }: { risk: unknown }) => <span class={`badge risk-${str(risk).toLowerCase().replace(/[^a-z]/g, '')}`}>{str(risk)} risk</span>;
/** Whether an action (or a plan) can be undone: only an explicit `reversible: false` is irreversible. */
export const ReversibleBadge = ({ reversible }: { reversible: unknown }) =>
  reversible === false ? <span class="badge irreversible">irreversible</span> : <span class="badge reversible">reversible</span>;

/** A table's header row: one column header per name. */
export const ColumnHeads = ({ columns }: { columns: readonly string[] }) => (
  <thead>
    <tr>
      {columns.map((c) => (
        <th scope="col">{c}</th>
      ))}
    </tr>
  </thead>
);

/** A failed request, in the API's words (role=alert: a screen reader announces it). */
export const ErrorNotice = ({ error, children }: { error: unknown; children?: ComponentChildren }) =>
  error ? (
    <div class="notice error" role="alert">
      {describeError(error)}
      {children}
    </div>
  ) : null;

/**
 * Markdown of stored text (the RCA report) → HTML: marked, then DOMPurify with its HTML profile (no script, no event
 * handler, no javascript: URL survives). The report already escapes what it quotes; this is the second wall.
 */
export const Markdown = ({ source, class: className }: { source: string; class?: string }) => {
  const html = useMemo(() => {
    const rendered = marked.parse(source, { async: false, gfm: true });
    return DOMPurify.sanitize(rendered, { USE_PROFILES: { html: true }, FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select'], FORBID_ATTR: ['style'] });
  }, [source]);
  return <div class={className} dangerouslySetInnerHTML={{ __html: html }} />;
};

/** Offers `content` as a file download (export), from memory: nothing is sent anywhere. */
export const download = (filename: string, content: string, type: string): void => {
  const url = URL.createObjectURL(new Blob([content], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
};
