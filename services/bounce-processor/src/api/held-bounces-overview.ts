import type { DataSource } from 'typeorm';
import { DeliveryQueries } from '../projections/delivery/delivery-queries';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * `GET /held-bounces`: every app of the workspace an operator has to look at — flagged now (B4) or with bounces held
 * from an earlier burst — each with its held bounces, so that the console's operations page needs one call.
 */
export async function heldBouncesOverview(dataSource: DataSource, workspaceId: string) {
  const queries = new DeliveryQueries(dataSource);
  const held: { app_id: string }[] = await dataSource.query(
    `select distinct app_id from waiting_bounces where workspace_id = $1 and state = 'held'`,
    [workspaceId],
  );
  const flagged = await queries.flaggedApps(workspaceId);
  const appIds = [...new Set([...held.map((h) => h.app_id), ...flagged.map((f) => f.app_id)])].sort();
  const apps = await Promise.all(
    appIds.map(async (appId) => {
      const summary = await queries.held(workspaceId, appId);
      const flag = flagged.find((f) => f.app_id === appId);
      return {
        app_id: appId,
        count: summary.count,
        first_at: iso(summary.first_at_ms),
        last_at: iso(summary.last_at_ms),
        reasons: summary.reasons,
        flagged: flag !== undefined,
        flagged_reasons: flag?.reasons ?? [],
      };
    }),
  );
  return { apps };
}
