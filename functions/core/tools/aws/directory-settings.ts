/**
 * The service directory's settings (service-directory.ts): which AWS resources, X-Ray names and log groups make up
 * each service. Light on purpose (zod only, no SDK): the adapter table's rows parse these at cold start, so a
 * malformed map fails the function at init with an error naming the service and the field.
 *
 * - `AWS_SERVICE_MAP`: a JSON object, service → `{ xray?, resources?, logGroups?, tags? }` (ServiceMapEntry).
 * - `AWS_SERVICE_MAP_PARAMETER`: instead, the SSM parameter (name or ARN) that holds that JSON; read at run time.
 * - `AWS_SERVICE_TAG_KEY`: the tag key whose value names a resource's service (default `service`).
 */
import * as z from 'zod';
import { ConfigError } from '../../config.ts';
import type { IamNeed } from '../adapters.ts';

export const DIRECTORY_VARIABLES = ['AWS_SERVICE_MAP', 'AWS_SERVICE_MAP_PARAMETER', 'AWS_SERVICE_TAG_KEY'] as const;
export const DEFAULT_SERVICE_TAG_KEY = 'service';

/** The tag keys that say who owns a service (on its resources, or in the map's `tags`). */
export const OWNERSHIP_TAGS = { team: 'team', oncall: 'oncall', runbook: 'runbook', slack: 'slack' } as const;

/** A service map entry or the roster read from SSM failed validation: the message names the key and field. */
export class ServiceMapInvalid extends Error {
  override name = 'ServiceMapInvalid';
}

const ARN = /^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}|aws|):.+$/;
const nonEmpty = z.string().trim().min(1, 'must not be empty');

