/**
 * Alert normalisers by source: `POST /alerts/{source}` looks the source up here. Each turns the vendor
 * payload (validated by its own zod schema, errors naming the field) into NormalizedAlerts.
 */
import { unkeepableProblems } from '../keepable-json.ts';
import { AlertSource } from '../model.ts';
import { normalizeAlertmanager } from './alertmanager.ts';
import { normalizeCloudWatch } from './cloudwatch.ts';
import { AlertPayloadInvalid, type NormalizeContext, type NormalizedItem, type Normalizer } from './common.ts';
import { normalizeDatadog } from './datadog.ts';
import { normalizeDynatrace } from './dynatrace.ts';
import { normalizeGeneric } from './generic.ts';

export { AlertPayloadInvalid, type NormalizeContext, type NormalizedItem, type Normalizer } from './common.ts';

export const NORMALIZERS: Readonly<Record<AlertSource, Normalizer>> = {
  dynatrace: normalizeDynatrace,
  alertmanager: normalizeAlertmanager,
  datadog: normalizeDatadog,
  cloudwatch: normalizeCloudWatch,
  generic: normalizeGeneric,
};

export class UnknownAlertSource extends Error {
  override name = 'UnknownAlertSource';
  readonly source: string;
  constructor(source: string) {
    super(`unknown alert source "${source}"; known: ${AlertSource.options.join(', ')}`);
    this.source = source;
  }
}

export const isAlertSource = (source: string): source is AlertSource => (AlertSource.options as readonly string[]).includes(source);

/**
 * Normalises a payload from `source`; throws `UnknownAlertSource` or `AlertPayloadInvalid`. The payload must be one
 * this system can keep (keepable-json.ts): the API checked it when it parsed the body, and this checks it again for
 * any other caller, so nothing unkeepable reaches a normaliser or the store.
 */
export const normalizeAlerts = (source: string, payload: unknown, context: NormalizeContext): NormalizedItem[] => {
  if (!isAlertSource(source)) throw new UnknownAlertSource(source);
  const problems = unkeepableProblems(payload);
  if (problems.length > 0) throw new AlertPayloadInvalid(source, problems);
  return NORMALIZERS[source](payload, context);
};
