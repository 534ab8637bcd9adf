/**
 * Configuration, parsed once per cold start from `process.env` by one zod schema. A missing or malformed
 * variable fails the function at init with its name, never deep inside a request.
 */
import * as z from 'zod';

const bool = z.enum(['true', 'false']).transform((v) => v === 'true');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const Config = z.object({
  TABLE_NAME: z.string().min(1),
  EVENT_BUS_NAME: z.string().min(1).default('default'),
  /** ARN of the incident workflow (ingest and rerun start it). */
  STATE_MACHINE_ARN: z.string().optional(),
  /** Secrets Manager id of the webhook/approval shared secret. */
  WEBHOOK_SECRET_ID: z.string().optional(),
  /** Retool workflow webhook (`https://api.retool.com/v1/workflows/{id}/startTrigger`); unset → approve via API/CLI. */
  RETOOL_WORKFLOW_URL: z.url().optional(),
  RETOOL_API_KEY_SECRET_ID: z.string().optional(),
  /** Public base URL of the API, sent to approvers. */
  API_BASE_URL: z.string().optional(),
  /** Reports are always kept in DynamoDB; when set, also written as `<id>.md` under this directory. */
  REPORT_DIR: z.string().optional(),
  VERIFY_WAIT_SECONDS: int(0, 86_400).default(120),
  MAX_VERIFY_CHECKS: int(1, 20).default(5),
  /** Auto-approve low-risk reversible plans (the policy). */
  AUTO_APPROVE_LOW_RISK: bool.default(true),
  DEDUP_TTL_HOURS: int(1, 24 * 90).default(72),
  /**
   * A new alert for the same environment and service as an open incident's latest alert, at most this many
   * seconds later, joins that incident instead of opening one (0 turns correlation off).
   */
  CORRELATION_WINDOW_SECONDS: int(0, 86_400).default(300),
  MAX_BODY_BYTES: int(1024, 10 * 1024 * 1024).default(256 * 1024),
});
export type Config = z.infer<typeof Config>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const loadConfig = (env: NodeJS.ProcessEnv = process.env): Config => {
  // Blank counts as unset, as for `envValue` below: `CORRELATION_WINDOW_SECONDS=""` means the default (300),
  // not 0 (`z.coerce.number()` reads "" as 0, which would silently turn correlation off), and
  // `RETOOL_WORKFLOW_URL=""` means "no Retool" rather than an invalid URL.
  const set = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ''));
  const parsed = Config.safeParse(set);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${problems}`);
  }
  return parsed.data;
};

/** Environment variables as optional adapters read them (vendor tools, action adapters). */
export type Env = Readonly<Record<string, string | undefined>>;

/** A variable's trimmed value; blank counts as unset. */
export const envValue = (env: Env, name: string): string | undefined => {
  const v = env[name]?.trim();
  return v ? v : undefined;
};

/** An optional integer variable within [min, max]; a ConfigError naming it otherwise. */
export const envInt = (env: Env, name: string, min: number, max: number): number | undefined => {
  const v = envValue(env, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`invalid configuration: ${name} must be an integer between ${min} and ${max}, got "${v}"`);
  return n;
};
