import { Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { Topics } from '@push/contracts';
import { ServiceEventBus, WorkspaceId } from '@push/service-kit';
import type { OperatorCommand } from '../domain/bounce-processor';
import { applyOperatorCommand } from '../projections/delivery/delivery-store';
import { DeliveryQueries } from '../projections/delivery/delivery-queries';
import { toOutgoing } from '../projections/delivery/delivery.projection';
import { id, idParam } from './delivery.controller';
import { heldBouncesOverview } from './held-bounces-overview';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** B4's operator endpoints: an app's held bounces, released (applied as B3) or discarded. */
@ApiTags('burst safety (B4)')
@Controller()
export class HeldBouncesController {
  private readonly queries: DeliveryQueries;

  constructor(
    private readonly dataSource: DataSource,
    private readonly bus: ServiceEventBus,
  ) {
    this.queries = new DeliveryQueries(dataSource);
  }

  @Get('held-bounces')
  @ApiOperation({
    summary:
      'Every app of the workspace flagged now (B4) or with held bounces, each with its held bounces as GET /apps/{app_id}/held-bounces answers them',
  })
  @ApiOkResponse({ description: '`{apps: [...]}`, app ids in order; empty when nothing is flagged or held' })
  overview(@WorkspaceId() workspaceId: string) {
    return heldBouncesOverview(this.dataSource, workspaceId);
  }

  @Get('apps/:app_id/held-bounces')
  @ApiOperation({ summary: "The app's held bounces: count, first and last, reasons; and whether it is flagged now" })
  @idParam('app_id')
  @ApiOkResponse({ description: 'the held bounces (count 0 when none)' })
  @ApiBadRequestResponse({ description: 'an id that cannot exist (blank, a NUL character, too long)' })
  async held(@WorkspaceId() workspaceId: string, @Param('app_id', id) appId: string) {
    const [summary, flagged] = await Promise.all([
      this.queries.held(workspaceId, appId),
      this.queries.flaggedApps(workspaceId),
    ]);
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
  }

  @Post('apps/:app_id/held-bounces/release')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'The credentials were right after all: apply the held bounces as B3 (tokens invalidated), except on devices that have had a newer outcome or registration since',
  })
  @idParam('app_id')
  async release(@WorkspaceId() workspaceId: string, @Param('app_id', id) appId: string) {
    const { bounces, events } = await this.run({
      type: 'ReleaseHeldBounces',
      data: { workspace_id: workspaceId, app_id: appId },
    });
    return {
      app_id: appId,
      released: bounces,
      tokens_invalidated: events.filter((e) => e.type === 'TokenInvalidated').length,
    };
  }

  @Post('apps/:app_id/held-bounces/discard')
  @HttpCode(200)
  @ApiOperation({ summary: 'Forget the held bounces: no token is invalidated' })
  @idParam('app_id')
  async discard(@WorkspaceId() workspaceId: string, @Param('app_id', id) appId: string) {
    const { bounces } = await this.run({
      type: 'DiscardHeldBounces',
      data: { workspace_id: workspaceId, app_id: appId },
    });
    return { app_id: appId, discarded: bounces };
  }

  /**
   * In one transaction: the held rows are locked and deleted, the devices updated, and the decisions published before
   * the commit. A failed commit after a publish leaves the rows held: a second release publishes the same event ids
   * again, which consumers drop (T9); a failed publish rolls everything back.
   */
  private run(command: OperatorCommand) {
    return this.dataSource.transaction(async (tx) => {
      const applied = await applyOperatorCommand(tx, command);
      if (applied.events.length) await this.bus.producer.publish(Topics.DeviceDelivery, toOutgoing(applied.events));
      return applied;
    });
  }
}
