import type { DataSource } from 'typeorm';
import type { SubscriptionChangeSource, SubscriptionState } from '@push/contracts';

export interface UserSubscriptionRow {
  state: SubscriptionState;
  opted_in_at_ms: number | null;
}

export interface HistoryRow {
  from_state: SubscriptionState | null;
  to_state: SubscriptionState;
  source: SubscriptionChangeSource;
  at: Date;
}

/** The HTTP API's reads of the read model, one workspace at a time. */
export class SubscriptionsQueries {
  constructor(private readonly dataSource: DataSource) {}

  /** The user's subscription; undefined for a user the workspace never saw. */
  async user(workspaceId: string, userId: string): Promise<UserSubscriptionRow | undefined> {
    const rows: UserSubscriptionRow[] = await this.dataSource.query(
      `select state, opted_in_at_ms::float8 as opted_in_at_ms from user_subscriptions
       where workspace_id = $1 and user_id = $2 and state is not null`,
      [workspaceId, userId],
    );
    return rows[0];
  }

  /** The user's changes in the order they were applied (S5). */
  history(workspaceId: string, userId: string): Promise<HistoryRow[]> {
    return this.dataSource.query(
      `select from_state, to_state, source, at from subscription_history
       where workspace_id = $1 and user_id = $2 order by id`,
      [workspaceId, userId],
    );
  }
}
