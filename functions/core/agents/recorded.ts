/**
 * Reading back the tool data an earlier agent kept in its evidence. Evidence `data` is free-form JSON, so a later
 * agent checks the shape before relying on it: the root-cause agent keeps every topology node and change request
 * whole (`topology:<service>`, `change:<id>`), while the investigation agents' `topology:` items hold a summary
 * of a neighbourhood (callers, callees) that is not a node.
 */
import type { ChangeRequest, ServiceNode } from '../tools/ports.ts';

/** What is read of an evidence item (typed loosely: records come back from the store as JSON). */
type Recorded = readonly { readonly kind: string; readonly data?: unknown }[];

const isObject = (d: unknown): d is Record<string, unknown> => !!d && typeof d === 'object';

export const isServiceNode = (d: unknown): d is ServiceNode => isObject(d) && typeof d.name === 'string' && Array.isArray(d.calls);

export const isChangeRequest = (d: unknown): d is ChangeRequest =>
  isObject(d) && typeof d.id === 'string' && typeof d.service === 'string' && typeof d.deployedAt === 'string' && typeof d.state === 'string';

/** The topology nodes recorded whole in `evidence`. */
export const recordedNodes = (evidence: Recorded): ServiceNode[] =>
  evidence.flatMap((e) => (e.kind === 'topology' && isServiceNode(e.data) ? [e.data] : []));

/** The change requests recorded whole in `evidence`. */
export const recordedChanges = (evidence: Recorded): ChangeRequest[] =>
  evidence.flatMap((e) => (e.kind === 'change' && isChangeRequest(e.data) ? [e.data] : []));
