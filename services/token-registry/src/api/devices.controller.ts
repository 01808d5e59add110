import { Controller, Get, NotFoundException, Param } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { WorkspaceId, ZodValidationPipe, maskToken } from '@push/service-kit';
import { DevicesQueries } from '../projections/devices/devices-queries';

const id = (what: string) => new ZodValidationPipe(z.string().trim().min(1, `${what} must not be empty`).max(256, `${what} is longer than 256 characters`));

@ApiTags('devices')
@Controller()
export class DevicesController {
  private readonly queries: DevicesQueries;

  constructor(dataSource: DataSource) {
    this.queries = new DevicesQueries(dataSource);
  }

  @Get('devices/:app_id/:device_id')
  @ApiOperation({ summary: "A device's token state (token masked to its last 6 characters)" })
  @ApiOkResponse({ description: 'the device; 404 when this workspace has no such device' })
  async device(@WorkspaceId() workspaceId: string, @Param('app_id', id('app_id')) appId: string, @Param('device_id', id('device_id')) deviceId: string) {
    const row = await this.queries.device(workspaceId, appId, deviceId);
    if (!row) throw new NotFoundException(`no device ${deviceId} of app ${appId}`);
    return {
      workspace_id: row.workspace_id,
      app_id: row.app_id,
      device_id: row.device_id,
      platform: row.platform?.toLowerCase() ?? null,
      os_version: row.os_version,
      user_id: row.user_id,
      token: maskToken(row.token),
      token_status: row.token_status,
      foreground_enabled: row.foreground_enabled,
      background_enabled: row.background_enabled,
      provisional: row.provisional,
      last_session_at: row.last_session_at?.toISOString() ?? null,
    };
  }

  @Get('users/:user_id/token-changelog')
  @ApiOperation({ summary: "Every move of a token to or from the user (T3), oldest first; tokens masked" })
  async changelog(@WorkspaceId() workspaceId: string, @Param('user_id', id('user_id')) userId: string) {
    const entries = await this.queries.changelog(workspaceId, userId);
    return {
      user_id: userId,
      entries: entries.map((e) => ({
        app_id: e.app_id,
        device_id: e.device_id,
        token: maskToken(e.token),
        from_user_id: e.from_user_id,
        to_user_id: e.to_user_id,
        at: e.at.toISOString(),
      })),
    };
  }
}
