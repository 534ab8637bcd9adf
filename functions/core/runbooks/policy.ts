/**
 * The approval policy: a plan runs without a human only when EVERY action is low risk AND reversible AND
 * the operator allows it (config `AUTO_APPROVE_LOW_RISK`). Everything else waits for an approval.
 */
import type { MitigationAction, RiskLevel } from '../model.ts';

export interface ApprovalPolicy {
  /** `AUTO_APPROVE_LOW_RISK`: allow low-risk, reversible plans to run unattended. */
  readonly autoApproveLowRisk: boolean;
}

export const DEFAULT_POLICY: ApprovalPolicy = { autoApproveLowRisk: true };

const ORDER: Readonly<Record<RiskLevel, number>> = { low: 0, medium: 1, high: 2 };

/** The highest risk among `levels` (low for none). */
export const maxRisk = (levels: readonly RiskLevel[]): RiskLevel => levels.reduce<RiskLevel>((m, r) => (ORDER[r] > ORDER[m] ? r : m), 'low');

export interface PolicyDecision {
  readonly risk: RiskLevel;
  readonly reversible: boolean;
  readonly autoApprove: boolean;
  /** Why (each reason that blocks auto-approval, or why it is allowed). */
  readonly reasons: readonly string[];
}

export const decide = (actions: readonly MitigationAction[], policy: ApprovalPolicy = DEFAULT_POLICY): PolicyDecision => {
  const risk = maxRisk(actions.map((a) => a.risk));
  const reversible = actions.every((a) => a.reversible);
  const reasons: string[] = [];
  if (actions.length === 0) reasons.push('no action to approve');
  for (const a of actions) {
    if (a.risk !== 'low') reasons.push(`${a.kind} on ${a.service} is ${a.risk} risk`);
    if (!a.reversible) reasons.push(`${a.kind} on ${a.service} cannot be undone`);
  }
  if (!policy.autoApproveLowRisk) reasons.push('the policy requires a human for every plan (AUTO_APPROVE_LOW_RISK=false)');
  const autoApprove = reasons.length === 0;
  return { risk, reversible, autoApprove, reasons: autoApprove ? ['every action is low risk and reversible, and the policy allows auto-approval'] : reasons };
};
