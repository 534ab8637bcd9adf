/**
 * The metric-only origin ranking (propagation.ts) as the impact agent keeps it and the root-cause agent reads it:
 * its confidence formula, the evidence items (`origins:<alert>` and one per ranked node) and their schema.
 */
import * as z from 'zod';
import type { Evidence } from '../model.ts';
import { latencyStrength, type OriginAnalysis, type RankedOrigin } from './propagation.ts';

/**
 * Confidence that a node ranked by the flow is the root cause (documented, calibrated on the injection check
 * bench/rca-injection.ts and the PetShop train cases):
 *
 *     below the alerting service:  0.55 + 0.35 × share      (0.55 … 0.90)
 *     the alerting service itself: 0.15 + 0.15 × share      (0.15 … 0.30)
 *
 * `share` is the node's own share of the alert's degradation (the ranking key). Metrics alone blame a node below
 * the alert rightly about nine times in ten when it holds most of the degradation, less when the share is split.
 * When nothing below explains the alerting service, the alert is either its own fault or one the metrics cannot
 * see (calls lost on the way, a dependency without telemetry): metrics alone cannot tell, so that stays well
 * below the abstention line. The second node's confidence uses the same formula: the numbers are per
 * hypothesis, not a distribution.
 */
export const originConfidence = (origin: Pick<RankedOrigin, 'score' | 'depth'>): number => {
  const share = Math.min(1, Math.max(0, origin.score));
  const c = origin.depth === 0 ? 0.15 + 0.15 * share : 0.55 + 0.35 * share;
  return Math.round(c * 1000) / 1000;
};

/** How many ranked nodes the evidence keeps. */
export const ORIGINS_KEPT = 10;

const Strongest = z.object({ family: z.enum(['latency', 'errors', 'traffic']), metric: z.string(), baseline: z.number(), level: z.number(), z: z.number(), p: z.number() });
/** The ranking as the impact agent keeps it (`origins:<service>` evidence), and the root-cause agent reads it back. */
export const OriginEvidence = z.object({
  alertService: z.string(),
  familyWeights: z.object({ latency: z.number(), errors: z.number() }),
  walked: z.number().int().nonnegative(),
  withoutData: z.number().int().nonnegative(),
  /** The alerting service's own strongest degradation: no anomaly there and nowhere below means nothing to explain. */
  alertStrength: z.number().min(0).max(1),
  ranked: z.array(
    z.object({
      service: z.string(),
      score: z.number(),
      depth: z.number().int().nonnegative(),
      tier: z.string().optional(),
      strongest: Strongest.optional(),
      explainedBy: z.array(z.string()),
    }),
  ),
});
export type OriginEvidence = z.infer<typeof OriginEvidence>;

export const originsEvidenceId = (service: string): string => `origins:${service}`;
/** One ranked node's own evidence item (`origins:<alert>#<rank>`). */
export const rankedEvidenceId = (service: string, rank: number): string => `${originsEvidenceId(service)}#${rank}`;

const fmt = (x: number): string => (Math.abs(x) >= 100 ? String(Math.round(x)) : String(Math.round(x * 100) / 100));

type RankedEntry = OriginEvidence['ranked'][number];

/**
 * The evidence items for a ranking (see `OriginEvidence`): `origins:<alert>` with the summary and what concerns the
 * whole ranking, and one small item per ranked node (`origins:<alert>#1`, `#2`, …). Small items, because an agent
 * record that outgrows its store trims the largest evidence data first, and a map of hundreds of series must not
 * cost the ranking its place.
 */
export const toOriginEvidence = (a: OriginAnalysis, tiers: ReadonlyMap<string, string> = new Map()): Evidence[] => {
  const ranked = a.ranked.filter((r) => r.score > 0).slice(0, ORIGINS_KEPT);
  const alert = a.signals.get(a.alertService);
  const head = ranked
    .slice(0, 3)
    .map((r) => `${r.service} (${Math.round(r.score * 100)} %${r.strongest ? `, ${r.strongest.metric} ${fmt(r.strongest.baseline)} → ${fmt(r.strongest.level)}` : ''})`)
    .join(', ');
  const header: Omit<OriginEvidence, 'ranked'> & { readonly ranked: number } = {
    alertService: a.alertService,
    familyWeights: a.familyWeights,
    walked: a.walked,
    withoutData: a.withoutData.length,
    alertStrength: Math.max(latencyStrength(alert), alert?.errors?.p ?? 0),
    ranked: ranked.length,
  };
  return [
    {
      id: originsEvidenceId(a.alertService),
      kind: 'metric',
      source: 'telemetry',
      summary: `Where ${a.alertService}'s degradation starts, traced down the call graph over ${a.walked} services: ${head || 'nowhere (nothing degraded)'}`,
      data: header,
    },
    ...ranked.map((r, i): Evidence => {
      const entry: RankedEntry = { ...r, ...(tiers.get(r.service) ? { tier: tiers.get(r.service) } : {}), explainedBy: [...r.explainedBy] };
      return {
        id: rankedEvidenceId(a.alertService, i + 1),
        kind: 'metric',
        source: 'telemetry',
        summary: `${i + 1}. ${r.service}: ${Math.round(r.score * 100)} % of ${a.alertService}'s degradation, ${r.depth} hop(s) below it${r.explainedBy.length ? `, partly explained by ${r.explainedBy.join(', ')}` : ''}`,
        data: entry,
      };
    }),
  ];
};

/** The ranking kept by the impact agent, if its evidence holds a well-formed one for `service`. */
export const readOriginEvidence = (evidence: readonly { readonly id: string; readonly data?: unknown }[], service: string): OriginEvidence | undefined => {
  const byId = new Map(evidence.map((e) => [e.id, e.data]));
  const header = z.object({ ranked: z.number().int().nonnegative() }).passthrough().safeParse(byId.get(originsEvidenceId(service)));
  if (!header.success) return undefined;
  const ranked = Array.from({ length: header.data.ranked }, (_, i) => byId.get(rankedEvidenceId(service, i + 1)));
  const parsed = OriginEvidence.safeParse({ ...header.data, ranked });
  return parsed.success ? parsed.data : undefined;
};
