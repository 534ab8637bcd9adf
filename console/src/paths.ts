/**
 * Hash routing: `#/incidents`, `#/incidents/<id>`, `#/incidents/<id>/evidence/<anchor>`, `#/demo`. The path part of
 * the URL never changes, so neither CloudFront nor the twin needs rewrites. A citation is a link to an evidence route:
 * a real link (keyboard, middle-click, shareable) that scrolls to the cited item instead of an in-page `#anchor`,
 * which the hash router would take for a route. (No DOM here: the unit tests check the parsing in Node.)
 */
export type Route =
  | { readonly page: 'incidents' }
  | { readonly page: 'incident'; readonly id: string; readonly anchor?: string }
  | { readonly page: 'demo' }
  | { readonly page: 'unknown'; readonly hash: string };

export const parseRoute = (hash: string): Route => {
  const path = hash.replace(/^#/, '');
  if (path === '' || path === '/' || path === '/incidents') return { page: 'incidents' };
  if (path === '/demo') return { page: 'demo' };
  const incident = /^\/incidents\/([^/]+)(?:\/evidence\/(.+))?$/.exec(path);
  if (incident) {
    try {
      const id = decodeURIComponent(incident[1]);
      return incident[2] ? { page: 'incident', id, anchor: decodeURIComponent(incident[2]) } : { page: 'incident', id };
    } catch {
      return { page: 'unknown', hash };
    }
  }
  return { page: 'unknown', hash };
};

export const incidentHref = (id: string): string => `#/incidents/${encodeURIComponent(id)}`;
export const evidenceHref = (incidentId: string, anchor: string): string => `${incidentHref(incidentId)}/evidence/${encodeURIComponent(anchor)}`;
