import { Controller, Get, NotFoundException, Param } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { ExactIdPipe, WorkspaceId } from '@push/service-kit';
import { MAX_ID_BYTES } from '../domain/validation';
import { DeliveryQueries } from '../projections/delivery/delivery-queries';

export const id = new ExactIdPipe(MAX_ID_BYTES);
export const idParam = (name: string) =>
  ApiParam({
    name,
    description: `exact id, as the outcome named it (not trimmed); 1 to ${MAX_ID_BYTES} bytes of UTF-8`,
  });
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

const DELIVERY_SCHEMA = {
  type: 'object',
  properties: {
    last_status: { type: 'string', enum: ['unused', 'sent', 'bounced', 'suppressed'] },
    consecutive_bounces: { type: 'integer' },
    last_outcome_at: { type: 'string', format: 'date-time', nullable: true },
    history: {
      type: 'array',
      description: 'the last 50 outcomes, newest first',
      items: {
        type: 'object',
        properties: {
          outcome: { type: 'string', enum: ['sent', 'bounced', 'failed'] },
          reason: { type: 'string', nullable: true },
          at: { type: 'string', format: 'date-time' },
          dispatch_id: { type: 'string', nullable: true },
        },
      },
    },
  },
};

@ApiTags('delivery')
@Controller()
export class DeliveryController {
  private readonly queries: DeliveryQueries;

  constructor(dataSource: DataSource) {
    this.queries = new DeliveryQueries(dataSource);
  }

  @Get('devices/:app_id/:device_id/delivery')
  @ApiOperation({ summary: "A device's delivery status (B1) and its last 50 outcomes, newest first" })
  @idParam('app_id')
  @idParam('device_id')
  @ApiOkResponse({ description: 'the device', schema: DELIVERY_SCHEMA })
  @ApiNotFoundResponse({ description: 'this workspace has no such device (no outcome or registration named it)' })
  @ApiBadRequestResponse({ description: 'an id that cannot exist (blank, a NUL character, too long)' })
  async delivery(
    @WorkspaceId() workspaceId: string,
    @Param('app_id', id) appId: string,
    @Param('device_id', id) deviceId: string,
  ) {
    const row = await this.queries.device(workspaceId, appId, deviceId);
    if (!row) throw new NotFoundException(`no device ${deviceId} of app ${appId}`);
    return {
      last_status: row.status.toLowerCase(),
      consecutive_bounces: row.consecutive_bounces,
      last_outcome_at: iso(row.last_outcome_ms),
      history: row.history.map((e) => ({
        outcome: e.outcome,
        reason: e.reason,
        at: iso(e.at),
        dispatch_id: e.dispatch_id,
      })),
    };
  }
}
