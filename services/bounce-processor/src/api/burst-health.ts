import { Injectable } from '@nestjs/common';
import { Gauge, Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { HealthChecks } from '@push/service-kit';
import { DeliveryQueries } from '../projections/delivery/delivery-queries';

/**
 * B4 on /health and /metrics. A flagged app leaves the service up (200: it works, and pulling it out of a load
 * balancer would stop its reads) but `burst-safety` says `degraded: true` and names each flagged app with its reasons;
 * `bounce_processor_app_flagged` and `bounce_processor_held_bounces` carry the same per app.
 */
@Injectable()
export class BurstHealth {
  constructor(checks: HealthChecks, registry: Registry, dataSource: DataSource) {
    const queries = new DeliveryQueries(dataSource);
    checks.register('burst-safety', async () => {
      const flagged = await queries.flaggedApps();
      return {
        up: true,
        details: {
          degraded: flagged.length > 0,
          flaggedApps: flagged.map((f) => ({ workspace_id: f.workspace_id, app_id: f.app_id, reasons: f.reasons })),
        },
      };
    });
    new Gauge({
      name: 'bounce_processor_app_flagged',
      help: 'B4: 1 while an app is flagged for a burst of a configuration-type reason (its bounces of it are held)',
      labelNames: ['workspace_id', 'app_id', 'reason'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const app of await queries.flaggedApps())
          for (const reason of app.reasons) this.set({ workspace_id: app.workspace_id, app_id: app.app_id, reason }, 1);
      },
    });
    new Gauge({
      name: 'bounce_processor_held_bounces',
      help: 'B4: bounces held for an operator (GET /apps/{app_id}/held-bounces), per app',
      labelNames: ['workspace_id', 'app_id'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const { workspace_id, app_id, count } of await queries.heldCounts())
          this.set({ workspace_id, app_id }, count);
      },
    });
  }
}