export const ServiceMapEntry = z
  .object({
    /** X-Ray node names of the service (default: the service name). */
    xray: z.union([nonEmpty, z.array(nonEmpty).min(1, 'must name at least one node')]).optional(),
    /** ARNs of the resources behind the service. */
    resources: z.array(z.string().regex(ARN, 'must be an ARN (arn:<partition>:<service>:<region>:<account>:<resource>)')).optional(),
    /** CloudWatch Logs log group names (default: `/aws/lambda/<function>` for each Lambda function among the resources). */
    logGroups: z.array(z.string().regex(/^[\w\-./#]{1,512}$/, 'must be a log group name')).optional(),
    /** Ownership tags (team, oncall, runbook, slack, …), over those read from the resources. */
    tags: z.record(z.string().min(1).max(128), z.string().max(256)).optional(),
  })
  .strict();
export type ServiceMapEntry = z.infer<typeof ServiceMapEntry>;
export type ServiceMap = Readonly<Record<string, ServiceMapEntry>>;

const ServiceMapSchema = z.record(z.string().trim().min(1, 'a service name must not be empty'), ServiceMapEntry);

/** `AWS_SERVICE_MAP["checkout"].resources[1]` from a zod issue path (the first step is the service). */
export const fieldOf = (source: string, path: readonly PropertyKey[]): string =>
  source + path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? `[${JSON.stringify(String(p))}]` : `.${String(p)}`)).join('');

const describe = (source: string, error: z.ZodError): string =>
  error.issues
    .slice(0, 5)
    .map((i) => `${fieldOf(source, i.path)} ${i.code === 'unrecognized_keys' ? `has unknown field(s) ${(i as { keys: string[] }).keys.join(', ')} (known: xray, resources, logGroups, tags)` : i.message}`)
    .join('; ');

/** Parses a service map's JSON; ServiceMapInvalid naming `source["service"].field` otherwise. */
export const parseServiceMap = (json: string, source: string): ServiceMap => {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new ServiceMapInvalid(`${source} must be a JSON object such as {"checkout": {"resources": ["arn:aws:lambda:eu-west-1:123456789012:function:checkout"]}}`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new ServiceMapInvalid(`${source} must be a JSON object of service → { xray, resources, logGroups, tags }`);
  const parsed = ServiceMapSchema.safeParse(value);
  if (!parsed.success) throw new ServiceMapInvalid(describe(source, parsed.error));
  return parsed.data;
};

/** An SSM parameter as IAM and GetParameter name it: a name (`/autopilot/service-map`, `service-map`) or its ARN. */
const PARAMETER = /^(\/?[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*|arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:parameter\/[A-Za-z0-9_.\-/]+)$/;

/** Checks an SSM parameter variable; a ConfigError naming it otherwise. */
export const checkParameterName = (variable: string, value: string): string => {
  if (value.length > 2048 || !PARAMETER.test(value)) throw new ConfigError(`invalid configuration: ${variable} must be an SSM parameter name (letters, digits, _ . - /, e.g. /autopilot/service-map) or ARN, got ${JSON.stringify(value.slice(0, 100))}`);
  return value;
};

/**
 * The IAM resource of the SSM parameter a variable names: its ARN, or the pattern with `{partition}`, `{region}`
 * and `{account}` (as `aws-api` needs spell them) for a name — `parameter/` then the name without its leading slash.
 */
export const ssmParameterResource = (value: string): string => (value.startsWith('arn:') ? value : `arn:{partition}:ssm:{region}:{account}:parameter/${value.replace(/^\//, '')}`);

export interface DirectorySettings {
  /** The map given inline (AWS_SERVICE_MAP). */
  readonly serviceMap?: ServiceMap;
  /** The SSM parameter holding the map (AWS_SERVICE_MAP_PARAMETER). */
  readonly serviceMapParameter?: string;
  /** The tag key naming a resource's service. */
  readonly tagKey: string;
}

/** Parses the directory's variables (already trimmed, blanks dropped); a ConfigError naming the variable and field. */
export const parseDirectorySettings = (raw: Readonly<Record<string, string | undefined>>): DirectorySettings => {
  const inline = raw.AWS_SERVICE_MAP;
  const parameter = raw.AWS_SERVICE_MAP_PARAMETER;
  if (inline !== undefined && parameter !== undefined) throw new ConfigError('invalid configuration: set AWS_SERVICE_MAP or AWS_SERVICE_MAP_PARAMETER, not both');
  let serviceMap: ServiceMap | undefined;
  if (inline !== undefined) {
    try {
      serviceMap = parseServiceMap(inline, 'AWS_SERVICE_MAP');
    } catch (error) {
      if (error instanceof ServiceMapInvalid) throw new ConfigError(`invalid configuration: ${error.message}`);
      throw error;
    }
  }
  const tagKey = raw.AWS_SERVICE_TAG_KEY ?? DEFAULT_SERVICE_TAG_KEY;
  if (tagKey.length > 128 || tagKey.startsWith('aws:')) throw new ConfigError(`invalid configuration: AWS_SERVICE_TAG_KEY must be a tag key of at most 128 characters, not starting with "aws:", got ${JSON.stringify(tagKey.slice(0, 140))}`);
  return {
    ...(serviceMap ? { serviceMap } : {}),
    ...(parameter !== undefined ? { serviceMapParameter: checkParameterName('AWS_SERVICE_MAP_PARAMETER', parameter) } : {}),
    tagKey,
  };
};

/**
 * What reading the directory needs from IAM (each aws row lists these with its own): the Resource Groups Tagging
 * API, which has no resource-level permissions, and read on the map's parameter when AWS_SERVICE_MAP_PARAMETER names
 * one (a SecureString under the AWS managed key `aws/ssm` needs nothing more; under a customer managed key, also
 * kms:Decrypt on that key).
 */
export const DIRECTORY_IAM: readonly IamNeed[] = [
  { resource: 'aws-api', actions: ['tag:GetResources'], resources: ['*'], why: 'The Resource Groups Tagging API (tag:GetResources) has no resource-level permissions.' },
  { resource: 'ssm-parameter-of-variable', variable: 'AWS_SERVICE_MAP_PARAMETER', actions: ['ssm:GetParameter'] },
];
