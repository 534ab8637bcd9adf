/**
 * The restart check of the twin (`autopilot serve`): executions live in memory, so an incident that was in flight
 * when the twin stopped has no execution any more — and an incident whose opening delivery died before starting its
 * workflow, with no alert since, never had one. Both are "interrupted": a non-terminal status and no live execution.
 * Every one is found, however many there are: each non-terminal status is listed page after page with the list API's
 * cursor (the newest 100 of all incidents, as before, missed older ones).
 */
import { NON_TERMINAL_STATUSES } from '../../functions/core/model.ts';

/** One page of `GET /incidents` (the shape `ApiClient.listIncidents` returns). */
export type ListPage = (query: { status: string; limit: number; cursor?: string }) => Promise<{ items: Record<string, unknown>[]; cursor?: string }>;

/** Page size of the walk (the API's maximum). */
export const INTERRUPTED_PAGE_SIZE = 100;

/** Every non-terminal incident without a live execution (`hasExecution` says whether an ARN runs now), newest first per status. */
export const findInterruptedIncidents = async (list: ListPage, hasExecution: (executionArn: string) => boolean): Promise<Record<string, unknown>[]> => {
  const interrupted: Record<string, unknown>[] = [];
  for (const status of NON_TERMINAL_STATUSES) {
    let cursor: string | undefined;
    do {
      const page = await list({ status, limit: INTERRUPTED_PAGE_SIZE, ...(cursor ? { cursor } : {}) });
      for (const incident of page.items) {
        const arn = incident.executionArn;
        if (!(typeof arn === 'string' && arn.length > 0 && hasExecution(arn))) interrupted.push(incident);
      }
      cursor = page.cursor;
    } while (cursor);
  }
  return interrupted;
};
