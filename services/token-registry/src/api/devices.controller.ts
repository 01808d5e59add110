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
import { ExactIdPipe, WorkspaceId, maskToken } from '@push/service-kit';
import { MAX_ID_BYTES } from '../domain/validation';
import { DevicesQueries } from '../projections/devices/devices-queries';
import { userDevices } from './user-devices';

/** Ids are looked up exactly as given; one no event could have named (validation's limits) is a 400, not a 404. */
const id = new ExactIdPipe(MAX_ID_BYTES);
const idParam = (name: string) =>
  ApiParam({ name, description: `exact id, as the SDK sent it (not trimmed); 1 to ${MAX_ID_BYTES} bytes of UTF-8` });

const DEVICE_SCHEMA = {
  type: 'object',
  properties: {
    workspace_id: { type: 'string' },
    app_id: { type: 'string' },
    device_id: { type: 'string' },
    platform: { type: 'string', enum: ['ios', 'android', 'web'] },
    os_version: { type: 'string', nullable: true },
    user_id: { type: 'string', nullable: true, description: 'null: anonymous (T4)' },
    token: { type: 'string', nullable: true, description: 'masked: all but the last 6 characters are *' },
    token_status: { type: 'string', enum: ['active', 'none', 'removed', 'invalidated'] },
    foreground_enabled: { type: 'boolean' },
    background_enabled: { type: 'boolean' },
    provisional: { type: 'boolean' },
    last_session_at: { type: 'string', format: 'date-time', nullable: true },
  },
};

@ApiTags('devices')
@Controller()
export class DevicesController {
  private readonly queries: DevicesQueries;

  constructor(private readonly dataSource: DataSource) {
    this.queries = new DevicesQueries(dataSource);
  }

  @Get('devices/:app_id/:device_id')
  @ApiOperation({ summary: "A device's token state (token masked to its last 6 characters)" })
  @idParam('app_id')
  @idParam('device_id')
  @ApiOkResponse({ description: 'the device', schema: DEVICE_SCHEMA })
  @ApiNotFoundResponse({
    description:
      'this workspace has no such device, or no event has named its platform yet (it was seen only through ChangeUser, UserLoggedOut or AppUninstalled): until then nothing is known of its push state',
  })
  @ApiBadRequestResponse({
    description: 'an id that cannot exist (blank, a NUL character, too long); the body names the parameter',
  })
  async device(
    @WorkspaceId() workspaceId: string,
    @Param('app_id', id) appId: string,
    @Param('device_id', id) deviceId: string,
  ) {
    const row = await this.queries.device(workspaceId, appId, deviceId);
    if (!row) throw new NotFoundException(`no device ${deviceId} of app ${appId}`);
    // The contract's platform is one of ios/android/web; a device no SDK event has described yet is not a push device.
    if (row.platform === null)
      throw new NotFoundException(
        `device ${deviceId} of app ${appId} has no known platform yet: no registration, session or permission change has named one`,
      );
    return {
      workspace_id: row.workspace_id,
      app_id: row.app_id,
      device_id: row.device_id,
      platform: row.platform.toLowerCase(),
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
  @ApiOperation({ summary: 'Every move of a token to or from the user (T3), oldest first; tokens masked' })
  @idParam('user_id')
  @ApiBadRequestResponse({
    description: 'a user id that cannot exist (blank, a NUL character, too long); the body names the parameter',
  })
  async changelog(@WorkspaceId() workspaceId: string, @Param('user_id', id) userId: string) {
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

  @Get('users/:user_id/devices')
  @ApiOperation({
    summary:
      "The user's devices now (every device whose user this is, with or without a token), newest session first, with the OS permission as last seen and the provider's reason of an invalidated token; tokens masked",
  })
  @idParam('user_id')
  @ApiOkResponse({ description: '`{user_id, devices: [...]}`; no devices for a user this workspace never saw' })
  @ApiBadRequestResponse({
    description: 'a user id that cannot exist (blank, a NUL character, too long); the body names the parameter',
  })
  devices(@WorkspaceId() workspaceId: string, @Param('user_id', id) userId: string) {
    return userDevices(this.dataSource, workspaceId, userId);
  }
}
