/**
 * What the console is told by where it is served (`/config.json`): the API's base URL and, on AWS, the Cognito managed
 * login to sign in with. The twin answers `{ apiBase: '', auth: null }` (same origin, no sign-in: loopback only); the
 * stack writes the deployed API's URL and the user pool client. Checked by hand (no zod in the browser bundle): a
 * malformed file names its field instead of failing later as an odd fetch error.
 */
export interface AuthConfig {
  /** The managed login's https origin, e.g. https://autopilot-123.auth.eu-west-1.amazoncognito.com */
  readonly domain: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
}

export interface ConsoleConfig {
  /** Prefix of every API request ('' = the console's own origin). */
  readonly apiBase: string;
  readonly auth: AuthConfig | null;
}

export class ConfigInvalid extends Error {
  override name = 'ConfigInvalid';
}

export const parseConfig = (value: unknown): ConsoleConfig => {
  if (!value || typeof value !== 'object') throw new ConfigInvalid('/config.json: expected an object {apiBase, auth}');
  const { apiBase, auth } = value as Record<string, unknown>;
  if (typeof apiBase !== 'string') throw new ConfigInvalid('/config.json: apiBase must be a string ("" for the same origin)');
  if (apiBase !== '' && !/^https?:\/\/[^\s]+$/.test(apiBase)) throw new ConfigInvalid(`/config.json: apiBase must be an http(s) URL or "", got ${JSON.stringify(apiBase)}`);
  if (auth === null || auth === undefined) return { apiBase: apiBase.replace(/\/+$/, ''), auth: null };
  if (typeof auth !== 'object') throw new ConfigInvalid('/config.json: auth must be an object or null');
  const { domain, clientId, scopes } = auth as Record<string, unknown>;
  // https, but for a loopback stand-in of the managed login (the browser tests').
  if (typeof domain !== 'string' || !/^(?:https:\/\/[^\s/]+|http:\/\/(?:127\.0\.0\.1|localhost)(?::\d+)?)\/?$/.test(domain)) throw new ConfigInvalid('/config.json: auth.domain must be the https origin of the managed login');
  if (typeof clientId !== 'string' || clientId === '') throw new ConfigInvalid('/config.json: auth.clientId must be a non-empty string');
  if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string')) throw new ConfigInvalid('/config.json: auth.scopes must be a list of strings');
  return { apiBase: apiBase.replace(/\/+$/, ''), auth: { domain: domain.replace(/\/+$/, ''), clientId, scopes } };
};

export const loadConfig = async (): Promise<ConsoleConfig> => {
  const response = await fetch('/config.json', { cache: 'no-store' });
  if (!response.ok) throw new ConfigInvalid(`/config.json answered ${response.status}: the console cannot tell where its API is`);
  let value: unknown;
  try {
    value = await response.json();
  } catch {
    throw new ConfigInvalid('/config.json is not valid JSON');
  }
  return parseConfig(value);
};
