/** The current hash route (paths.ts), updated on every hash change. */
import { useEffect, useState } from 'preact/hooks';
import { type Route, parseRoute } from './paths.ts';

export { type Route, evidenceHref, incidentHref, parseRoute } from './paths.ts';

export const useRoute = (): Route => {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
};
