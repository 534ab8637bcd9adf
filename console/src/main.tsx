/**
 * The operator's console: reads `/config.json`, signs in when the deployment has sign-in (Cognito managed login, PKCE),
 * then renders the page of the hash route. Pages: incidents (`#/incidents`), one incident (`#/incidents/<id>`), demo
 * (`#/demo`).
 */
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { render } from 'preact';
import { useEffect } from 'preact/hooks';
import { Api } from './api.ts';
import { Auth } from './auth.ts';
import { loadConfig } from './config.ts';
import { DemoPage } from './pages/demo.tsx';
import { IncidentPage } from './pages/incident.tsx';
import { IncidentsPage } from './pages/incidents.tsx';
import { type Route, useRoute } from './route.ts';
import { App, type AppContext, useApp } from './ui.tsx';

const TITLES: Record<Route['page'], string> = { incidents: 'Incidents', incident: 'Incident', demo: 'Demo', unknown: 'Not found' };

const Shell = () => {
  const route = useRoute();
  const { api, auth } = useApp();
  useEffect(() => {
    document.title = `${route.page === 'incident' ? route.id : TITLES[route.page]} · Incident Autopilot`;
    // A new page: focus its heading's region for keyboard and screen-reader users (not for a citation, which focuses its item).
    if (route.page !== 'incident' || !route.anchor) document.getElementById('content')?.focus({ preventScroll: true });
  }, [route.page, route.page === 'incident' ? route.id : '']);
  const user = auth?.user();
  return (
    <>
      <a class="skip" href="#content" onClick={(e) => { e.preventDefault(); document.getElementById('content')?.focus(); }}>
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="#/incidents">
          Incident Autopilot
        </a>
        <nav aria-label="Pages">
          <a href="#/incidents" aria-current={route.page === 'incidents' || route.page === 'incident' ? 'page' : undefined}>
            Incidents
          </a>
          <a href="#/demo" aria-current={route.page === 'demo' ? 'page' : undefined}>
            Demo
          </a>
          {/* On AWS the API description is IAM-authorized (SigV4): a browser cannot open it, so the link is the twin's only. */}
          {!auth ? (
            <a href={api.url('/docs')} target="_blank" rel="noopener noreferrer">
              API docs
            </a>
          ) : null}
        </nav>
        {auth ? (
          <div class="user">
            {user ? <span>{user}</span> : null}
            <button type="button" onClick={() => auth.signOut()}>
              Sign out
            </button>
          </div>
        ) : null}
      </header>
      <main id="content" tabIndex={-1}>
        {route.page === 'incidents' ? <IncidentsPage /> : null}
        {route.page === 'incident' ? <IncidentPage key={route.id} id={route.id} anchor={route.anchor} /> : null}
        {route.page === 'demo' ? <DemoPage /> : null}
        {route.page === 'unknown' ? (
          <p class="notice error" role="alert">
            No page at {route.hash}. <a href="#/incidents">Go to the incidents</a>.
          </p>
        ) : null}
      </main>
    </>
  );
};

const start = async () => {
  const root = document.getElementById('app')!;
  try {
    const config = await loadConfig();
    const auth = config.auth ? new Auth(config.auth) : null;
    if (auth && !(await auth.ensureSignedIn())) return; // on the way to the managed login
    const context: AppContext = { api: new Api(config.apiBase, auth), auth };
    if (!location.hash) history.replaceState(null, '', '#/incidents');
    root.textContent = ''; // the loading note (preact renders next to what the element holds)
    render(
      <App.Provider value={context}>
        <Shell />
      </App.Provider>,
      root,
    );
  } catch (error) {
    root.textContent = '';
    const p = document.createElement('p');
    p.className = 'notice error';
    p.setAttribute('role', 'alert');
    p.textContent = `The console could not start: ${error instanceof Error ? error.message : String(error)}`;
    root.append(p);
  }
};

void start();
